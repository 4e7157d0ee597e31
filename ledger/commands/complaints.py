"""The oversight hotline's complaints: each command declared next to its use case."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from domain.base import Stamp
from domain.complaint import (
    CHANNELS,
    FINDINGS,
    SUBJECTS,
    Complaint,
    assigned_complaint_code,
    contact_digest,
    parse_phone,
)
from domain.errors import InvalidInput, RuleViolation
from domain.household import Household
from domain.ids import complaint_id, group_id, household_id, policy_id, staff_id
from domain.programme import Policy, Staff, WorkGroup
from domain.roles import BUILTIN_ADMIN, Permission
from domain.values import parse_code
from ledger.commands.declaration import (
    Option,
    Together,
    arg,
    choice,
    code,
    command,
    handles,
    names,
    text,
)
from ledger.commands.unit_of_work import UnitOfWork

HOTLINE = ("hotline",)
HOTLINE_OR_SUPERVISOR = ("hotline", "supervisor")

# The id of the aggregate each kind of subject names.
_SUBJECT_IDS: dict[str, Callable[[str], UUID]] = {
    "household": household_id,
    "group": group_id,
    "staff": staff_id,
    "policy": policy_id,
}


def _about(raw: Any, _name: str) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidInput(
            "about must be an object naming any of household, group, staff or policy, "
            'such as {"household": "XC-0001"}.'
        )
    unknown = sorted(set(raw) - set(SUBJECTS))
    if unknown:
        raise InvalidInput(
            f"about has unknown key {unknown[0]}; use household, group, staff or policy."
        )
    return {key: parse_code(value, f"about.{key}") for key, value in raw.items()}


def _subjects(about: dict[str, str]) -> Iterable[UUID]:
    return [i for key, named in about.items() for i in names(_SUBJECT_IDS[key])(named)]


@command("file_complaint", "complaint file", may=Permission("file a complaint", HOTLINE))
class FileComplaint:
    """File a complaint about a household, group, staff member or policy."""

    complaint: str | None = code(
        "The complaint's id [default: one the ledger gives, C-XXXX-XXXX].",
        refers=complaint_id,
        optional=True,
    )
    channel: str = choice(CHANNELS, "How it came in.")
    about: dict[str, str] = arg(
        _about,
        refers=_subjects,
        cli=Together(
            (
                Option("The household it is about.", key="household"),
                Option("The work group it is about.", key="group"),
                Option("The staff member it is about.", key="staff"),
                Option("The policy it is about.", key="policy"),
            ),
            missing="say what the complaint is about: --household, --group, --staff or --policy.",
        ),
    )
    summary: str = text("What was reported.")
    caller_name: str | None = text(
        "Who called (kept beside the events, not in them; shown to hotline, supervisors "
        "and admin).",
        optional=True,
        max_length=100,
    )
    caller_phone: str | None = arg(
        parse_phone,
        "The caller's telephone, to call back (kept like the name).",
        optional=True,
    )


@handles(FileComplaint)
def file_complaint(uow: UnitOfWork, stamp: Stamp, cmd: FileComplaint) -> None:
    uow.check_may(stamp, cmd)
    code = cmd.complaint if cmd.complaint is not None else assigned_complaint_code(stamp.command)
    uow.check_absent(complaint_id(code), f"complaint {code} already exists.")
    household: Household | None = None
    for subject, named in cmd.about.items():
        if subject == "household":
            household = uow.household(named)
        elif subject == "group":
            uow.get(
                WorkGroup, group_id(named), f"unknown group {named}: check the complaint's about."
            )
        elif subject == "staff" and named != BUILTIN_ADMIN:
            uow.get(Staff, staff_id(named), f"unknown staff {named}: check the complaint's about.")
        elif subject == "policy":
            uow.get(
                Policy, policy_id(named), f"unknown policy {named}: check the complaint's about."
            )
    caller = salt = None
    if cmd.caller_name is not None or cmd.caller_phone is not None:
        salt = secrets.token_bytes(16)
        caller = contact_digest(salt, cmd.caller_name, cmd.caller_phone)
    uow.add(Complaint.file(stamp, code, cmd.channel, cmd.about, cmd.summary, caller))
    if household is not None:
        household.attach_complaint(stamp, code)
    if salt is not None:
        # Staged last, once nothing can refuse the filing: written with its events.
        uow.contacts.append((code, cmd.caller_name, cmd.caller_phone, salt.hex()))


@command(
    "acknowledge_complaint",
    "complaint acknowledge",
    may=Permission("acknowledge a complaint", HOTLINE_OR_SUPERVISOR),
)
class AcknowledgeComplaint:
    """Acknowledge a complaint."""

    complaint: str = code("The complaint's id.", refers=complaint_id)
    note: str | None = text("A note for the record.", optional=True)


@handles(AcknowledgeComplaint)
def acknowledge_complaint(uow: UnitOfWork, stamp: Stamp, cmd: AcknowledgeComplaint) -> None:
    uow.check_may(stamp, cmd)
    uow.complaint(cmd.complaint).acknowledge(stamp, cmd.note)


@command("add_to_complaint", "complaint add", may=Permission("add to a complaint", HOTLINE))
class AddToComplaint:
    """Add to a complaint's record."""

    complaint: str = code("The complaint's id.", refers=complaint_id)
    text: str = text("What to add to the record.")


@handles(AddToComplaint)
def add_to_complaint(uow: UnitOfWork, stamp: Stamp, cmd: AddToComplaint) -> None:
    uow.check_may(stamp, cmd)
    uow.complaint(cmd.complaint).add_note(stamp, cmd.text)


@command(
    "note_complaint",
    "complaint note",
    may=Permission("add a note to a complaint", HOTLINE_OR_SUPERVISOR),
)
class NoteComplaint:
    """Add a note to a complaint's record: what an investigation found so far
    (hotline or supervisors)."""

    complaint: str = code("The complaint's id.", refers=complaint_id)
    text: str = text("The note.")


@handles(NoteComplaint)
def note_complaint(uow: UnitOfWork, stamp: Stamp, cmd: NoteComplaint) -> None:
    uow.check_may(stamp, cmd)
    uow.complaint(cmd.complaint).add_note(stamp, cmd.text)


@command(
    "assign_complaint",
    "complaint assign",
    may=Permission("assign a complaint", HOTLINE_OR_SUPERVISOR),
)
class AssignComplaint:
    """Give a complaint to a supervisor to investigate (hotline or supervisors)."""

    complaint: str = code("The complaint's id.", refers=complaint_id)
    to: str = code("The supervisor's staff id.", refers=staff_id)


@handles(AssignComplaint)
def assign_complaint(uow: UnitOfWork, stamp: Stamp, cmd: AssignComplaint) -> None:
    uow.check_may(stamp, cmd)
    complaint = uow.complaint(cmd.complaint)
    if cmd.to == BUILTIN_ADMIN:
        role = "admin"
    else:
        assignee = uow.get(
            Staff, staff_id(cmd.to), f"unknown staff {cmd.to}: assign an enrolled supervisor."
        )
        role = assignee.as_actor(stamp.at).role
    if role != "supervisor":
        raise RuleViolation(f"{cmd.to} is {role} staff; a complaint is assigned to a supervisor.")
    complaint.assign(stamp, cmd.to)


@command(
    "resolve_complaint",
    "complaint resolve",
    may=Permission("resolve a complaint", ("supervisor",)),
)
class ResolveComplaint:
    """Resolve a complaint with a finding (supervisors)."""

    complaint: str = code("The complaint's id.", refers=complaint_id)
    finding: str = choice(FINDINGS, "The finding.")
    outcome: str = text("What was done.")


@handles(ResolveComplaint)
def resolve_complaint(uow: UnitOfWork, stamp: Stamp, cmd: ResolveComplaint) -> None:
    uow.check_may(stamp, cmd)
    uow.complaint(cmd.complaint).resolve(stamp, cmd.finding, cmd.outcome)


@command(
    "reopen_complaint",
    "complaint reopen",
    may=Permission("reopen a complaint", HOTLINE_OR_SUPERVISOR),
)
class ReopenComplaint:
    """Reopen a resolved complaint."""

    complaint: str = code("The complaint's id.", refers=complaint_id)
    reason: str = text("Why it is reopened.")


@handles(ReopenComplaint)
def reopen_complaint(uow: UnitOfWork, stamp: Stamp, cmd: ReopenComplaint) -> None:
    uow.check_may(stamp, cmd)
    uow.complaint(cmd.complaint).reopen(stamp, cmd.reason)
