"""A household's dispute (docs/ruler.md): its record and pricing, read from its
timeline, beside its peers' (the other valued households of its village whose
current valuation prices the same structure types), with the verdict, and what its
items would give under another version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from domain import ruler
from domain.errors import NotFound, RuleViolation
from domain.policy import Item, PolicyVersion, entitlement
from domain.values import format_yuan
from domain.verdict import verdict as judge
from projections import household_rows, households
from projections.consistency import (
    Policies,
    Priced,
    items_data,
    line_data,
    number,
    policy_data,
    priced,
    pricing_data,
    record_of,
    review_data,
    reviews_of,
    step_time,
    when,
    yuan,
)
from projections.households import Entry, Signed, Step, Surveyed, Valued, unpack
from projections.model import Cursor, micros


def _structures_in(timeline: Sequence[Entry], as_of: int) -> frozenset[str] | None:
    """The structure types of the valuation in force at as_of (None: not valued),
    read from the entries alone so that a non-peer costs no more than this."""
    found: frozenset[str] | None = None
    for entry in timeline:
        if entry.at > as_of:
            break
        if isinstance(entry, Valued):
            found = frozenset(
                name
                for name, quantity, _ in entry.items
                if quantity is not None and name is not None and name.startswith(ruler.BUILDING)
            )
    return found


def peers_of(
    c: Cursor,
    own: ruler.Pricing,
    village: str,
    policies: Policies,
    as_of: datetime,
    limit: int | None = None,
) -> list[ruler.Pricing]:
    """Peers: the other valued households of the same village whose current
    valuation prices the same set of building:* items (docs/ruler.md). The
    village is narrowed in SQL, so a large programme unpacks one village's
    timelines only."""
    at = micros(as_of)
    c.execute(
        "SELECT household, grp, timeline FROM rm_households "
        "WHERE village = ? AND household <> ? ORDER BY household",
        (village, own.household),
    )
    peers = []
    for code, group, packed in c.fetchall():
        timeline = household_rows.known(unpack(packed), limit)
        if _structures_in(timeline, at) != own.structures:
            continue
        record = record_of(code, group, village, timeline, at)
        assert record is not None
        found = priced(record, policies, as_of)
        assert found is not None
        peers.append(found.pricing)
    return peers


def step_data(step: Step, policies: Policies, priced_at: datetime) -> dict[str, Any]:
    common = {"occurred_at": step_time(step.at), "recorded_at": step_time(step.recorded)}
    if isinstance(step, Surveyed):
        return {
            "step": "survey",
            **common,
            "actor": step.actor,
            "building_area_m2": {k: str(v) for k, v in sorted(step.areas.items())},
            "land_area_m2": str(step.land),
            "reason": step.reason,
        }
    if isinstance(step, Valued):
        items = step.parsed_items()
        return {
            "step": "review" if step.reviews else "valuation",
            **common,
            "actor": step.actor,
            "valuation": step.valuation,
            "reviews": step.reviews,
            "policy": step.policy,
            "version": step.version,
            "items": items_data(items),
            # Every valuation priced at the same moment, so the record shows
            # what each one's items were worth and nothing else.
            "entitlement": format_yuan(
                entitlement(items, policies[(step.policy, step.version)], priced_at).total
            ),
        }
    if isinstance(step, Signed):
        return {
            "step": "agreement",
            **common,
            "actor": step.actor,
            "agreement": step.agreement,
            "method": step.method,
            "amount": format_yuan(Decimal(step.amount)),
            "entitlement": format_yuan(Decimal(step.entitlement)),
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
        "priced_at": when(found.priced_at),
        "lines": [
            {
                "kind": r.kind,
                "item": r.item,
                "quantity": number(r.quantity),
                "rate": number(r.rate),
                "other_rate": number(r.other_rate),
                "amount": yuan(r.amount),
                "other_amount": yuan(r.other_amount),
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
    c: Cursor,
    code: str,
    as_of: datetime,
    other_version: int | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """One household's record against its peers': the `dispute --json` document of
    docs/ruler.md."""
    row = households.load_by_code(c, code)
    if row is None:
        raise NotFound(f"unknown household {code}: check the code, or register it first.")
    timeline = household_rows.known(row.timeline, limit)
    record = record_of(
        row.household, row.group, row.village, timeline, micros(as_of), row.head, row.id_number
    )
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
    peers = peers_of(c, own, record.village, policies, as_of, limit)
    reviews = reviews_of(record, policies)
    verdict = judge(own, peers, policies.all, reviews, found.priced_at)
    current = record.current
    assert current is not None
    agreement = record.agreement
    missed = [i for i in found.policy.incentives if i.name not in own.incentives]
    return {
        "household": record.household,
        "group": record.group,
        "village": record.village,
        "as_of": when(as_of),
        "structures": sorted(own.structures),
        "policy": policy_data(found.policy),
        "valuation": {
            "valuation": current.valuation,
            "reviews": current.reviews,
            "valued_at": step_time(current.at),
            "valued_by": current.actor,
        },
        "priced_at": when(found.priced_at),
        "lines": [line_data(line) for line in found.owed.lines],
        "incentives_not_applied": [
            {
                "name": i.name,
                "amount": format_yuan(i.amount),
                "condition": f"signed by {i.signed_by.isoformat()}",
                "condition_zh": f"{i.signed_by.isoformat()} 前签约",
            }
            for i in missed
        ],
        "entitlement": format_yuan(found.owed.total),
        "building_area_m2": str(own.building_area),
        "entitlement_per_m2": yuan(own.entitlement_per_m2),
        "rates": pricing_data(own)["rates"],
        "agreement": None
        if agreement is None
        else {
            "agreement": agreement.agreement,
            "method": agreement.method,
            "amount": format_yuan(Decimal(agreement.amount)),
            "entitlement": format_yuan(Decimal(agreement.entitlement)),
            "signed_at": step_time(agreement.at),
            "signed_by": agreement.actor,
            "deviation": pricing_data(own)["deviation"],
        },
        # In the order the ledger applied them (a correcting survey may be dated
        # before a valuation recorded earlier).
        "record": [
            step_data(s, policies, found.priced_at)
            for s in sorted(record.steps, key=attrgetter("position"))
        ],
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
            "summary_zh": verdict.summary_zh,
            "findings": [
                {
                    "kind": f.kind,
                    "own": f.own,
                    "text": f.text,
                    "text_zh": f.text_zh,
                    "households": list(f.households),
                }
                for f in verdict.findings
            ],
        },
        "what_if": None if other is None else what_if(found, current.parsed_items(), other),
    }
