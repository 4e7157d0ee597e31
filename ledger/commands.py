"""The commands of specs/ingest.md, parsed from one JSON object: the single shape
through which both a CLI command and an ingest line reach the ledger."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.complaint import CHANNELS, FINDINGS, SUBJECTS
from domain.errors import InvalidInput
from domain.household import METHODS, Deviation
from domain.policy import Item, PolicyVersion, parse_items
from domain.roles import ROLES
from domain.values import (
    parse_amount,
    parse_areas,
    parse_choice,
    parse_code,
    parse_count,
    parse_optional_text,
    parse_positive_amount,
    parse_quantity,
    parse_sha256,
    parse_text,
    parse_time,
)

ENVELOPE = ("id", "cmd", "actor", "at")


@dataclass(frozen=True)
class EnrollStaff:
    staff: str
    name: str
    role: str
    group: str | None


@dataclass(frozen=True)
class PublishPolicy:
    document: dict[str, Any]
    parsed: PolicyVersion


@dataclass(frozen=True)
class CreateGroup:
    group: str
    name: str
    leader: str | None


@dataclass(frozen=True)
class RegisterHousehold:
    household: str
    group: str
    village: str
    head: str
    id_number: str | None
    address: str | None


@dataclass(frozen=True)
class RecordSurvey:
    household: str
    residents: int
    building_area_m2: dict[str, Decimal]
    land_area_m2: Decimal
    notes: str | None
    reason: str | None


@dataclass(frozen=True)
class RecordValuation:
    household: str
    valuation: str
    policy: str
    policy_version: int
    items: tuple[Item, ...]
    reviews: str | None


@dataclass(frozen=True)
class SignAgreement:
    household: str
    agreement: str
    method: str
    amount: Decimal
    deviation: Deviation | None


@dataclass(frozen=True)
class ApproveDeviation:
    household: str
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class VoidAgreement:
    household: str
    agreement: str
    reason: str


@dataclass(frozen=True)
class AttachDocument:
    household: str
    kind: str
    sha256: str
    filename: str


@dataclass(frozen=True)
class RecordVacated:
    household: str


@dataclass(frozen=True)
class FileComplaint:
    complaint: str
    channel: str
    about: dict[str, str]
    summary: str


@dataclass(frozen=True)
class AcknowledgeComplaint:
    complaint: str
    note: str | None


@dataclass(frozen=True)
class AddToComplaint:
    complaint: str
    text: str


@dataclass(frozen=True)
class ResolveComplaint:
    complaint: str
    finding: str
    outcome: str


@dataclass(frozen=True)
class ReopenComplaint:
    complaint: str
    reason: str


@dataclass(frozen=True)
class RequestPayout:
    payout: str
    household: str
    amount: Decimal


@dataclass(frozen=True)
class ConfirmPayout:
    payout: str
    bank_reference: str


Body = (
    EnrollStaff
    | PublishPolicy
    | CreateGroup
    | RegisterHousehold
    | RecordSurvey
    | RecordValuation
    | SignAgreement
    | ApproveDeviation
    | VoidAgreement
    | AttachDocument
    | RecordVacated
    | FileComplaint
    | AcknowledgeComplaint
    | AddToComplaint
    | ResolveComplaint
    | ReopenComplaint
    | RequestPayout
    | ConfirmPayout
)


@dataclass(frozen=True)
class Command:
    """One command: its idempotency key, who, when (business time) and what."""

    id: str
    cmd: str
    actor: str
    at: datetime
    body: Body

    @property
    def household(self) -> str | None:
        return getattr(self.body, "household", None)


# --- field parsers, one per cmd --------------------------------------------

Fields = Mapping[str, Any]


def _deviation(raw: Any) -> Deviation | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidInput("deviation must be an object with reason and approved_by.")
    return Deviation(
        reason=parse_text(raw.get("reason"), "deviation.reason"),
        approved_by=parse_code(raw.get("approved_by"), "deviation.approved_by"),
    )


def _about(raw: Any) -> dict[str, str]:
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


def _policy_version(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise InvalidInput("policy_version must be a whole number from 1 up.")
    return raw


def _document(raw: Any) -> PublishPolicy:
    parsed = PolicyVersion.from_document(raw)
    return PublishPolicy(document=dict(raw), parsed=parsed)


_PARSERS: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[[Fields], Body]]] = {
    # cmd: (required fields, optional fields, parser)
    "enroll_staff": (
        ("staff", "name", "role"),
        ("group",),
        lambda f: EnrollStaff(
            staff=parse_code(f["staff"], "staff"),
            name=parse_text(f["name"], "name"),
            role=parse_choice(f["role"], "role", ROLES),
            group=parse_code(f["group"], "group") if f.get("group") is not None else None,
        ),
    ),
    "publish_policy": (("document",), (), lambda f: _document(f["document"])),
    "create_group": (
        ("group", "name"),
        ("leader",),
        lambda f: CreateGroup(
            group=parse_code(f["group"], "group"),
            name=parse_text(f["name"], "name"),
            leader=parse_code(f["leader"], "leader") if f.get("leader") is not None else None,
        ),
    ),
    "register_household": (
        ("household", "group", "village", "head"),
        ("id_number", "address"),
        lambda f: RegisterHousehold(
            household=parse_code(f["household"], "household"),
            group=parse_code(f["group"], "group"),
            village=parse_text(f["village"], "village"),
            head=parse_text(f["head"], "head"),
            id_number=(
                parse_code(f["id_number"], "id_number") if f.get("id_number") is not None else None
            ),
            address=parse_optional_text(f.get("address"), "address"),
        ),
    ),
    "record_survey": (
        ("household", "residents", "building_area_m2", "land_area_m2"),
        ("notes", "reason"),
        lambda f: RecordSurvey(
            household=parse_code(f["household"], "household"),
            residents=parse_count(f["residents"], "residents"),
            building_area_m2=parse_areas(f["building_area_m2"], "building_area_m2"),
            land_area_m2=parse_quantity(f["land_area_m2"], "land_area_m2"),
            notes=parse_optional_text(f.get("notes"), "notes"),
            reason=parse_optional_text(f.get("reason"), "reason"),
        ),
    ),
    "record_valuation": (
        ("household", "valuation", "policy", "policy_version", "items"),
        ("reviews",),
        lambda f: RecordValuation(
            household=parse_code(f["household"], "household"),
            valuation=parse_code(f["valuation"], "valuation"),
            policy=parse_code(f["policy"], "policy"),
            policy_version=_policy_version(f["policy_version"]),
            items=parse_items(f["items"]),
            reviews=parse_code(f["reviews"], "reviews") if f.get("reviews") is not None else None,
        ),
    ),
    "sign_agreement": (
        ("household", "agreement", "method", "amount"),
        ("deviation",),
        lambda f: SignAgreement(
            household=parse_code(f["household"], "household"),
            agreement=parse_code(f["agreement"], "agreement"),
            method=parse_choice(f["method"], "method", METHODS),
            amount=parse_amount(f["amount"], "amount"),
            deviation=_deviation(f.get("deviation")),
        ),
    ),
    "approve_deviation": (
        ("household", "amount", "reason"),
        (),
        lambda f: ApproveDeviation(
            household=parse_code(f["household"], "household"),
            amount=parse_amount(f["amount"], "amount"),
            reason=parse_text(f["reason"], "reason"),
        ),
    ),
    "void_agreement": (
        ("household", "agreement", "reason"),
        (),
        lambda f: VoidAgreement(
            household=parse_code(f["household"], "household"),
            agreement=parse_code(f["agreement"], "agreement"),
            reason=parse_text(f["reason"], "reason"),
        ),
    ),
    "attach_document": (
        ("household", "kind", "sha256", "filename"),
        (),
        lambda f: AttachDocument(
            household=parse_code(f["household"], "household"),
            kind=parse_code(f["kind"], "kind"),
            sha256=parse_sha256(f["sha256"]),
            filename=parse_text(f["filename"], "filename", max_length=255),
        ),
    ),
    "record_vacated": (
        ("household",),
        (),
        lambda f: RecordVacated(household=parse_code(f["household"], "household")),
    ),
    "file_complaint": (
        ("complaint", "channel", "about", "summary"),
        (),
        lambda f: FileComplaint(
            complaint=parse_code(f["complaint"], "complaint"),
            channel=parse_choice(f["channel"], "channel", CHANNELS),
            about=_about(f["about"]),
            summary=parse_text(f["summary"], "summary"),
        ),
    ),
    "acknowledge_complaint": (
        ("complaint",),
        ("note",),
        lambda f: AcknowledgeComplaint(
            complaint=parse_code(f["complaint"], "complaint"),
            note=parse_optional_text(f.get("note"), "note"),
        ),
    ),
    "add_to_complaint": (
        ("complaint", "text"),
        (),
        lambda f: AddToComplaint(
            complaint=parse_code(f["complaint"], "complaint"),
            text=parse_text(f["text"], "text"),
        ),
    ),
    "resolve_complaint": (
        ("complaint", "finding", "outcome"),
        (),
        lambda f: ResolveComplaint(
            complaint=parse_code(f["complaint"], "complaint"),
            finding=parse_choice(f["finding"], "finding", FINDINGS),
            outcome=parse_text(f["outcome"], "outcome"),
        ),
    ),
    "reopen_complaint": (
        ("complaint", "reason"),
        (),
        lambda f: ReopenComplaint(
            complaint=parse_code(f["complaint"], "complaint"),
            reason=parse_text(f["reason"], "reason"),
        ),
    ),
    "request_payout": (
        ("payout", "household", "amount"),
        (),
        lambda f: RequestPayout(
            payout=parse_code(f["payout"], "payout"),
            household=parse_code(f["household"], "household"),
            amount=parse_positive_amount(f["amount"], "amount"),
        ),
    ),
    "confirm_payout": (
        ("payout", "bank_reference"),
        (),
        lambda f: ConfirmPayout(
            payout=parse_code(f["payout"], "payout"),
            bank_reference=parse_code(f["bank_reference"], "bank_reference"),
        ),
    ),
}

COMMANDS = tuple(_PARSERS)


def parse_command(raw: Any) -> Command:
    """Check one command object and give it typed fields; InvalidInput otherwise."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("each line must be a JSON object with id, cmd, actor and at.")
    missing = [name for name in ENVELOPE if raw.get(name) in (None, "")]
    if missing:
        raise InvalidInput(
            f"missing field {', '.join(missing)}; every command needs id, cmd, actor and at."
        )
    command_id = raw["id"]
    if not isinstance(command_id, str) or len(command_id) > 200:
        raise InvalidInput("id must be a string of at most 200 characters.")
    cmd = raw["cmd"]
    if cmd not in _PARSERS:
        raise InvalidInput(f"unknown cmd {cmd!r}; use one of {', '.join(COMMANDS)}.")
    required, optional, parse = _PARSERS[cmd]
    absent = [name for name in required if raw.get(name) is None]
    if absent:
        raise InvalidInput(f"missing field {', '.join(absent)}; {cmd} needs {', '.join(required)}.")
    unknown = sorted(set(raw) - set(ENVELOPE) - set(required) - set(optional))
    if unknown:
        allowed = ", ".join((*required, *optional))
        raise InvalidInput(
            f"unknown field {', '.join(unknown)} for {cmd}; its fields are {allowed}."
        )
    return Command(
        id=command_id,
        cmd=cmd,
        actor=parse_code(raw["actor"], "actor"),
        at=parse_time(raw["at"], "at"),
        body=parse(raw),
    )
