"""A household's way, from the roster to vacating: each command declared next to its
use case."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.base import Stamp
from domain.errors import InvalidInput, RuleViolation
from domain.household import METHODS, Household
from domain.ids import group_id, household_id, policy_id, register_id, staff_id
from domain.policy import Item, parse_items
from domain.programme import Policy, WorkGroup
from domain.register import Register, nearest_said, no_village_declared
from domain.roles import APPROVE_DEVIATION, Permission
from domain.standard import Deviation
from domain.values import parse_areas, parse_code, parse_id_number, parse_sha256, parse_text
from ledger.commands.declaration import (
    FromFile,
    Option,
    Pairs,
    Together,
    amount,
    arg,
    choice,
    code,
    command,
    count,
    handles,
    names,
    quantity,
    text,
)
from ledger.commands.unit_of_work import UnitOfWork

CLERK = ("clerk",)
SUPERVISOR = ("supervisor",)


def _the_register(_value: Any) -> Iterable[UUID]:
    """refers= for a field checked against the programme's register."""
    return (register_id(),)


def _listed_policies(_body: Any, known: Callable[[UUID], object]) -> Iterable[UUID]:
    """then_reads=: the published policies the register lists (their rates and required
    documents are what a survey and a document are checked against)."""
    register = known(register_id())
    return [policy_id(code) for code in register.policies] if isinstance(register, Register) else []


@command(
    "register_household",
    "household register",
    may=Permission("register a household", ("admin",)),
)
class RegisterHousehold:
    """Register a household on the roster."""

    household: str = code("The household code, such as XC-0001.", refers=household_id)
    group: str = code("The work group it is assigned to.", refers=group_id)
    village: str = arg(parse_text, "Its village (declared: village add).", refers=_the_register)
    head: str = text("The name of the head of household.")
    id_number: str | None = arg(
        parse_id_number, "The head's resident ID number (18 characters).", optional=True
    )
    address: str | None = text("Its address.", optional=True)


@handles(RegisterHousehold)
def register_household(uow: UnitOfWork, stamp: Stamp, cmd: RegisterHousehold) -> None:
    uow.check_may(stamp, cmd)
    uow.check_absent(
        household_id(cmd.household), f"household {cmd.household} is already registered."
    )
    group = uow.get(WorkGroup, group_id(cmd.group), f"unknown group {cmd.group}: create it first.")
    group.check_exists_by(stamp.at)
    register = uow.register()
    if register is None:
        raise no_village_declared(cmd.village)
    register.check_village(cmd.village, stamp.at)
    uow.add(
        Household.register(
            stamp, cmd.household, cmd.group, cmd.village, cmd.head, cmd.id_number, cmd.address
        )
    )


@command(
    "record_survey",
    "survey record",
    may=Permission("record a survey", CLERK, own_group=True),
    then_reads=_listed_policies,
)
class RecordSurvey:
    """Record a household's survey (or a correcting survey, with --reason)."""

    household: str = code("The household code.", refers=household_id)
    residents: int = count("How many people live there.")
    building_area_m2: dict[str, Decimal] = arg(
        parse_areas,
        refers=_the_register,
        cli=Pairs(
            "--area",
            "STRUCTURE=M2",
            "Building area of one structure type, such as brick_concrete=120.50 (repeat).",
            example="brick_concrete=120.50",
            required=True,
        ),
    )
    land_area_m2: Decimal = quantity(
        "Land area in square metres.", flag="--land-area", metavar="M2"
    )
    notes: str | None = text("Notes from the visit.", optional=True)
    reason: str | None = text("Why this survey corrects an earlier one.", optional=True)


@handles(RecordSurvey)
def record_survey(uow: UnitOfWork, stamp: Stamp, cmd: RecordSurvey) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    check_structures(cmd.building_area_m2, uow.priced_structures())
    household.record_survey(
        stamp, cmd.residents, cmd.building_area_m2, cmd.land_area_m2, cmd.notes, cmd.reason
    )


# How the command line names a deviation's reason and approver, which errors name.
QUANTITY_FLAGS = ("--quantity-reason", "--quantity-approved-by")


def _deviation(raw: Any, name: str, flags: tuple[str, str]) -> Deviation:
    reason, approved_by = flags
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{name} needs {reason} and {approved_by} (reason and approved_by).")
    if raw.get("reason") is None:
        raise InvalidInput(f"{name} needs a reason: give {reason}.")
    if raw.get("approved_by") is None:
        raise InvalidInput(f"{name} needs the supervisor who approved it: give {approved_by}.")
    return Deviation(
        reason=parse_text(raw.get("reason"), reason),
        approved_by=parse_code(raw.get("approved_by"), approved_by),
    )


def _agreement_deviation(raw: Any, name: str) -> Deviation:
    """An agreement's deviation: the approval on record it rests on (approval), or
    the supervisor who approved this amount (approved_by), with a reason or not."""
    if not isinstance(raw, Mapping) or not (raw.get("approval") or raw.get("approved_by")):
        raise InvalidInput(
            f"{name} needs the supervisor's approval it rests on: give --approval (the "
            "approval's id) or --approved-by (the supervisor who approved this amount)."
        )
    approval, approved_by, reason = raw.get("approval"), raw.get("approved_by"), raw.get("reason")
    return Deviation(
        reason=None if reason is None else parse_text(reason, "--deviation-reason"),
        approved_by=None if approved_by is None else parse_code(approved_by, "--approved-by"),
        approval=None if approval is None else parse_code(approval, "--approval"),
    )


def _approver(deviation: Deviation) -> Iterable[UUID]:
    return () if deviation.approved_by is None else names(staff_id)(deviation.approved_by)


def check_structures(areas: Mapping[str, Decimal], priced: set[str]) -> None:
    """A survey measures structure types that a published policy prices."""
    unknown = sorted(set(areas) - priced)
    if not unknown:
        return
    if not priced:
        raise RuleViolation(
            "no published policy prices a structure type yet; publish the policy before "
            "recording surveys."
        )
    name = unknown[0]
    raise RuleViolation(
        f"structure type {name} is not priced by any published policy"
        f"{nearest_said(name, priced)}; use one of {', '.join(sorted(priced))} in --area."
    )


def _policy_version(raw: Any, _name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise InvalidInput("policy_version must be a whole number from 1 up.")
    return raw


@command(
    "record_valuation", "valuation record", may=Permission("record a valuation", ("appraiser",))
)
class RecordValuation:
    """Record a valuation, or a review of the current one (--reviews)."""

    household: str = code("The household code.", refers=household_id)
    valuation: str = code("The valuation's id.")
    policy: str = code("The policy id, such as XC-2018.", refers=policy_id)
    policy_version: int = arg(_policy_version, "The policy version it prices under.", number=True)
    items: tuple[Item, ...] = arg(
        lambda raw, _name: parse_items(raw),
        cli=(
            Pairs(
                "--item",
                "RATE_KEY=QUANTITY",
                "A measured item priced by a rate, such as building:brick_concrete=120.50 "
                "(repeat).",
                example="building:brick_concrete=120.50",
                entry=lambda name, value: {"item": name, "quantity": value},
            ),
            Pairs(
                "--appraised",
                "NAME=YUAN",
                "An appraised item and its value, such as well=1500.00 (repeat).",
                example="well=1500.00",
                entry=lambda name, value: {"item": name, "value": value},
            ),
        ),
    )
    reviews: str | None = code("The valuation id this one reviews.", optional=True)
    quantity_deviation: Deviation | None = arg(
        lambda raw, name: _deviation(raw, name, QUANTITY_FLAGS),
        optional=True,
        refers=_approver,
        cli=Together(
            (
                Option(
                    "Why the building areas priced differ from the survey's.",
                    flag="--quantity-reason",
                    key="reason",
                ),
                Option(
                    "The supervisor who approved pricing other areas than the survey's.",
                    flag="--quantity-approved-by",
                    key="approved_by",
                ),
            )
        ),
    )
    dropped_reason: str | None = text(
        "Why a review leaves out items of the valuation it reviews.", optional=True
    )


@handles(RecordValuation)
def record_valuation(uow: UnitOfWork, stamp: Stamp, cmd: RecordValuation) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    policy = uow.policy_version(cmd.policy, cmd.policy_version)
    published = uow.get(Policy, policy_id(cmd.policy), f"unknown policy {cmd.policy}.")
    published.check_published_by(cmd.policy_version, stamp.at)
    approver = None
    if cmd.quantity_deviation is not None and cmd.quantity_deviation.approved_by is not None:
        approver = uow.actor(cmd.quantity_deviation.approved_by, stamp.at)
    household.record_valuation(
        stamp,
        cmd.valuation,
        policy,
        cmd.items,
        cmd.reviews,
        cmd.quantity_deviation,
        approver,
        cmd.dropped_reason,
    )


@command(
    "sign_agreement",
    "agreement sign",
    may=Permission("record an agreement", CLERK, own_group=True),
)
class SignAgreement:
    """Record a signed agreement."""

    household: str = code("The household code.", refers=household_id)
    agreement: str = code("The agreement's number.")
    method: str = choice(METHODS, "Money or a replacement flat.")
    amount: Decimal = amount("The agreed amount, such as 356800.00.")
    deviation: Deviation | None = arg(
        _agreement_deviation,
        optional=True,
        refers=_approver,
        cli=Together(
            (
                Option(
                    "The id of the supervisor's approval of this amount on record.",
                    flag="--approval",
                    key="approval",
                ),
                Option(
                    "Why the amount departs from the entitlement [default: the approval's].",
                    flag="--deviation-reason",
                    key="reason",
                ),
                Option(
                    "The supervisor who approved this amount (agreement approve-deviation).",
                    flag="--approved-by",
                    key="approved_by",
                ),
            )
        ),
    )


@handles(SignAgreement)
def sign_agreement(uow: UnitOfWork, stamp: Stamp, cmd: SignAgreement) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    policy = uow.household_policy(household)
    household.sign_agreement(stamp, cmd.agreement, cmd.method, cmd.amount, policy, cmd.deviation)


@command("approve_deviation", "agreement approve-deviation", may=APPROVE_DEVIATION)
class ApproveDeviation:
    """Approve, as the supervisor, signing for another amount than the entitlement;
    the agreement for that amount then names this approval (--approval ID, or
    --approved-by you)."""

    household: str = code("The household code.", refers=household_id)
    amount: Decimal = amount("The amount approved, such as 370000.00.")
    reason: str = text("Why it departs from the entitlement.")
    approval: str | None = code(
        "The approval's id, which the agreement names [default: the command's id].",
        optional=True,
    )


@handles(ApproveDeviation)
def approve_deviation(uow: UnitOfWork, stamp: Stamp, cmd: ApproveDeviation) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    household.approve_deviation(stamp, cmd.amount, cmd.reason, cmd.approval)


@command("refuse_deviation", "agreement refuse-deviation", may=APPROVE_DEVIATION)
class RefuseDeviation:
    """Refuse, as the supervisor, signing for another amount than the entitlement;
    an approval of that amount given before no longer allows it."""

    household: str = code("The household code.", refers=household_id)
    amount: Decimal = amount("The amount refused, such as 370000.00.")
    reason: str = text("Why it is refused.")
    approval: str | None = code("The decision's id [default: the command's id].", optional=True)


@handles(RefuseDeviation)
def refuse_deviation(uow: UnitOfWork, stamp: Stamp, cmd: RefuseDeviation) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    household.refuse_deviation(stamp, cmd.amount, cmd.reason, cmd.approval)


@command("void_agreement", "agreement void", may=Permission("void an agreement", SUPERVISOR))
class VoidAgreement:
    """Void the agreement in force (supervisors)."""

    household: str = code("The household code.", refers=household_id)
    agreement: str = code("The agreement's number.")
    reason: str = text("Why it is voided.")


@handles(VoidAgreement)
def void_agreement(uow: UnitOfWork, stamp: Stamp, cmd: VoidAgreement) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    household.void_agreement(stamp, cmd.agreement, cmd.reason)


def _size(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1 << 40:
        raise InvalidInput(f"{name} must be the file's size in bytes, a whole number.")
    return value


@command(
    "attach_document",
    "document attach",
    may=Permission("attach a document", CLERK, own_group=True),
    then_reads=_listed_policies,
)
class AttachDocument:
    """Attach a document to a household's file."""

    household: str = code("The household code.", refers=household_id)
    kind: str = arg(
        parse_code,
        "The document's kind: one the policy requires, such as id_card, or other:NAME.",
        refers=_the_register,
    )
    sha256: str = arg(parse_sha256, cli=FromFile("sha256"))
    filename: str = arg(
        lambda value, name: parse_text(value, name, max_length=255), cli=FromFile("name")
    )
    size: int | None = arg(_size, optional=True, cli=FromFile("size"))


@handles(AttachDocument)
def attach_document(uow: UnitOfWork, stamp: Stamp, cmd: AttachDocument) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    check_document_kind(cmd.kind, uow.document_kinds())
    household.attach_document(stamp, cmd.kind, cmd.sha256, cmd.filename, cmd.size)


OTHER = "other:"


def check_document_kind(kind: str, required: set[str]) -> None:
    """A document is of a kind a published policy requires, or says it is another
    (other:NAME)."""
    if kind in required or (kind.startswith(OTHER) and len(kind) > len(OTHER)):
        return
    raise RuleViolation(
        f"document kind {kind} is not one a published policy requires"
        f"{nearest_said(kind, required)}; use one of {', '.join(sorted(required))}, "
        f"or {OTHER}NAME for another document."
    )


@command(
    "record_vacated",
    "household vacated",
    may=Permission("record vacating", CLERK, own_group=True),
)
class RecordVacated:
    """Record that a household moved out and handed over the keys."""

    household: str = code("The household code.", refers=household_id)
    chose_early: str | None = text(
        "If it moved out before being paid in full: that it chose to, and why.",
        optional=True,
    )


@handles(RecordVacated)
def record_vacated(uow: UnitOfWork, stamp: Stamp, cmd: RecordVacated) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    household.record_vacated(stamp, cmd.chose_early)
