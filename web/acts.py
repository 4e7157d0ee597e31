"""What the role pages' forms share: running one command of the ledger as the
logged-in staff member (its id carried by the form, so that a form sent twice is
applied once), the sentence that says what it did, and the checks a page makes before
showing a form (a clerk's own group)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import PermissionDenied
from domain.values import LEDGER_TZ
from ledger.commands import Command, declarations, parse_command
from ledger.commands.declaration import CommandIdReused
from ledger.commands.outcome import already_sent, assigned_code, describe
from web.pages import Visit

# The hidden field each form carries: the id of the command it sends.
COMMAND_FIELD = "command"


def declared(cmd: str, field: str | None = None) -> bool:
    """Whether the ledger declares this command (and this field of it): the pages offer
    what the ledger they run on can do (a refusal of a deviation, a caller's contact, a
    document's size came with later commands)."""
    found = next((d for d in declarations() if d.cmd == cmd), None)
    return found is not None and (field is None or field in found.allowed)


def new_command_id() -> str:
    """A fresh command id for a form about to be shown."""
    return "web-" + secrets.token_hex(12)


def shown(moment: str | None) -> str:
    """A stored moment as a person reads it: the ledger's time zone, to the minute."""
    if not moment:
        return ""
    return datetime.fromisoformat(moment).astimezone(LEDGER_TZ).strftime("%Y-%m-%d %H:%M")


def now(visit: Visit) -> datetime:
    return visit.office.reads.now().astimezone(LEDGER_TZ)


@dataclass(frozen=True)
class Done:
    """An applied command: what it did, in one sentence; applied False: the form had
    already been sent and nothing was done again; the complaint id the ledger gave."""

    command: Command
    said: str
    applied: bool
    assigned: str | None


def run(visit: Visit, cmd: str, **fields: Any) -> Done:
    """Run one command as the logged-in staff member, now; a refusal is raised as the
    ledger's DomainError (the form shows its sentence). Fields that are None or empty
    are left out, as an optional field not given."""
    assert visit.session is not None
    raw: dict[str, Any] = {
        "id": visit.field(COMMAND_FIELD) or new_command_id(),
        "cmd": cmd,
        "at": now(visit).isoformat(),
    }
    raw.update({k: v for k, v in fields.items() if v not in (None, "", {})})
    command = parse_command(raw, actor_required=False)
    try:
        events = visit.office.execute(command, visit.session)
    except CommandIdReused:
        # The same form sent again (a reload, a second click): its business time is
        # later, so the ledger sees another command under the form's id, and refuses it.
        events = None
    if events is None:
        return Done(command, already_sent(command, visit.lang), False, assigned_code(command))
    said = describe(command, events, visit.office.ledger, visit.lang)
    return Done(command, said, True, assigned_code(command))


def household_group(visit: Visit, code: str) -> tuple[str, str]:
    """The household's code as the ledger spells it and its group now (NotFound if
    there is no such household)."""
    shown = visit.office.reads.household(code, visit.office.reads.now())
    return shown["household"], shown["group"]


def check_own_group(visit: Visit, code: str) -> tuple[str, str]:
    """A clerk's form is for the households of the clerk's own group only: another
    group's household is refused (403) before anything is shown or appended."""
    assert visit.session is not None
    household, group = household_group(visit, code)
    own = visit.office.reads.staff_group(visit.session.staff)
    if own != group:
        mine = f"group {own}" if own else "no group"
        raise PermissionDenied(
            f"{household} belongs to group {group}, and {visit.session.staff} is a clerk of "
            f"{mine}; only {group}'s clerks may work on its file."
        )
    return household, group
