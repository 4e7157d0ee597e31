"""What pages and the API share about reading: the as-of moment asked for, and
whether the viewer sees a household's private fields (web/masking.py)."""

from __future__ import annotations

from datetime import datetime

from domain.values import LEDGER_TZ, parse_as_of
from ledger.reads import Reads
from ledger.session import Session
from web.masking import SEE_ALL, may_see


def as_of(value: str | None, reads: Reads) -> datetime:
    """A business time as the command line's --as-of reads it; none: now."""
    if not value:
        return reads.now().astimezone(LEDGER_TZ)
    return parse_as_of(value, LEDGER_TZ)


def sees_household(reads: Reads, session: Session | None, household_group: str | None) -> bool:
    """Whether the viewer sees this household's full ID number and address."""
    if session is None:
        return False
    if session.role in SEE_ALL:
        return True
    if session.role != "clerk":
        return False
    return may_see(session, reads.staff_group(session.staff), household_group)


def group_of(reads: Reads, household: str) -> str | None:
    """The household's group now (NotFound if the ledger has no such household)."""
    group: str | None = reads.household(household, reads.now())["group"]
    return group
