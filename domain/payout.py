"""The index from a payout's id to its household: payout ids are unique in the
ledger (the store refuses a second index of the same id), and confirming a payout
names only the payout."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from domain.base import Recorded, Stamp
from domain.ids import bank_reference_id, payout_id


class PayoutIndex(Aggregate):
    TOPIC = "oneruler:PayoutIndex"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class Indexed(Event, Aggregate.Created):
        TOPIC = "oneruler:PayoutIndex.Indexed"
        payout: str
        household: str

    Created = Indexed

    def __init__(self, payout: str, household: str) -> None:
        self.payout = payout
        self.household = household

    @classmethod
    def index(cls, stamp: Stamp, payout: str, household: str) -> PayoutIndex:
        return cls._create(
            cls.Indexed, id=payout_id(payout), payout=payout, household=household, **stamp.fields()
        )


class BankReferenceIndex(Aggregate):
    """The index from a bank's reference for a transfer to the payout it confirmed:
    a reference confirms one payout (the store refuses a second index of it)."""

    TOPIC = "oneruler:BankReferenceIndex"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class Indexed(Event, Aggregate.Created):
        TOPIC = "oneruler:BankReferenceIndex.Indexed"
        bank_reference: str
        payout: str

    Created = Indexed

    def __init__(self, bank_reference: str, payout: str) -> None:
        self.bank_reference = bank_reference
        self.payout = payout

    @classmethod
    def index(cls, stamp: Stamp, bank_reference: str, payout: str) -> BankReferenceIndex:
        return cls._create(
            cls.Indexed,
            id=bank_reference_id(bank_reference),
            bank_reference=bank_reference,
            payout=payout,
            **stamp.fields(),
        )
