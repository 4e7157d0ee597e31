"""How a refusal reaches a person or a program: one HTTP status per kind of error
(specs/web.md) and one sentence, as JSON under /api/ and as a page elsewhere. Never a
traceback, never a secret."""

from __future__ import annotations

import logging

from domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from ledger.environment import StoreProblem
from ledger.session import LockedOut, NotAuthenticated

log = logging.getLogger("uvicorn.error")

UNEXPECTED = (
    "the server failed unexpectedly and nothing was changed by this request; "
    "try again, and tell the office's administrator if it happens again."
)


class HTTPRefusal(DomainError):
    """A refusal of the web layer itself (a missing form field, a cross-site post),
    with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def status_of(error: DomainError) -> int:
    """400 bad input, 401 no valid credential, 403 not allowed, 404 unknown, 409 a rule
    of the ledger refused it (or an id reused), 429 too many failed logins, 503 the
    store failed."""
    if isinstance(error, HTTPRefusal):
        return error.status
    if isinstance(error, LockedOut):
        return 429
    if isinstance(error, NotAuthenticated):
        return 401
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, StoreProblem):
        return 503
    if isinstance(error, AlreadyExists | RuleViolation):
        return 409
    return 409


def sentence(error: BaseException) -> str:
    """The refusal's own sentence: its first line, as the command line prints it."""
    text = str(error).strip()
    return text.splitlines()[0] if text else UNEXPECTED
