"""Who sees a household's full ID number and address (specs/web.md): the admin,
supervisors, and the clerks of the household's own group. Everyone else sees them
masked as `report disclosure` masks them, in pages, JSON and exports alike: every
document that may hold them passes through `masked` before it is shown."""

from __future__ import annotations

import re
from typing import Any

from domain.ruler import mask_id_number
from ledger.session import Session

SEE_ALL = frozenset({"admin", "supervisor"})
# The keys, at any depth, whose values are private to those who may see them.
ID_KEYS = frozenset({"id_number"})
ADDRESS_KEYS = frozenset({"address"})
SHOWN_ADDRESS = 3
# An ID number as typed into a search (18 characters, the last a digit or X; 15 for the
# old cards): not echoed back into a page, where a screen or a screenshot would keep it.
ID_NUMBER = re.compile(r"[0-9]{15}|[0-9]{17}[0-9Xx]")


def mask_address(address: str) -> str:
    """The first characters (the town), the rest starred: 兴城镇一村1号 → 兴城镇****."""
    text = address.strip()
    return text[:SHOWN_ADDRESS] + "*" * max(len(text) - SHOWN_ADDRESS, 0)


def may_see(session: Session | None, staff_group: str | None, household_group: str | None) -> bool:
    """Whether this staff member sees this household's full ID number and address."""
    if session is None:
        return False
    if session.role in SEE_ALL:
        return True
    return session.role == "clerk" and staff_group is not None and staff_group == household_group


def masked(document: Any, see: bool) -> Any:
    """The document as this viewer may see it (unchanged if they may see it all)."""
    if see:
        return document
    if isinstance(document, dict):
        out: dict[str, Any] = {}
        for key, value in document.items():
            if key in ID_KEYS and isinstance(value, str):
                out[key] = mask_id_number(value)
            elif key in ADDRESS_KEYS and isinstance(value, str):
                out[key] = mask_address(value)
            else:
                out[key] = masked(value, see)
        return out
    if isinstance(document, list):
        return [masked(value, see) for value in document]
    return document
