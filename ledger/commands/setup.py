"""The programme's set-up: staff, work groups and policies, each command declared
next to its use case."""

from __future__ import annotations

from typing import Any

from domain.base import Stamp
from domain.errors import AlreadyExists
from domain.ids import group_id, policy_id, staff_id
from domain.policy import PolicyVersion
from domain.programme import Policy, Staff, WorkGroup
from domain.roles import BUILTIN_ADMIN, ROLES, Permission
from ledger.commands.declaration import JsonFile, arg, choice, code, command, handles, text
from ledger.commands.unit_of_work import UnitOfWork

ADMIN = ("admin",)


@command("enroll_staff", "staff enroll", may=Permission("enroll staff", ADMIN))
class EnrollStaff:
    """Enroll a staff member with a role."""

    staff: str = code("The staff id, such as s-001.", refers=staff_id)
    name: str = text("Their full name.")
    role: str = choice(ROLES, "Their role.")
    group: str | None = code("Their work group (clerks need one).", optional=True, refers=group_id)


@handles(EnrollStaff)
def enroll_staff(uow: UnitOfWork, stamp: Stamp, cmd: EnrollStaff) -> None:
    uow.check_may(stamp, cmd)
    if cmd.staff == BUILTIN_ADMIN:
        raise AlreadyExists("admin is the built-in administrator; enroll staff under other ids.")
    uow.check_absent(staff_id(cmd.staff), f"staff {cmd.staff} is already enrolled.")
    if cmd.group is not None:
        group = uow.get(
            WorkGroup, group_id(cmd.group), f"unknown group {cmd.group}: create it first."
        )
        group.check_exists_by(stamp.at)
    uow.add(Staff.enroll(stamp, cmd.staff, cmd.name, cmd.role, cmd.group))


def _document(raw: Any, _name: str) -> dict[str, Any]:
    PolicyVersion.from_document(raw)  # InvalidInput unless it is a policy
    return dict(raw)


def _policy_of(document: dict[str, Any]) -> tuple[Any, ...]:
    return (policy_id(PolicyVersion.from_document(document).policy),)


@command("publish_policy", "policy publish", may=Permission("publish a policy", ADMIN))
class PublishPolicy:
    """Publish a policy version from a JSON FILE (DOMAIN.md, the policy as data)."""

    document: dict[str, Any] = arg(_document, cli=JsonFile(), refers=_policy_of)

    @property
    def policy(self) -> str:
        return PolicyVersion.from_document(self.document).policy


@handles(PublishPolicy)
def publish_policy(uow: UnitOfWork, stamp: Stamp, cmd: PublishPolicy) -> None:
    uow.check_may(stamp, cmd)
    code = cmd.policy
    if uow.exists(policy_id(code)):
        uow.get(Policy, policy_id(code), f"unknown policy {code}.").publish(stamp, cmd.document)
    else:
        uow.add(Policy.publish_first(stamp, cmd.document))
    register = uow.register(stamp)
    assert register is not None
    register.list_policy(stamp, code)


@command("create_group", "group create", may=Permission("create a group", ADMIN))
class CreateGroup:
    """Create a work group."""

    group: str = code("The group id, such as G01.", refers=group_id)
    name: str = text("Its name, such as 第一工作组.")
    leader: str | None = code("The staff id of its leader.", optional=True, refers=staff_id)


@handles(CreateGroup)
def create_group(uow: UnitOfWork, stamp: Stamp, cmd: CreateGroup) -> None:
    uow.check_may(stamp, cmd)
    uow.check_absent(group_id(cmd.group), f"group {cmd.group} already exists.")
    if cmd.leader is not None:
        uow.get(
            Staff, staff_id(cmd.leader), f"unknown staff {cmd.leader}: enroll the leader first."
        )
    uow.add(WorkGroup.create(stamp, cmd.group, cmd.name, cmd.leader))


@command("add_village", "village add", may=Permission("declare a village", ADMIN))
class AddVillage:
    """Declare a village, so households can be registered in it."""

    village: str = text("The village's name, such as 一村.")


@handles(AddVillage)
def add_village(uow: UnitOfWork, stamp: Stamp, cmd: AddVillage) -> None:
    uow.check_may(stamp, cmd)
    register = uow.register(stamp)
    assert register is not None
    register.add_village(stamp, cmd.village)
