"""Staff over time (specs/identity.md): suspended, reinstated, given another role,
moved to another group; the built-in admin's commands, each with a reason. An act is
judged by the standing in force at its business time (domain/programme.py, Staff)."""

from __future__ import annotations

from domain.base import Stamp
from domain.ids import group_id, staff_id
from domain.programme import WorkGroup
from domain.roles import ROLES, Permission
from ledger.commands.declaration import choice, code, command, handles, text
from ledger.commands.unit_of_work import UnitOfWork

ADMIN = ("admin",)


@command("suspend_staff", "staff suspend", may=Permission("suspend staff", ADMIN))
class SuspendStaff:
    """Suspend a staff member: from --at on they may not act, and from now on they may
    not log in or enter commands; their tokens end. What they did before stands."""

    staff: str = code("The staff id.", refers=staff_id)
    reason: str = text("Why they are suspended.")


@handles(SuspendStaff)
def suspend_staff(uow: UnitOfWork, stamp: Stamp, cmd: SuspendStaff) -> None:
    uow.check_may(stamp, cmd)
    uow.staff(cmd.staff).suspend(stamp, cmd.reason)
    uow.revoke_tokens(cmd.staff)


@command("reinstate_staff", "staff reinstate", may=Permission("reinstate staff", ADMIN))
class ReinstateStaff:
    """Reinstate a suspended staff member: they act again from --at on, and log in
    again (their old tokens stay ended)."""

    staff: str = code("The staff id.", refers=staff_id)
    reason: str = text("Why they are reinstated.")


@handles(ReinstateStaff)
def reinstate_staff(uow: UnitOfWork, stamp: Stamp, cmd: ReinstateStaff) -> None:
    uow.check_may(stamp, cmd)
    uow.staff(cmd.staff).reinstate(stamp, cmd.reason)


@command("change_staff_role", "staff change-role", may=Permission("change a role", ADMIN))
class ChangeStaffRole:
    """Give a staff member another role from --at on; what they did before is judged
    by the role they had then."""

    staff: str = code("The staff id.", refers=staff_id)
    role: str = choice(ROLES, "Their new role.")
    reason: str = text("Why their role changes.")


@handles(ChangeStaffRole)
def change_staff_role(uow: UnitOfWork, stamp: Stamp, cmd: ChangeStaffRole) -> None:
    uow.check_may(stamp, cmd)
    uow.staff(cmd.staff).change_role(stamp, cmd.role, cmd.reason)


@command("transfer_staff", "staff transfer", may=Permission("transfer staff", ADMIN))
class TransferStaff:
    """Move a staff member to another work group from --at on (a clerk then acts
    for that group's households)."""

    staff: str = code("The staff id.", refers=staff_id)
    group: str = code("The work group they move to.", refers=group_id)
    reason: str = text("Why they move.")


@handles(TransferStaff)
def transfer_staff(uow: UnitOfWork, stamp: Stamp, cmd: TransferStaff) -> None:
    uow.check_may(stamp, cmd)
    staff = uow.staff(cmd.staff)
    group = uow.get(WorkGroup, group_id(cmd.group), f"unknown group {cmd.group}: create it first.")
    group.check_exists_by(stamp.at)
    staff.transfer(stamp, cmd.group, cmd.reason)
