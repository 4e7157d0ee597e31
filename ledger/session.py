"""Who is entering commands: a staff member whose credential the identity service
(ledger/identity.py) has checked. Every command runs for one (Ledger.execute, ingest),
and every event it records names them as entered_by. With the refusals of a
credential, here so that presentation knows them without loading the hashing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import DomainError


@dataclass(frozen=True)
class Session:
    """staff: who logged in; role: their role when they did; expires_at: when the
    token ends (None: a password checked for one command)."""

    staff: str
    role: str
    expires_at: datetime | None = None


class NotAuthenticated(DomainError):
    """No valid credential: no token, or one unknown, expired or ended, or a wrong
    password (exit 2 on the command line, 401 on the web)."""


class WrongPassword(NotAuthenticated):
    """The staff id is unknown or the password not theirs (and the failure counted)."""


class LockedOut(DomainError):
    """Too many failed logins for a staff id (exit 1, 429 on the web)."""
