"""Departures from the standard, and what allows them: an agreed amount other than
the entitlement (a deviation, allowed by a supervisor's recorded approval) and
building areas priced other than surveyed (allowed by a reason and a supervisor's
approval); and a review that leaves items out (allowed by a reason)."""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.errors import NotFound, RuleViolation
from domain.policy import Entitlement, Item, item_zh
from domain.values import format_yuan

BUILDING = "building:"


@dataclass(frozen=True, slots=True)
class Deviation:
    """An agreed amount (or measured areas) other than the standard: why, and which
    supervisor approved; for an agreement, the approval on record it rests on."""

    reason: str | None
    approved_by: str | None
    approval: str | None = None

    def as_data(self) -> dict[str, str]:
        data = {"reason": self.reason, "approved_by": self.approved_by}
        if self.approval is not None:
            data["approval"] = self.approval
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Approval:
    """A supervisor's recorded decision on signing a household for another amount
    than its entitlement: approved, or refused."""

    approval: str
    supervisor: str
    amount: Decimal
    reason: str
    at: datetime
    refused: bool = False


def _building_gaps(
    areas: dict[str, Decimal], items: Sequence[Item]
) -> list[tuple[str, Decimal | None, Decimal | None]]:
    """Each structure whose priced building:* quantity departs from the survey's area:
    (structure, priced, surveyed), None where one side has none."""
    priced = {
        i.item.removeprefix(BUILDING): i.quantity
        for i in items
        if i.quantity is not None and i.item.startswith(BUILDING)
    }
    gaps = []
    for structure in sorted(set(priced) | set(areas)):
        got, measured = priced.get(structure), areas.get(structure)
        if got is None or measured is None or got != measured:
            gaps.append((structure, got, measured))
    return gaps


def building_differences(areas: dict[str, Decimal], items: Sequence[Item]) -> list[str]:
    """Where a valuation's priced building:* quantities depart from a survey's areas
    by structure ("building:simple 20.00 m² priced, 18.50 m² surveyed")."""
    said = []
    for structure, got, measured in _building_gaps(areas, items):
        shown = "not priced" if got is None else f"{got} m² priced"
        surveyed = "not surveyed" if measured is None else f"{measured} m² surveyed"
        said.append(f"{BUILDING}{structure} {shown}, {surveyed}")
    return said


def building_differences_zh(areas: dict[str, Decimal], items: Sequence[Item]) -> list[str]:
    """The same in Chinese ("building:simple 计价 20.00 m²，调查 18.50 m²")."""
    said = []
    for structure, got, measured in _building_gaps(areas, items):
        shown = "未计价" if got is None else f"计价 {got} m²"
        surveyed = "调查中没有" if measured is None else f"调查 {measured} m²"
        said.append(f"{item_zh(BUILDING + structure)} {shown}，{surveyed}")
    return said


def check_dropped(
    code: str,
    reviews: str | None,
    reviewed: Sequence[Item],
    items: Sequence[Item],
    reason: str | None,
) -> None:
    """A review that leaves out an item of the valuation it reviews says why."""
    if reviews is None:
        if reason is not None:
            raise RuleViolation(
                "--dropped-reason is for a review that leaves out items; "
                "this valuation reviews none: remove it."
            )
        return
    kept = {item.item for item in items}
    dropped = [i.item for i in reviewed if i.item not in kept]
    if dropped and reason is None:
        raise RuleViolation(
            f"the review leaves out {', '.join(dropped)} of valuation {reviews} of "
            f"{code}; repeat them, or say why with --dropped-reason."
        )
    if not dropped and reason is not None:
        raise RuleViolation(
            f"the review keeps every item of valuation {reviews}; remove --dropped-reason."
        )


def check_quantities(
    code: str,
    areas: dict[str, Decimal],
    items: Sequence[Item],
    deviation: Deviation | None,
) -> None:
    """The priced building quantities are the current survey's areas by structure,
    unless a reason and a supervisor's approval say why not."""
    differences = building_differences(areas, items)
    if differences and deviation is None:
        raise RuleViolation(
            f"the valuation's building areas differ from the survey of {code}: "
            f"{'; '.join(differences)}; price the surveyed areas (or correct the "
            "survey first), or give --quantity-reason with a supervisor's "
            "--quantity-approved-by."
        )
    if not differences and deviation is not None:
        raise RuleViolation(
            "the building areas equal the survey's; remove --quantity-reason and "
            "--quantity-approved-by."
        )


def approval_for(approvals: Sequence[Approval], amount: Decimal, at: datetime) -> Approval | None:
    """The supervisor's approval, on record by at and not refused since, that
    allows signing for amount (None: none does)."""
    found: Approval | None = None
    for decision in approvals:
        if decision.at > at or decision.amount != amount:
            continue
        found = None if decision.refused else decision
    return found


def check_approved(
    code: str,
    approvals: Sequence[Approval],
    amount: Decimal,
    owed: Decimal,
    deviation: Deviation,
    at: datetime,
) -> Approval:
    """The recorded approval an agreement for another amount than the entitlement
    rests on: the one it names, or the named supervisor's of that amount."""
    allowed = approval_for(approvals, amount, at)
    named = deviation.approval
    if allowed is not None and named is not None and allowed.approval != named:
        allowed = None
    if (
        allowed is not None
        and deviation.approved_by is not None
        and allowed.supervisor != deviation.approved_by
    ):
        allowed = None
    if allowed is not None:
        return allowed
    standing: dict[tuple[str, Decimal], Approval] = {}
    for decision in approvals:
        if decision.at <= at:
            standing[(decision.supervisor, decision.amount)] = decision
    given = [
        f"{format_yuan(a.amount)} by {a.supervisor}" for a in standing.values() if not a.refused
    ]
    on_record = f" (approved on record: {', '.join(given)})" if given else ""
    whose = f" by {deviation.approved_by}" if deviation.approved_by else ""
    which = f" {named}" if named else ""
    raise RuleViolation(
        f"no supervisor's approval{which}{whose} on record allows {code} to sign for "
        f"{format_yuan(amount)}{on_record}; a supervisor approves the amount first "
        f"(agreement approve-deviation), or sign for the entitlement "
        f"{format_yuan(owed)}."
    )


def check_amount(amount: Decimal, owed: Entitlement, deviation: Deviation | None) -> None:
    """An agreed amount is the entitlement, or departs from it with a deviation."""
    if deviation is None and amount != owed.total:
        raise RuleViolation(
            f"the amount {format_yuan(amount)} differs from the entitlement "
            f"{format_yuan(owed.total)} under policy {owed.policy} version {owed.version}; "
            "sign for the entitlement, or give a deviation with a reason "
            "and a supervisor's approval."
        )
    if deviation is not None and amount == owed.total:
        raise RuleViolation(
            f"the amount equals the entitlement {format_yuan(owed.total)}; remove the deviation."
        )


def check_reviews(
    code: str, valuations: Container[str], current: str | None, reviews: str | None
) -> None:
    """A household's second valuation is a review naming its current one."""
    if reviews is None:
        if current is not None:
            raise RuleViolation(
                f"{code} was already valued ({current}); a second valuation is a review: "
                f"name the one it reviews (--reviews {current})."
            )
        return
    if reviews not in valuations:
        raise NotFound(f"{code} has no valuation {reviews} to review.")
    if current is not None and current != reviews:
        raise RuleViolation(
            f"valuation {reviews} of {code} was superseded by {current}; "
            "a review names the current valuation."
        )
