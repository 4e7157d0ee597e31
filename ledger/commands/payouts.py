"""Compensation payouts, requested against a signed agreement and confirmed by
finance: each command declared next to its use case."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from uuid import UUID

from domain.base import Stamp
from domain.errors import AlreadyExists
from domain.ids import bank_reference_id, household_id, payout_id
from domain.payout import BankReferenceIndex, PayoutIndex
from domain.roles import Permission
from ledger.commands.declaration import amount, code, command, handles
from ledger.commands.unit_of_work import UnitOfWork


@command(
    "request_payout",
    "payout request",
    may=Permission("request a payout", ("clerk",), own_group=True),
)
class RequestPayout:
    """Request a payout against a signed agreement and a complete file."""

    payout: str = code("The payout's id.", refers=payout_id)
    household: str = code("The household code.", refers=household_id)
    amount: Decimal = amount("The amount, such as 356800.00.", positive=True)


@handles(RequestPayout)
def request_payout(uow: UnitOfWork, stamp: Stamp, cmd: RequestPayout) -> None:
    household = uow.household(cmd.household)
    uow.check_may(stamp, cmd, household.group)
    household.check_agreement_in_force()
    uow.check_absent(payout_id(cmd.payout), f"payout {cmd.payout} already exists; use a new id.")
    policy = uow.household_policy(household)
    household.request_payout(
        stamp,
        cmd.payout,
        cmd.amount,
        policy.required_documents,
        uow.open_complaints(household, stamp.at),
        policy.block_payout_on_open_complaint,
    )
    uow.add(PayoutIndex.index(stamp, cmd.payout, household.code))


def _household_of_payout(body: ConfirmPayout, known: Callable[[UUID], object]) -> Iterable[UUID]:
    # A confirmation names only the payout; its household is found through the index.
    index = known(payout_id(body.payout))
    return (household_id(index.household),) if isinstance(index, PayoutIndex) else ()


@command(
    "confirm_payout",
    "payout confirm",
    may=Permission("confirm a payout", ("finance",)),
    then_reads=_household_of_payout,
)
class ConfirmPayout:
    """Confirm a payout (finance; never the requester)."""

    payout: str = code("The payout's id.", refers=payout_id)
    bank_reference: str = code(
        "The bank's reference for the transfer (one transfer, one payout).",
        refers=bank_reference_id,
    )


@handles(ConfirmPayout)
def confirm_payout(uow: UnitOfWork, stamp: Stamp, cmd: ConfirmPayout) -> None:
    uow.check_may(stamp, cmd)
    index = uow.get(
        PayoutIndex, payout_id(cmd.payout), f"unknown payout {cmd.payout}: request it first."
    )
    household = uow.household(index.household)
    reference = bank_reference_id(cmd.bank_reference)
    known = uow.exists(reference)
    used = uow.get(BankReferenceIndex, reference, "no index") if known else None
    if used is not None and used.payout != cmd.payout:  # the same payout: said below
        raise AlreadyExists(
            f"bank reference {cmd.bank_reference} already confirmed payout {used.payout}; "
            "a transfer confirms one payout: check the reference on the bank slip."
        )
    policy = uow.household_policy(household)
    household.confirm_payout(
        stamp,
        cmd.payout,
        cmd.bank_reference,
        policy.required_documents,
        uow.open_complaints(household, stamp.at),
        policy.block_payout_on_open_complaint,
    )
    uow.add(BankReferenceIndex.index(stamp, cmd.bank_reference, cmd.payout))
