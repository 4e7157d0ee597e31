"""A staff member's login account: when their password was set, and by whom. The
password and its hash never enter an event; they are the identity service's
(ledger/identity.py), kept in a table of their own beside the events."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from domain.base import Recorded, Stamp
from domain.errors import InvalidInput
from domain.ids import account_id

MIN_PASSWORD_LENGTH = 10

# The 20 most common passwords of SplashData's yearly list (2019), refused whatever
# their length: most are shorter than MIN_PASSWORD_LENGTH anyway, but not all
# (qwertyuiop), and a rule of its own says why plainly.
COMMON_PASSWORDS = frozenset(
    (
        *("123456", "123456789", "qwerty", "password", "1234567", "12345678", "12345"),
        *("iloveyou", "111111", "123123", "abc123", "qwerty123", "1q2w3e4r", "admin"),
        *("qwertyuiop", "654321", "555555", "lovely", "7777777", "welcome"),
    )
)


def check_password_rules(staff: str, password: str) -> None:
    """A new password: long enough, not one of the commonest, not the staff id."""
    if password.strip().casefold() in COMMON_PASSWORDS:
        raise InvalidInput(
            "that password is one of the most common ones, which are tried first; choose another."
        )
    if password.strip().casefold() == staff.casefold():
        raise InvalidInput(f"the password may not be the staff id {staff}; choose another.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password has {len(password)} characters; give at least "
            f"{MIN_PASSWORD_LENGTH} (a few words make a long one that is easy to remember)."
        )


class Account(Aggregate):
    """Who set a staff member's password, and when: the first time (PasswordSet) and
    every time after (PasswordReset). The built-in admin's password may be set by
    whoever holds the database, without a credential (by_holder): the ledger's root
    of trust (docs/security.md)."""

    TOPIC = "oneruler:Account"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class PasswordSet(Event, Aggregate.Created):
        TOPIC = "oneruler:Account.PasswordSet"
        staff: str
        by_holder: bool

    Created = PasswordSet

    class PasswordReset(Event):
        TOPIC = "oneruler:Account.PasswordReset"
        by_holder: bool

    def __init__(self, staff: str) -> None:
        self.staff = staff

    @classmethod
    def set_first(cls, stamp: Stamp, staff: str, *, by_holder: bool) -> Account:
        return cls._create(
            cls.PasswordSet,
            id=account_id(staff),
            staff=staff,
            by_holder=by_holder,
            **stamp.fields(),
        )

    def reset(self, stamp: Stamp, *, by_holder: bool) -> None:
        self.trigger_event(self.PasswordReset, by_holder=by_holder, **stamp.fields())
