"""The one hierarchy of errors by which the domain refuses a command."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the command. The message is one sentence for the user:
    what was wrong and what to do."""


class InvalidInput(DomainError):
    """A field is missing, malformed or out of range (bad usage: exit 2)."""


class NotFound(DomainError):
    """The command names a household, staff member, group, policy or record
    that the ledger does not hold."""


class AlreadyExists(DomainError):
    """The command would create something the ledger already holds."""


class PermissionDenied(DomainError):
    """The actor's role or group does not allow the command."""


class RuleViolation(DomainError):
    """The command breaks a rule of the programme (order, amounts, file, ...)."""
