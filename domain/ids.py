"""Aggregate ids derived from the programme's own codes, so that a code names
exactly one aggregate and creating it twice conflicts in the store."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

_NAMESPACE = UUID("6f0b7a52-2a4e-4d1c-9a53-0e8d3f1c2b71")


@lru_cache(maxsize=65_536)  # a pure function, asked for the same codes again and again
def _id(kind: str, code: str) -> UUID:
    return uuid5(_NAMESPACE, f"{kind}:{code}")


def household_id(code: str) -> UUID:
    return _id("household", code)


def staff_id(code: str) -> UUID:
    return _id("staff", code)


def group_id(code: str) -> UUID:
    return _id("group", code)


def policy_id(code: str) -> UUID:
    return _id("policy", code)


def complaint_id(code: str) -> UUID:
    return _id("complaint", code)


def payout_id(code: str) -> UUID:
    return _id("payout", code)


def account_id(code: str) -> UUID:
    return _id("account", code)


def register_id() -> UUID:
    """The one register of the programme (domain/register.py)."""
    return _id("register", "programme")


def bank_reference_id(reference: str) -> UUID:
    return _id("bank_reference", reference)
