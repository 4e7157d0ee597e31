"""The one-ruler reads: a household's pricing beside its peers' (dispute), the
consistency report, the masked disclosure list and the difference between two
policy versions; from the read models (rm_households, rm_policy_versions) and,
for the household in dispute, from its own events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

import msgpack

from domain import ruler
from domain.base import Recorded
from domain.errors import NotFound, RuleViolation
from domain.household import Household
from domain.policy import Entitlement, Item, Line, PolicyVersion, entitlement
from domain.values import LEDGER_TZ, format_yuan
from projections import programme
from projections.facts import EPOCH, micros

# --- a household's record, from its events or from its timeline -----------------


@dataclass(frozen=True)
class Survey:
    at: datetime
    areas: Mapping[str, Decimal]
    land: Decimal
    actor: str | None = None
    recorded_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Valuation:
    valuation: str
    policy: str
    version: int
    # Items, or a timeline's [[item, quantity, value]] rows: parsed when first read,
    # since the consistency report reads the items of reviewed households only.
    rows: Sequence[Item] | Sequence[Sequence[Any]]
    reviews: str | None
    at: datetime
    actor: str | None = None
    recorded_at: datetime | None = None

    @cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(r if isinstance(r, Item) else _item(r) for r in self.rows)


@dataclass(frozen=True)
class Signing:
    agreement: str
    amount: Decimal
    entitlement: Decimal
    policy: str
    version: int
    deviation: Mapping[str, str] | None
    method: str
    at: datetime
    actor: str | None = None
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class Voiding:
    agreement: str
    reason: str
    at: datetime
    actor: str | None = None
    recorded_at: datetime | None = None


Step = Survey | Valuation | Signing | Voiding


@dataclass
class Record:
    """What the ledger holds on one household's pricing, up to a moment."""

    household: str
    group: str
    village: str
    head: str = ""
    id_number: str | None = None
    steps: list[Step] = field(default_factory=list)  # in the order they took effect

    @property
    def valuations(self) -> list[Valuation]:
        return [s for s in self.steps if isinstance(s, Valuation)]

    @property
    def current(self) -> Valuation | None:
        valuations = self.valuations
        return valuations[-1] if valuations else None

    @property
    def agreement(self) -> Signing | None:
        """The agreement in force: the last signed, unless a void came after it."""
        for step in reversed(self.steps):
            if isinstance(step, Voiding):
                return None
            if isinstance(step, Signing):
                return step
        return None


_LOCAL_EPOCH = EPOCH.astimezone(LEDGER_TZ)


def at_micros(moment: int) -> datetime:
    """A timeline's business time, in the ledger's zone."""
    return _LOCAL_EPOCH + timedelta(microseconds=moment)


def _item(row: Sequence[Any]) -> Item:
    name, quantity, value = row
    return Item(
        name,
        Decimal(quantity) if quantity is not None else None,
        Decimal(value) if value is not None else None,
    )


_PRICING = frozenset("VAX")


def record_from_timeline(
    household: str,
    group: str,
    village: str,
    timeline: Sequence[Sequence[Any]],
    as_of: int | None,
    head: str = "",
    id_number: str | None = None,
) -> Record | None:
    """The record of a household's read-model timeline (see households.ENTRY_FORMS)
    up to as_of (microseconds); None if it was not yet registered then. Its steps
    are the valuations, agreements and voids: what prices a household (the survey's
    areas are priced only through a valuation's items)."""
    if not timeline or (as_of is not None and timeline[0][0] > as_of):
        return None
    record = Record(household, group, village, head, id_number)
    for entry in timeline:
        if as_of is not None and entry[0] > as_of:
            break
        kind = entry[2]
        if kind not in _PRICING:
            continue
        if kind == "V":
            record.steps.append(
                Valuation(
                    entry[3],
                    entry[4],
                    entry[5],
                    entry[6],
                    entry[7],
                    at_micros(entry[0]),
                    entry[8],
                )
            )
        elif kind == "A":
            record.steps.append(
                Signing(
                    entry[3],
                    Decimal(entry[4]),
                    Decimal(entry[5]),
                    entry[6],
                    entry[7],
                    entry[8],
                    entry[9],
                    at_micros(entry[0]),
                )
            )
        elif kind == "X":
            record.steps.append(Voiding(entry[3], entry[4], at_micros(entry[0])))
    return record


def record_from_events(events: Sequence[Recorded], as_of: datetime | None) -> Record | None:
    """The record of a household from its own events, in the order the ledger
    applied them, up to as_of (business time); None if not yet registered then."""
    kept = [e for e in events if as_of is None or e.occurred_at <= as_of]
    if not kept or not isinstance(kept[0], Household.Registered):
        return None
    first = kept[0]
    record = Record(first.household, first.group, first.village, first.head, first.id_number)
    for e in kept[1:]:
        at = e.occurred_at.astimezone(LEDGER_TZ)
        actor, recorded = e.actor, e.recorded_at.astimezone(LEDGER_TZ)
        step: Step
        if isinstance(e, Household.Surveyed):
            areas = dict(e.building_area_m2)
            step = Survey(at, areas, e.land_area_m2, actor, recorded, e.reason)
        elif isinstance(e, Household.Valued):
            items = tuple(Item.from_data(i) for i in e.items)
            step = Valuation(
                e.valuation, e.policy, e.policy_version, items, e.reviews, at, actor, recorded
            )
        elif isinstance(e, Household.AgreementSigned):
            step = Signing(
                e.agreement,
                e.amount,
                e.entitlement,
                e.policy,
                e.policy_version,
                e.deviation,
                e.method,
                at,
                actor,
                recorded,
            )
        elif isinstance(e, Household.AgreementVoided):
            step = Voiding(e.agreement, e.reason, at, actor, recorded)
        else:
            continue
        record.steps.append(step)
    return record


# --- the published versions -----------------------------------------------------


class Policies:
    """Every published policy version, by (policy, version)."""

    def __init__(self, versions: Iterable[PolicyVersion]) -> None:
        self.all: dict[tuple[str, int], PolicyVersion] = {
            (p.policy, p.version): p for p in versions
        }

    @classmethod
    def read(cls, c: Any) -> Policies:
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
    at = agreement.at if agreement is not None else as_of
    deviation = agreement.deviation if agreement is not None else None
    pricing, owed = ruler.pricing(
        record.household,
        current.items,
        policy,
        at,
        agreed=agreement.amount if agreement is not None else None,
        deviation_reason=deviation.get("reason") if deviation else None,
        deviation_approved_by=deviation.get("approved_by") if deviation else None,
        reviews=[v.valuation for v in record.valuations if v.reviews is not None],
    )
    return Priced(pricing, owed, policy, at)


def reviews_of(record: Record, policies: Policies) -> list[ruler.Review]:
    """Each review with what it changed; both valuations priced at the review's
    moment under their own versions, so the difference is the review's alone."""
    by_id = {v.valuation: v for v in record.valuations}
    reviews = []
    for review in record.valuations:
        if review.reviews is None or review.reviews not in by_id:
            continue
        before = by_id[review.reviews]
        reviews.append(
            ruler.Review(
                valuation=review.valuation,
                reviews=review.reviews,
                actor=review.actor or "?",
                at=review.at,
                changes=ruler.item_changes(before.items, review.items),
                before=entitlement(
                    before.items, policies[(before.policy, before.version)], review.at
                ).total,
                after=entitlement(
                    review.items, policies[(review.policy, review.version)], review.at
                ).total,
            )
        )
    return reviews


# --- data for JSON -------------------------------------------------------------------


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LEDGER_TZ).isoformat()


def _yuan(amount: Decimal | None) -> str | None:
    return None if amount is None else format_yuan(amount)


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def line_data(line: Line) -> dict[str, str | None]:
    return {
        "kind": line.kind,
        "item": line.item,
        "quantity": _number(line.quantity),
        "rate": _number(line.rate),
        "amount": format_yuan(line.amount),
        "condition": line.condition,
    }


def items_data(items: Iterable[Item]) -> list[dict[str, str | None]]:
    return [
        {"item": i.item, "quantity": _number(i.quantity), "value": _number(i.value)} for i in items
    ]


def pricing_data(p: ruler.Pricing) -> dict[str, Any]:
    return {
        "household": p.household,
        "policy": p.policy,
        "version": p.version,
        "rates": {item: format_yuan(rate) for item, rate in sorted(p.unit_rates.items())},
        "building_area_m2": str(p.building_area),
        "entitlement": format_yuan(p.entitlement),
        "entitlement_per_m2": _yuan(p.entitlement_per_m2),
        "incentives": list(p.incentives),
        "agreed": _yuan(p.agreed),
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
        "reviewed_at": _time(review.at),
        "reviewed_by": review.actor,
        "changes": [c.as_data() for c in review.changes],
        "entitlement_before": format_yuan(review.before),
        "entitlement_after": format_yuan(review.after),
        "difference": format_yuan(review.difference),
    }


def policy_data(policy: PolicyVersion) -> dict[str, Any]:
    return {
        "policy": policy.policy,
        "version": policy.version,
        "effective": policy.effective.isoformat(),
        "title": policy.title,
    }


# --- dispute -----------------------------------------------------------------------


def _structures_in(timeline: Sequence[Sequence[Any]], as_of: int) -> frozenset[str] | None:
    """The structure types of the valuation in force at as_of (None: not valued),
    read from the raw entries so that a non-peer costs no more than this."""
    found: frozenset[str] | None = None
    for entry in timeline:
        if entry[0] > as_of:
            break
        if entry[2] == "V":
            found = frozenset(
                name
                for name, quantity, _ in entry[6]
                if quantity is not None and name.startswith(ruler.BUILDING)
            )
    return found


def peers_of(
    c: Any, own: ruler.Pricing, village: str, policies: Policies, as_of: datetime
) -> list[ruler.Pricing]:
    """Peers: the other valued households of the same village whose current
    valuation prices the same set of building:* items (docs/ruler.md). The
    village is narrowed in SQL, so a large programme unpacks one village's
    timelines only."""
    moment = micros(as_of)
    c.execute(
        "SELECT household, grp, timeline FROM rm_households "
        "WHERE village = ? AND household <> ? ORDER BY household",
        (village, own.household),
    )
    peers = []
    for code, group, packed in c.fetchall():
        timeline = msgpack.unpackb(packed)
        if _structures_in(timeline, moment) != own.structures:
            continue
        record = record_from_timeline(code, group, village, timeline, moment)
        assert record is not None
        found = priced(record, policies, as_of)
        assert found is not None
        peers.append(found.pricing)
    return peers


def step_data(step: Step, policies: Policies, priced_at: datetime) -> dict[str, Any]:
    common = {"occurred_at": _time(step.at), "recorded_at": _time(step.recorded_at)}
    if isinstance(step, Survey):
        return {
            "step": "survey",
            **common,
            "actor": step.actor,
            "building_area_m2": {k: str(v) for k, v in sorted(step.areas.items())},
            "land_area_m2": str(step.land),
            "reason": step.reason,
        }
    if isinstance(step, Valuation):
        return {
            "step": "review" if step.reviews else "valuation",
            **common,
            "actor": step.actor,
            "valuation": step.valuation,
            "reviews": step.reviews,
            "policy": step.policy,
            "version": step.version,
            "items": items_data(step.items),
            # Every valuation priced at the same moment, so the record shows
            # what each one's items were worth and nothing else.
            "entitlement": format_yuan(
                entitlement(step.items, policies[(step.policy, step.version)], priced_at).total
            ),
        }
    if isinstance(step, Signing):
        return {
            "step": "agreement",
            **common,
            "actor": step.actor,
            "agreement": step.agreement,
            "method": step.method,
            "amount": format_yuan(step.amount),
            "entitlement": format_yuan(step.entitlement),
            "policy": step.policy,
            "version": step.version,
            "deviation": dict(step.deviation) if step.deviation else None,
        }
    return {
        "step": "void",
        **common,
        "actor": step.actor,
        "agreement": step.agreement,
        "reason": step.reason,
    }


def what_if(found: Priced, items: Sequence[Item], other: PolicyVersion) -> dict[str, Any]:
    """The same items under another version, line by line; reads and writes nothing."""
    ruler.check_priceable(items, other, found.pricing.household)
    alternative = entitlement(items, other, found.priced_at)
    rows = ruler.compare_lines(found.owed, alternative)
    return {
        **policy_data(other),
        "priced_at": _time(found.priced_at),
        "lines": [
            {
                "kind": r.kind,
                "item": r.item,
                "quantity": _number(r.quantity),
                "rate": _number(r.rate),
                "other_rate": _number(r.other_rate),
                "amount": _yuan(r.amount),
                "other_amount": _yuan(r.other_amount),
                "difference": format_yuan(r.difference),
            }
            for r in rows
        ],
        "entitlement": format_yuan(found.owed.total),
        "other_entitlement": format_yuan(alternative.total),
        "difference": format_yuan(alternative.total - found.owed.total),
        "changes": ruler.diff_as_data(ruler.policy_diff(found.policy, other)),
    }


def dispute(
    c: Any,
    code: str,
    events: Sequence[Recorded],
    as_of: datetime,
    other_version: int | None = None,
) -> dict[str, Any]:
    """The one-ruler replay of one household (its own events) against its peers
    (the read models): the `dispute --json` document of docs/ruler.md."""
    record = record_from_events(events, as_of)
    if record is None:
        raise NotFound(
            f"{code} was not yet registered at {as_of.isoformat()}; give a later --as-of."
        )
    policies = Policies.read(c)
    found = priced(record, policies, as_of)
    if found is None:
        raise RuleViolation(
            f"{record.household} has no valuation as of {as_of.isoformat()}, so there is "
            "nothing to compare; value it first or give a later --as-of."
        )
    other = None
    if other_version is not None:
        other = policies.version(found.policy.policy, other_version)
    own = found.pricing
    peers = peers_of(c, own, record.village, policies, as_of)
    reviews = reviews_of(record, policies)
    verdict = ruler.verdict(own, peers, policies.all, reviews, found.priced_at)
    current = record.current
    assert current is not None
    agreement = record.agreement
    missed = [i for i in found.policy.incentives if i.name not in own.incentives]
    return {
        "household": record.household,
        "group": record.group,
        "village": record.village,
        "as_of": _time(as_of),
        "structures": sorted(own.structures),
        "policy": policy_data(found.policy),
        "valuation": {
            "valuation": current.valuation,
            "reviews": current.reviews,
            "valued_at": _time(current.at),
            "valued_by": current.actor,
        },
        "priced_at": _time(found.priced_at),
        "lines": [line_data(line) for line in found.owed.lines],
        "incentives_not_applied": [
            {
                "name": i.name,
                "amount": format_yuan(i.amount),
                "condition": f"signed by {i.signed_by.isoformat()}",
            }
            for i in missed
        ],
        "entitlement": format_yuan(found.owed.total),
        "building_area_m2": str(own.building_area),
        "entitlement_per_m2": _yuan(own.entitlement_per_m2),
        "rates": pricing_data(own)["rates"],
        "agreement": None
        if agreement is None
        else {
            "agreement": agreement.agreement,
            "method": agreement.method,
            "amount": format_yuan(agreement.amount),
            "entitlement": format_yuan(agreement.entitlement),
            "signed_at": _time(agreement.at),
            "signed_by": agreement.actor,
            "deviation": pricing_data(own)["deviation"],
        },
        "record": [step_data(s, policies, found.priced_at) for s in record.steps],
        "reviews": [review_data(r) for r in reviews],
        "peers": {
            "definition": "the other valued households of the same village whose current "
            "valuation prices the same set of building:* items",
            "village": record.village,
            "structures": sorted(own.structures),
            "count": len(peers),
            "households": [pricing_data(p) for p in peers],
        },
        "verdict": {
            "same_ruler": verdict.same_ruler,
            "summary": verdict.summary,
            "findings": [
                {"kind": f.kind, "own": f.own, "text": f.text, "households": list(f.households)}
                for f in verdict.findings
            ],
        },
        "what_if": None if other is None else what_if(found, current.items, other),
    }


# --- the consistency report -----------------------------------------------------------


def all_records(c: Any, as_of: int | None, group: str | None = None) -> list[Record]:
    sql = "SELECT household, grp, village, head, id_number, timeline FROM rm_households"
    args: tuple[str, ...] = ()
    if group is not None:
        sql += " WHERE grp = ?"
        args = (group,)
    c.execute(sql + " ORDER BY grp, household", args)
    records = []
    for code, grp, village, head, id_number, timeline in c.fetchall():
        record = record_from_timeline(
            code, grp, village, msgpack.unpackb(timeline), as_of, head, id_number
        )
        if record is not None:
            records.append(record)
    return records


def rulers_in_force(records: Iterable[Record]) -> dict[str, tuple[tuple[str, int], int, int]]:
    """Per village, the (policy, version) that most of its valued households'
    current valuations use (a tie goes to the later version), with its count
    and the number of valued households."""
    counts: dict[str, Counter[tuple[str, int]]] = {}
    for record in records:
        current = record.current
        if current is not None:
            counts.setdefault(record.village, Counter())[(current.policy, current.version)] += 1
    return {
        village: (
            max(counter, key=lambda k: (counter[k], k[1], k[0])),
            max(counter.values()),
            sum(counter.values()),
        )
        for village, counter in counts.items()
    }


def _where(record: Record) -> dict[str, str]:
    return {"household": record.household, "group": record.group, "village": record.village}


def consistency(c: Any, as_of: datetime) -> dict[str, Any]:
    """Every departure from the ruler as of a moment: deviations in force,
    households priced under another version than their village's, reviews, and
    voided agreements (with what was signed again)."""
    policies = Policies.read(c)
    records = sorted(all_records(c, micros(as_of)), key=lambda r: r.household)
    in_force = rulers_in_force(records)
    deviations, versions, reviews, voided = [], [], [], []
    for record in records:
        agreement = record.agreement
        if agreement is not None and agreement.amount != agreement.entitlement:
            deviation = agreement.deviation or {}
            deviations.append(
                {
                    **_where(record),
                    "agreement": agreement.agreement,
                    "signed_at": _time(agreement.at),
                    "signed_by": None,
                    "policy": agreement.policy,
                    "version": agreement.version,
                    "entitlement": format_yuan(agreement.entitlement),
                    "agreed": format_yuan(agreement.amount),
                    "difference": format_yuan(agreement.amount - agreement.entitlement),
                    "reason": deviation.get("reason"),
                    "approved_by": deviation.get("approved_by"),
                    "approval_recorded_at": None,
                }
            )
        current = record.current
        if current is not None:
            (policy, version), count, valued = in_force[record.village]
            if (current.policy, current.version) != (policy, version):
                ours = policies[(current.policy, current.version)]
                theirs = policies[(policy, version)]
                versions.append(
                    {
                        **_where(record),
                        "valuation": current.valuation,
                        "valued_at": _time(current.at),
                        "valued_by": current.actor,
                        "policy": current.policy,
                        "version": current.version,
                        "in_force": {"policy": policy, "version": version},
                        "village_households": {"in_force": count, "valued": valued},
                        "latest_effective_at_valuation": policies.latest_effective(
                            current.policy, current.at
                        ),
                        "rate_changes": [c.as_data() for c in ruler.rate_changes(ours, theirs)],
                    }
                )
        for review in reviews_of(record, policies):
            reviews.append({**_where(record), **review_data(review)})
        voided.extend(_voids(record))
    return {
        "as_of": _time(as_of),
        "deviations": deviations,
        "policy_versions": versions,
        "reviews": reviews,
        "voided": voided,
    }


def _voids(record: Record) -> list[dict[str, Any]]:
    """Each voided agreement, with the agreement signed after it (None: not yet)."""
    entries = []
    signed: dict[str, Signing] = {}
    for index, step in enumerate(record.steps):
        if isinstance(step, Signing):
            signed[step.agreement] = step
        if not isinstance(step, Voiding):
            continue
        old = signed.get(step.agreement)
        again = next((s for s in record.steps[index + 1 :] if isinstance(s, Signing)), None)
        entries.append(
            {
                **_where(record),
                "agreement": step.agreement,
                "amount": _yuan(old.amount) if old else None,
                "voided_at": _time(step.at),
                "voided_by": None,
                "reason": step.reason,
                "re_signed": None
                if again is None
                else {
                    "agreement": again.agreement,
                    "amount": format_yuan(again.amount),
                    "signed_at": _time(again.at),
                    "difference": format_yuan(again.amount - old.amount) if old else None,
                },
            }
        )
    return entries


def add_actors(report: dict[str, Any], events_of: Callable[[str], Sequence[Recorded]]) -> None:
    """Fill in who signed each deviation and who voided each agreement: the read
    model's timeline keeps no actor for those, the events do. There are few."""
    wanted = {e["household"] for e in (*report["deviations"], *report["voided"])}
    actors: dict[tuple[str, str, str], str] = {}
    approvals: dict[tuple[str, str, str], str | None] = {}  # (household, supervisor, amount) -> at
    for code in sorted(wanted):
        for event in events_of(code):
            if isinstance(event, Household.AgreementSigned):
                actors[(code, "signed", event.agreement)] = event.actor
            elif isinstance(event, Household.AgreementVoided):
                actors[(code, "voided", event.agreement)] = event.actor
            elif isinstance(event, Household.DeviationApproved):
                approvals[(code, event.actor, format_yuan(event.amount))] = _time(event.occurred_at)
    for entry in report["deviations"]:
        entry["signed_by"] = actors.get((entry["household"], "signed", entry["agreement"]))
        # Whether the supervisor approved it in the record, or was only named by the
        # clerk who recorded the agreement.
        entry["approval_recorded_at"] = approvals.get(
            (entry["household"], entry["approved_by"], entry["agreed"])
        )
    for entry in report["voided"]:
        entry["voided_by"] = actors.get((entry["household"], "voided", entry["agreement"]))


def is_empty(report: Mapping[str, Any]) -> bool:
    return not any(report[k] for k in ("deviations", "policy_versions", "reviews", "voided"))


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
    areas = {
        i.item.removeprefix(ruler.BUILDING): str(i.quantity)
        for i in sorted(current.items, key=lambda i: i.item)
        if i.quantity is not None and i.item.startswith(ruler.BUILDING)
    }
    land = sum(
        (
            i.quantity
            for i in current.items
            if i.quantity is not None and i.item.startswith(ruler.LAND)
        ),
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
        "agreed": _yuan(agreement.amount) if agreement else None,
        "difference": _yuan(found.pricing.deviation),
        "method": agreement.method if agreement else None,
    }


def disclosure(c: Any, group: str | None, as_of: datetime) -> dict[str, Any]:
    """The per-household compensation list of the valued households, by group."""
    if group is not None:
        known = [code for code, _ in programme.groups(c)]
        if group not in known:
            raise NotFound(f"unknown group {group}: use one of {', '.join(known) or '(none yet)'}.")
    return disclosure_document(all_records(c, micros(as_of), group), Policies.read(c), as_of, group)


def disclosure_document(
    records: Iterable[Record], policies: Policies, as_of: datetime, group: str | None = None
) -> dict[str, Any]:
    """The `report disclosure --json` document: the valued households' rows, masked."""
    rows = [row for r in records if (row := disclosure_row(r, policies, as_of)) is not None]
    return {"as_of": _time(as_of), "group": group, "households": rows}


# --- policy versions --------------------------------------------------------------------


def policy_diff(policy: str, old: PolicyVersion, new: PolicyVersion) -> dict[str, Any]:
    """The `policy show ID --diff A B --json` document."""
    return {
        "policy": policy,
        "from": old.version,
        "to": new.version,
        "changes": ruler.diff_as_data(ruler.policy_diff(old, new)),
    }
