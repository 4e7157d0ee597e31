"""The one-ruler reads: a household's pricing beside its peers' (dispute), the
consistency report, the masked disclosure list and the difference between two
policy versions; from the households' timelines (rm_households, folded as
projections/timeline.py folds them) and the policy versions (rm_policy_versions)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from operator import attrgetter
from typing import Any

from domain import ruler
from domain.errors import NotFound, RuleViolation
from domain.policy import Entitlement, Item, Line, PolicyVersion, entitlement
from domain.standard import building_differences, building_differences_zh
from domain.values import LEDGER_TZ, format_yuan
from projections import programme
from projections.household_rows import known
from projections.households import (
    DeviationApproved,
    Entry,
    Signed,
    Step,
    Surveyed,
    Vacated,
    Valued,
    Voided,
    fold,
    registered_at,
    unpack,
)
from projections.model import Cursor, micros, moment
from projections.roster import roster_checks

# --- a household's record, from its timeline -------------------------------------


@dataclass
class Record:
    """What the ledger holds on one household's pricing, up to a moment."""

    household: str
    group: str
    village: str
    head: str = ""
    id_number: str | None = None
    steps: list[Step] = field(default_factory=list)  # in the order they took effect
    # Every supervisor's approval of a deviation on record (whatever the moment).
    approvals: list[DeviationApproved] = field(default_factory=list)
    timeline: Sequence[Entry] = ()  # every entry, whatever the moment

    @property
    def valuations(self) -> list[Valued]:
        return [s for s in self.steps if isinstance(s, Valued)]

    @property
    def current(self) -> Valued | None:
        valuations = self.valuations
        return valuations[-1] if valuations else None

    @property
    def survey(self) -> Surveyed | None:
        """The survey in force: the last."""
        surveys = [s for s in self.steps if isinstance(s, Surveyed)]
        return surveys[-1] if surveys else None

    @property
    def agreement(self) -> Signed | None:
        """The agreement in force: the last signed, unless a void came after it."""
        for step in reversed(self.steps):
            if isinstance(step, Voided):
                return None
            if isinstance(step, Signed):
                return step
        return None


def record_of(
    household: str,
    group: str,
    village: str,
    timeline: Sequence[Entry],
    as_of: int | None,
    head: str = "",
    id_number: str | None = None,
) -> Record | None:
    """The record of a household's timeline up to as_of (microseconds; None: all);
    None if it was not yet registered then."""
    registered = registered_at(timeline)
    if registered is None or (as_of is not None and registered > as_of):
        return None
    approvals = [e for e in timeline if isinstance(e, DeviationApproved)]
    approvals.sort(key=attrgetter("position"))
    return Record(
        household,
        group,
        village,
        head,
        id_number,
        fold(timeline, as_of).steps,
        approvals,
        timeline,
    )


# --- the published versions -----------------------------------------------------


class Policies:
    """Every published policy version, by (policy, version)."""

    def __init__(self, versions: Iterable[PolicyVersion]) -> None:
        self.all: dict[tuple[str, int], PolicyVersion] = {
            (p.policy, p.version): p for p in versions
        }

    @classmethod
    def read(cls, c: Cursor) -> Policies:
        """All of them, read once from rm_policy_versions."""
        c.execute("SELECT document FROM rm_policy_versions ORDER BY policy, version")
        return cls(programme.parse_policy(row[0]) for row in c.fetchall())

    def __getitem__(self, key: tuple[str, int]) -> PolicyVersion:
        found = self.all.get(key)
        if found is None:  # pragma: no cover - a valuation names a published version
            raise NotFound(f"policy {key[0]} version {key[1]} is not in the read models.")
        return found

    def versions_of(self, policy: str) -> dict[int, PolicyVersion]:
        return {v: p for (code, v), p in self.all.items() if code == policy}

    def version(self, policy: str, version: int) -> PolicyVersion:
        versions = self.versions_of(policy)
        if version not in versions:
            if not versions:
                raise NotFound(f"unknown policy {policy}: check the id, or publish it first.")
            held = (
                f"only version {min(versions)}"
                if len(versions) == 1
                else f"versions {min(versions)} to {max(versions)}"
            )
            raise RuleViolation(f"policy {policy} has no version {version}; it has {held}.")
        return versions[version]

    def latest_effective(self, policy: str, at: datetime) -> int | None:
        """The latest version of a policy already in effect at a moment."""
        day = at.astimezone(LEDGER_TZ).date()
        effective = [v for v, p in self.versions_of(policy).items() if p.effective <= day]
        return max(effective) if effective else None


# --- pricing a record -------------------------------------------------------------


@dataclass(frozen=True)
class Priced:
    pricing: ruler.Pricing
    owed: Entitlement
    policy: PolicyVersion
    priced_at: datetime  # the moment incentives were judged: the signing, else as-of


def priced(record: Record, policies: Policies, as_of: datetime) -> Priced | None:
    """The household's current valuation under its own version; incentives judged
    at the signing of the agreement in force, else at as_of (as `household show`)."""
    current = record.current
    if current is None:
        return None
    policy = policies[(current.policy, current.version)]
    agreement = record.agreement
    at = moment(agreement.at) if agreement is not None else as_of
    deviation = agreement.deviation if agreement is not None else None
    pricing, owed = ruler.pricing(
        record.household,
        current.parsed_items(),
        policy,
        at,
        agreed=Decimal(agreement.amount) if agreement is not None else None,
        deviation_reason=deviation.get("reason") if deviation else None,
        deviation_approved_by=deviation.get("approved_by") if deviation else None,
        reviews=[v.valuation for v in record.valuations if v.reviews is not None],
        quantities=quantities_of(record),
    )
    return Priced(pricing, owed, policy, at)


def quantities_of(record: Record) -> ruler.Quantities | None:
    """Where the current valuation's building areas depart from the survey in force
    (None: they do not, or there is no valuation)."""
    current, survey = record.current, record.survey
    if current is None or survey is None:
        return None
    areas = {structure: Decimal(area) for structure, area in survey.areas.items()}
    items = current.parsed_items()
    differences = building_differences(areas, items)
    if not differences:
        return None
    deviation = current.quantity_deviation or {}
    return ruler.Quantities(
        valuation=current.valuation,
        differences=tuple(differences),
        differences_zh=tuple(building_differences_zh(areas, items)),
        reason=deviation.get("reason"),
        approved_by=deviation.get("approved_by"),
    )


def reviews_of(record: Record, policies: Policies) -> list[ruler.Review]:
    """Each review with what it changed; both valuations priced at the review's
    moment under their own versions, so the difference is the review's alone."""
    by_id = {v.valuation: v for v in record.valuations}
    reviews = []
    for review in record.valuations:
        if review.reviews is None or review.reviews not in by_id:
            continue
        before = by_id[review.reviews]
        at = moment(review.at)
        items_before, items_after = before.parsed_items(), review.parsed_items()
        reviews.append(
            ruler.Review(
                valuation=review.valuation,
                reviews=review.reviews,
                actor=review.actor or "?",
                at=at,
                changes=ruler.item_changes(items_before, items_after),
                before=entitlement(
                    items_before, policies[(before.policy, before.version)], at
                ).total,
                after=entitlement(items_after, policies[(review.policy, review.version)], at).total,
                dropped_reason=review.dropped_reason,
            )
        )
    return reviews


# --- data for JSON -------------------------------------------------------------------


def when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LEDGER_TZ).isoformat()


def yuan(amount: Decimal | None) -> str | None:
    return None if amount is None else format_yuan(amount)


def number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def line_data(line: Line) -> dict[str, str | None]:
    return {
        "kind": line.kind,
        "item": line.item,
        "quantity": number(line.quantity),
        "rate": number(line.rate),
        "amount": format_yuan(line.amount),
        "condition": line.condition,
        "condition_zh": line.condition_zh,
    }


def items_data(items: Iterable[Item]) -> list[dict[str, str | None]]:
    return [
        {"item": i.item, "quantity": number(i.quantity), "value": number(i.value)} for i in items
    ]


def pricing_data(p: ruler.Pricing) -> dict[str, Any]:
    return {
        "household": p.household,
        "policy": p.policy,
        "version": p.version,
        "rates": {item: format_yuan(rate) for item, rate in sorted(p.unit_rates.items())},
        "building_area_m2": str(p.building_area),
        "entitlement": format_yuan(p.entitlement),
        "entitlement_per_m2": yuan(p.entitlement_per_m2),
        "incentives": list(p.incentives),
        "agreed": yuan(p.agreed),
        "deviation": None
        if p.deviation is None
        else {
            "difference": format_yuan(p.deviation),
            "reason": p.deviation_reason,
            "approved_by": p.deviation_approved_by,
        },
        "reviewed": list(p.reviews),
    }


def review_data(review: ruler.Review) -> dict[str, Any]:
    return {
        "valuation": review.valuation,
        "reviews": review.reviews,
        "reviewed_at": when(review.at),
        "reviewed_by": review.actor,
        "changes": [c.as_data() for c in review.changes],
        "entitlement_before": format_yuan(review.before),
        "entitlement_after": format_yuan(review.after),
        "difference": format_yuan(review.difference),
        "dropped": [c.item for c in review.changes if c.after is None],
        "dropped_reason": review.dropped_reason,
    }


def policy_data(policy: PolicyVersion) -> dict[str, Any]:
    return {
        "policy": policy.policy,
        "version": policy.version,
        "effective": policy.effective.isoformat(),
        "title": policy.title,
    }


def step_time(at: int | None) -> str | None:
    return None if at is None else moment(at).isoformat()


# --- the consistency report -----------------------------------------------------------


def all_records(
    c: Cursor, as_of: int | None, group: str | None = None, limit: int | None = None
) -> list[Record]:
    sql = "SELECT household, grp, village, head, id_number, timeline FROM rm_households"
    args: tuple[str, ...] = ()
    if group is not None:
        sql += " WHERE grp = ?"
        args = (group,)
    c.execute(sql + " ORDER BY grp, household", args)
    records = []
    for code, grp, village, head, id_number, timeline in c.fetchall():
        entries = known(unpack(timeline), limit)
        record = record_of(code, grp, village, entries, as_of, head, id_number)
        if record is not None:
            records.append(record)
    return records


PeerGroup = tuple[str, frozenset[str]]  # a village, and the structure types priced


def peer_group(record: Record) -> PeerGroup | None:
    """The peers a household is judged among (docs/ruler.md): its village's valued
    households whose current valuation prices the same building:* items."""
    current = record.current
    if current is None:
        return None
    return (record.village, ruler.structures_of(current.parsed_items()))


def rulers_in_force(records: Iterable[Record]) -> dict[PeerGroup, Counter[tuple[str, int]]]:
    """Per group of peers, how many of them each (policy, version) prices."""
    counts: dict[PeerGroup, Counter[tuple[str, int]]] = {}
    for record in records:
        group, current = peer_group(record), record.current
        if group is not None and current is not None:
            counts.setdefault(group, Counter())[(current.policy, current.version)] += 1
    return counts


def departs_from(counter: Counter[tuple[str, int]], own: tuple[str, int]) -> tuple[str, int] | None:
    """The version a household departs from, judged as `dispute` judges it: whoever
    is in the minority among it and its peers departs, and a tie counts against the
    household (so at 1:1 both are listed); None when strictly more use its version
    than any other. The version named is the most used of the others (a tie: the
    later version)."""
    others = {key: n for key, n in counter.items() if key != own}
    if not others or max(others.values()) < counter[own]:
        return None
    return max(others, key=lambda k: (others[k], k[1], k[0]))


def _policy_version(
    record: Record, policies: Policies, counter: Counter[tuple[str, int]]
) -> dict[str, Any] | None:
    """The household, if it departs in version from its peers (None: it does not)."""
    current = record.current
    assert current is not None
    departed = departs_from(counter, (current.policy, current.version))
    if departed is None:
        return None
    ours, theirs = policies[(current.policy, current.version)], policies[departed]
    return {
        **_where(record),
        "valuation": current.valuation,
        "valued_at": step_time(current.at),
        "valued_by": current.actor,
        "policy": current.policy,
        "version": current.version,
        "in_force": {"policy": departed[0], "version": departed[1]},
        "village_households": {"in_force": counter[departed], "valued": sum(counter.values())},
        "latest_effective_at_valuation": policies.latest_effective(
            current.policy, moment(current.at)
        ),
        "rate_changes": [c.as_data() for c in ruler.rate_changes(ours, theirs)],
    }


def _where(record: Record) -> dict[str, str]:
    return {"household": record.household, "group": record.group, "village": record.village}


def consistency(c: Cursor, as_of: datetime, limit: int | None = None) -> dict[str, Any]:
    """Every departure from the ruler as of a moment: deviations in force,
    households priced under another version than their village's, reviews, and
    voided agreements (with what was signed again)."""
    policies = Policies.read(c)
    records = sorted(all_records(c, micros(as_of), limit=limit), key=lambda r: r.household)
    in_force = rulers_in_force(records)
    deviations, versions, reviews, voided = [], [], [], []
    quantities: list[dict[str, Any]] = []
    revaluations: list[dict[str, Any]] = []
    vacated: list[dict[str, Any]] = []
    for record in records:
        agreement = record.agreement
        if agreement is not None:
            amount, owed = Decimal(agreement.amount), Decimal(agreement.entitlement)
            if amount != owed:
                deviations.append(_deviation(record, agreement, amount, owed))
        group = peer_group(record)
        if group is not None:
            entry = _policy_version(record, policies, in_force[group])
            if entry is not None:
                versions.append(entry)
        for review in reviews_of(record, policies):
            reviews.append({**_where(record), **review_data(review)})
        voided.extend(_voids(record))
        found = quantities_of(record)
        if found is not None:
            quantities.append(_quantities(record, found))
        early = _vacated_before_paid(record, micros(as_of))
        if early is not None:
            vacated.append(early)
        revaluations.extend(_revaluations(record))
    unapproved = [d for d in deviations if d["approval"] is None]
    return {
        "as_of": when(as_of),
        "deviations": deviations,
        "policy_versions": versions,
        "reviews": reviews,
        "voided": voided,
        "quantities": quantities,
        "revaluations": revaluations,
        **roster_checks(records),
        "unapproved_deviations": unapproved,
        "vacated_before_paid": vacated,
    }


def _vacated_before_paid(record: Record, as_of: int) -> dict[str, Any] | None:
    """The household, if it moved out before it was paid in full (先补偿后搬迁: never
    forced out before it is paid, though it may choose to): as paid at that moment."""
    timeline = record.timeline
    vacated = next((e for e in timeline if isinstance(e, Vacated) and e.at <= as_of), None)
    if vacated is None:
        return None
    then = fold(timeline, vacated.at)
    if then.paid_in_full:
        return None
    return {
        **_where(record),
        "vacated_at": step_time(vacated.at),
        "agreed": yuan(then.agreed),
        "paid_then": format_yuan(then.paid),
        "chose_to": vacated.chose_early is not None,
        "reason": vacated.chose_early,
    }


def _quantities(record: Record, found: ruler.Quantities) -> dict[str, Any]:
    current, survey = record.current, record.survey
    assert current is not None and survey is not None
    return {
        **_where(record),
        "valuation": current.valuation,
        "valued_at": step_time(current.at),
        "valued_by": current.actor,
        "surveyed_at": step_time(survey.at),
        "surveyed_by": survey.actor,
        "differences": list(found.differences),
        "reason": found.reason,
        "approved_by": found.approved_by,
    }


def _revaluations(record: Record) -> list[dict[str, Any]]:
    """Each valuation after the first that names no valuation it reviews (a ledger
    recorded before a second valuation had to be a review)."""
    valuations = record.valuations
    return [
        {
            **_where(record),
            "valuation": v.valuation,
            "valued_at": step_time(v.at),
            "valued_by": v.actor,
            "replaces": previous.valuation,
        }
        for previous, v in pairwise(valuations)
        if v.reviews is None
    ]


def _deviation(record: Record, agreement: Signed, amount: Decimal, owed: Decimal) -> dict[str, Any]:
    deviation = agreement.deviation or {}
    agreed = format_yuan(amount)
    approved_by = deviation.get("approved_by")
    # Whether the supervisor approved it in the record (the last decision on this
    # amount by them, by the signing, an approval), or was only named by the clerk
    # who recorded the agreement (a ledger from before agreements named approvals).
    decisions = [
        a
        for a in record.approvals
        if a.actor == approved_by
        and format_yuan(Decimal(a.amount)) == agreed
        and a.at <= agreement.at
    ]
    approvals = [decisions[-1].at] if decisions and not decisions[-1].refused else []
    return {
        **_where(record),
        "agreement": agreement.agreement,
        "signed_at": step_time(agreement.at),
        "signed_by": agreement.actor,
        "policy": agreement.policy,
        "version": agreement.version,
        "entitlement": format_yuan(owed),
        "agreed": agreed,
        "difference": format_yuan(amount - owed),
        "reason": deviation.get("reason"),
        "approved_by": approved_by,
        "approval_recorded_at": step_time(approvals[-1]) if approvals else None,
        "approval": deviation.get("approval"),
    }


def _voids(record: Record) -> list[dict[str, Any]]:
    """Each voided agreement, with the agreement signed after it (None: not yet)."""
    entries = []
    signed: dict[str, Signed] = {}
    for index, step in enumerate(record.steps):
        if isinstance(step, Signed):
            signed[step.agreement] = step
        if not isinstance(step, Voided):
            continue
        old = signed.get(step.agreement)
        old_amount = Decimal(old.amount) if old else None
        again = next((s for s in record.steps[index + 1 :] if isinstance(s, Signed)), None)
        entries.append(
            {
                **_where(record),
                "agreement": step.agreement,
                "amount": yuan(old_amount),
                "voided_at": step_time(step.at),
                "voided_by": step.actor,
                "reason": step.reason,
                "re_signed": None
                if again is None
                else {
                    "agreement": again.agreement,
                    "amount": format_yuan(Decimal(again.amount)),
                    "signed_at": step_time(again.at),
                    "difference": format_yuan(Decimal(again.amount) - old_amount)
                    if old_amount is not None
                    else None,
                },
            }
        )
    return entries


# The report's sections of departures from the ruler (a fair programme has none).
DEPARTURES = (
    "deviations",
    "policy_versions",
    "reviews",
    "voided",
    "quantities",
    "revaluations",
    "shared_id_numbers",
    "invalid_id_numbers",
    "unapproved_deviations",
    "vacated_before_paid",
)


def is_empty(report: Mapping[str, Any]) -> bool:
    return not any(report[k] for k in DEPARTURES)


# --- the disclosure list (分户补偿情况公布) --------------------------------------------

DISCLOSED = (
    "household",
    "head",
    "id_number",
    "group",
    "village",
    "building_area_m2",
    "land_area_m2",
    "building",
    "land",
    "other_priced",
    "appraised",
    "per_household",
    "incentives",
    "entitlement",
    "agreed",
    "difference",
    "method",
)


def disclosure_row(record: Record, policies: Policies, as_of: datetime) -> dict[str, Any] | None:
    """One household's line of the list, its head and ID number masked here, so
    that nothing unmasked reaches any output (None: not valued yet)."""
    found = priced(record, policies, as_of)
    if found is None:
        return None
    current = record.current
    assert current is not None
    items = current.parsed_items()
    areas = {
        i.item.removeprefix(ruler.BUILDING): str(i.quantity)
        for i in sorted(items, key=lambda i: i.item)
        if i.quantity is not None and i.item.startswith(ruler.BUILDING)
    }
    land = sum(
        (i.quantity for i in items if i.quantity is not None and i.item.startswith(ruler.LAND)),
        Decimal(0),
    )
    agreement = record.agreement
    parts = ruler.components(found.owed)
    return {
        "household": record.household,
        "head": ruler.mask_name(record.head),
        "id_number": ruler.mask_id_number(record.id_number),
        "group": record.group,
        "village": record.village,
        "building_area_m2": areas,
        "land_area_m2": str(land),
        **{name: format_yuan(amount) for name, amount in parts.items()},
        "entitlement": format_yuan(found.owed.total),
        "agreed": format_yuan(Decimal(agreement.amount)) if agreement else None,
        "difference": yuan(found.pricing.deviation),
        "method": agreement.method if agreement else None,
    }


def disclosure(
    c: Cursor, group: str | None, as_of: datetime, limit: int | None = None
) -> dict[str, Any]:
    """The per-household compensation list of the valued households, by group."""
    if group is not None:
        known = [code for code, _ in programme.groups(c)]
        if group not in known:
            raise NotFound(f"unknown group {group}: use one of {', '.join(known) or '(none yet)'}.")
    records = all_records(c, micros(as_of), group, limit)
    return disclosure_document(records, Policies.read(c), as_of, group)


def disclosure_document(
    records: Iterable[Record], policies: Policies, as_of: datetime, group: str | None = None
) -> dict[str, Any]:
    """The `report disclosure --json` document: the valued households' rows, masked."""
    rows = [row for r in records if (row := disclosure_row(r, policies, as_of)) is not None]
    return {"as_of": when(as_of), "group": group, "households": rows}


# --- policy versions --------------------------------------------------------------------


def policy_diff(policy: str, old: PolicyVersion, new: PolicyVersion) -> dict[str, Any]:
    """The `policy show ID --diff A B --json` document."""
    return {
        "policy": policy,
        "from": old.version,
        "to": new.version,
        "changes": ruler.diff_as_data(ruler.policy_diff(old, new)),
    }
