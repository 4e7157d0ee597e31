"""A household's state and history as of a business time, folded from its events
(and those of the complaints attached to it) in business-time order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.base import Recorded
from domain.complaint import Complaint
from domain.household import Household
from domain.policy import Item, PolicyVersion, entitlement
from domain.values import ZERO, format_yuan

PolicyLookup = Callable[[str, int], PolicyVersion]

_STANDARD = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "occurred_at",
        "command",
    }
)

STATUSES = ("registered", "surveyed", "valued", "signed", "paid")


def event_type(event: Recorded) -> str:
    """The stored name of an event, such as Household.AgreementSigned."""
    return str(type(event).TOPIC).partition(":")[2]


def plain(value: Any) -> Any:
    """An event's field as JSON-ready data (yuan and quantities as strings)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def event_data(event: Recorded) -> dict[str, Any]:
    return {k: plain(v) for k, v in vars(event).items() if k not in _STANDARD}


def in_business_order(events: Iterable[Recorded], as_of: datetime | None) -> list[Recorded]:
    """Events up to as_of, ordered by when they happened; events that happened at
    the same moment keep the order in which the ledger recorded them."""
    kept = [e for e in events if as_of is None or e.occurred_at <= as_of]
    return sorted(kept, key=lambda e: e.occurred_at)  # sorted() is stable


@dataclass
class _Valuation:
    valuation: str
    policy: str
    policy_version: int
    items: tuple[Item, ...]


@dataclass
class HouseholdState:
    household: str
    group: str
    village: str
    head: str
    surveyed: bool = False
    valuation: _Valuation | None = None
    agreement: Household.AgreementSigned | None = None
    documents: set[str] = field(default_factory=set)
    requested: dict[str, Decimal] = field(default_factory=dict)
    confirmed: dict[str, Decimal] = field(default_factory=dict)
    vacated: bool = False
    open_complaints: set[UUID] = field(default_factory=set)
    events: int = 0

    @property
    def paid(self) -> Decimal:
        return sum(self.confirmed.values(), ZERO)

    @property
    def status(self) -> str:
        if self.agreement is not None:
            if self.paid >= self.agreement.amount and self.confirmed:
                return "paid"
            return "signed"
        if self.valuation is not None:
            return "valued"
        return "surveyed" if self.surveyed else "registered"


def fold(
    household: Sequence[Recorded], attached: Sequence[Recorded], as_of: datetime | None
) -> HouseholdState | None:
    """The state of one household as of a business time (None: not yet registered)."""
    state: HouseholdState | None = None
    for event in in_business_order([*household, *attached], as_of):
        if isinstance(event, Household.Registered):
            state = HouseholdState(event.household, event.group, event.village, event.head)
        if state is None:
            continue
        state.events += 1
        apply(state, event)
    return state


def apply(state: HouseholdState, event: Recorded) -> None:
    if isinstance(event, Household.Surveyed):
        state.surveyed = True
    elif isinstance(event, Household.Valued):
        items = tuple(Item.from_data(item) for item in event.items)
        state.valuation = _Valuation(event.valuation, event.policy, event.policy_version, items)
    elif isinstance(event, Household.AgreementSigned):
        state.agreement = event
    elif isinstance(event, Household.AgreementVoided):
        state.agreement = None
    elif isinstance(event, Household.DocumentAttached):
        state.documents.add(event.kind)
    elif isinstance(event, Household.PayoutRequested):
        state.requested[event.payout] = event.amount
    elif isinstance(event, Household.PayoutConfirmed):
        state.confirmed[event.payout] = state.requested.get(event.payout, ZERO)
    elif isinstance(event, Household.Vacated):
        state.vacated = True
    elif isinstance(event, Complaint.Filed | Complaint.Reopened):
        state.open_complaints.add(event.originator_id)
    elif isinstance(event, Complaint.Resolved):
        state.open_complaints.discard(event.originator_id)


def show(
    state: HouseholdState,
    policies: PolicyLookup,
    as_of: datetime,
    fallback_required: Sequence[str] | None,
) -> dict[str, Any]:
    """The `household show --json` document of specs/cli.md."""
    owed: Decimal | None = None
    required: Sequence[str] | None = fallback_required
    if state.valuation is not None:
        policy = policies(state.valuation.policy, state.valuation.policy_version)
        required = policy.required_documents
        if state.agreement is not None:
            owed = state.agreement.entitlement
        else:
            owed = entitlement(state.valuation.items, policy, as_of).total
    missing = [kind for kind in (required or ()) if kind not in state.documents]
    return {
        "household": state.household,
        "group": state.group,
        "village": state.village,
        "status": state.status,
        "entitlement": format_yuan(owed) if owed is not None else None,
        "agreed": format_yuan(state.agreement.amount) if state.agreement is not None else None,
        "paid": format_yuan(state.paid),
        "file_complete": required is not None and not missing,
        "missing_documents": missing,
        "vacated": state.vacated,
        "open_complaints": len(state.open_complaints),
        "events": state.events,
    }


def history(
    household: Sequence[Recorded], attached: Sequence[Recorded], as_of: datetime | None
) -> list[dict[str, Any]]:
    """Every event of the household and of its complaints, in business-time order."""
    rows = []
    for event in in_business_order([*household, *attached], as_of):
        rows.append(
            {
                "type": event_type(event),
                "version": event.originator_version,
                "occurred_at": event.occurred_at.isoformat(),
                "recorded_at": event.recorded_at.isoformat(),
                "actor": event.actor,
                "command": event.command,
                "data": event_data(event),
            }
        )
    return rows
