"""What a command did, as the API's answer to it (specs/web.md, `POST /api/v1/commands`)
and `--json` of every write command print it, and in one sentence for people: the
household, the amount, the payee, never an event class."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from domain.base import Recorded
from domain.complaint import Complaint, assigned_complaint_code
from domain.household import Household
from domain.ids import payout_id
from domain.payout import PayoutIndex
from ledger.commands.declaration import Command

if TYPE_CHECKING:
    from ledger.application import Ledger


def event_type(event: Recorded) -> str:
    """The stored name of an event, such as Household.AgreementSigned."""
    return str(type(event).TOPIC).partition(":")[2]  # type: ignore[attr-defined]


def command_outcome(command: Command | str, events: Sequence[Recorded] | None) -> dict[str, Any]:
    """The API's document for a command run by `Ledger.execute`: applied, with the
    events it recorded (201), or, events None, skipped as already applied under its id
    (200). A complaint filed without an id also says the id the ledger gave it
    (`assigned`), also when skipped: it follows from the command's id."""
    command_id = command if isinstance(command, str) else command.id
    document: dict[str, Any]
    if events is None:
        document = {"id": command_id, "applied": False}
    else:
        document = {
            "id": command_id,
            "applied": True,
            "events": [
                {
                    "type": event_type(e),
                    "originator": str(e.originator_id),
                    "version": e.originator_version,
                }
                for e in events
            ],
        }
    if isinstance(command, Command):
        assigned = assigned_code(command)
        if assigned is not None:
            document["assigned"] = {"complaint": assigned}
    return document


def assigned_code(command: Command) -> str | None:
    """The complaint id the ledger gives a complaint filed without one (None: the
    command named its own, or is not a filing)."""
    if command.cmd != "file_complaint" or command.body.complaint is not None:
        return None
    return assigned_complaint_code(command.id)


def describe(command: Command, events: Sequence[Recorded], ledger: Ledger | None = None) -> str:
    """What an applied command did, in one sentence that names what it is about.
    ledger: for a confirmation, which names only its payout, to name the payee and the
    amount."""
    said = _SENTENCES.get(command.cmd)
    if said is None:
        return f"{command.cmd} applied"
    return said(command.body, events, ledger)


def _named(about: dict[str, str]) -> str:
    return ", ".join(f"{kind} {code}" for kind, code in about.items())


def _filed(body: Any, events: Sequence[Recorded], _ledger: Ledger | None) -> str:
    code = next((e.complaint for e in events if isinstance(e, Complaint.Filed)), body.complaint)
    return f"filed complaint {code} about {_named(body.about)}"


def _confirmed(body: Any, events: Sequence[Recorded], ledger: Ledger | None) -> str:
    said = f"confirmed payout {body.payout}"
    if ledger is not None:
        index: PayoutIndex = ledger.repository.get(payout_id(body.payout))
        household: Household = ledger.repository.get(
            next(e.originator_id for e in events if isinstance(e, Household.PayoutConfirmed))
        )
        amount = household.payouts[body.payout].amount
        said += f" of {amount} yuan to {index.household}"
    return f"{said} (bank reference {body.bank_reference})"


def _signed(body: Any, events: Sequence[Recorded], _ledger: Ledger | None) -> str:
    said = (
        f"recorded agreement {body.agreement} of {body.household}: {body.amount} yuan, "
        f"{body.method.replace('_', ' ')}"
    )
    # The deviation as recorded: the approval on record it rests on names who approved.
    deviation = next(
        (e.deviation for e in events if isinstance(e, Household.AgreementSigned)), None
    )
    if deviation:
        said += f", a deviation approved by {deviation.get('approved_by')}"
    return said


def _enrolled(body: Any, _events: Sequence[Recorded], _ledger: Ledger | None) -> str:
    said = f"enrolled {body.staff} ({body.name}) as {body.role}"
    return said + (f" of {body.group}" if body.group else "")


def _published(body: Any, _events: Sequence[Recorded], _ledger: Ledger | None) -> str:
    document = body.document
    policy = getattr(document, "policy", None) or document.get("policy")
    version = getattr(document, "version", None) or document.get("version")
    return f"published policy {policy} version {version}"


Sentence = Callable[[Any, Sequence[Recorded], "Ledger | None"], str]


def _simple(template: str) -> Sentence:
    return lambda body, _events, _ledger: template.format(b=body)


_SENTENCES: dict[str, Sentence] = {
    "enroll_staff": _enrolled,
    "publish_policy": _published,
    "create_group": _simple("created group {b.group} ({b.name})"),
    "register_household": _simple(
        "registered household {b.household} ({b.head}) in {b.group}, {b.village}"
    ),
    "record_survey": _simple("recorded the survey of {b.household}"),
    "record_valuation": _simple(
        "recorded valuation {b.valuation} of {b.household} under {b.policy} "
        "version {b.policy_version}"
    ),
    "sign_agreement": _signed,
    "add_village": _simple("declared village {b.village}"),
    "approve_deviation": _simple("approved {b.amount} yuan for {b.household}"),
    "refuse_deviation": _simple("refused {b.amount} yuan for {b.household}"),
    "void_agreement": _simple("voided agreement {b.agreement} of {b.household}"),
    "attach_document": _simple("attached {b.kind} ({b.filename}) to the file of {b.household}"),
    "record_vacated": _simple("recorded {b.household} as vacated"),
    "file_complaint": _filed,
    "acknowledge_complaint": _simple("acknowledged complaint {b.complaint}"),
    "add_to_complaint": _simple("added to complaint {b.complaint}"),
    "note_complaint": _simple("added a note to complaint {b.complaint}"),
    "assign_complaint": _simple("assigned complaint {b.complaint} to {b.to}"),
    "resolve_complaint": _simple("resolved complaint {b.complaint}: {b.finding}"),
    "reopen_complaint": _simple("reopened complaint {b.complaint}"),
    "request_payout": _simple("requested payout {b.payout} of {b.amount} yuan to {b.household}"),
    "confirm_payout": _confirmed,
    "suspend_staff": _simple("suspended {b.staff}"),
    "reinstate_staff": _simple("reinstated {b.staff}"),
    "change_staff_role": _simple("changed the role of {b.staff} to {b.role}"),
    "transfer_staff": _simple("transferred {b.staff} to {b.group}"),
}
