"""The identity service on both stores (ledger/identity.py): passwords set as events
with their hash beside them, logins, tokens that expire, idle out and end, lock-out
after failed logins (with an injected clock), and the credentials carried by a copy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.account import Account
from domain.errors import InvalidInput, PermissionDenied
from domain.ids import account_id
from ledger.application import Ledger
from ledger.commands import parse_command
from ledger.copy import copy_ledger
from ledger.identity import Identity, locked_until
from ledger.ingest import ingest
from ledger.session import LockedOut, NotAuthenticated, Session
from ledger.store import open_ledger
from tests.credentials import ADMIN, PASSWORD, session_of

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Clock:
    """The ledger's clock, moved on by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> None:
        self.now += timedelta(**span)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(store_url: str, clock: Clock, sample_lines: list[str]) -> Iterator[Ledger]:
    """The sample programme, its admin's password set by whoever holds the database, and
    s-001's and s-040's by the admin."""
    opened = open_ledger(store_url, clock=clock)
    try:
        assert ingest(opened, sample_lines, ADMIN).rejected == 0
        identity = Identity(opened)
        identity.set_password("admin", PASSWORD, None)
        identity.set_password("s-001", "clerk's own passphrase", ADMIN)
        identity.set_password("s-040", "finance passphrase 40", ADMIN)
        yield opened
    finally:
        opened.close()


def suspend(ledger: Ledger, staff: str, when: str = "2018-03-20T10:00:00+08:00") -> None:
    ledger.execute(
        parse_command(
            {"id": f"suspend-{staff}", "cmd": "suspend_staff", "actor": "admin", "at": when,
             "staff": staff, "reason": "调查期间停职"}
        ),
        ADMIN,
    )  # fmt: skip


# --- passwords ------------------------------------------------------------------------


def test_a_password_set_is_an_event_of_who_set_whose_and_when_without_the_secret(
    ledger: Ledger, clock: Clock
) -> None:
    admin_events = ledger.events_of(account_id("admin"))
    clerk_events = ledger.events_of(account_id("s-001"))
    assert [type(e) for e in admin_events] == [Account.PasswordSet]
    assert (admin_events[0].actor, admin_events[0].entered_by) == ("admin", "admin")
    assert admin_events[0].by_holder is True  # no credential: whoever holds the database
    assert (clerk_events[0].staff, clerk_events[0].actor, clerk_events[0].by_holder) == (
        "s-001",
        "admin",
        False,
    )
    assert clerk_events[0].occurred_at == START
    # The clerk sets her own again: a reset, by herself.
    clock.advance(minutes=5)
    Identity(ledger).set_password("s-001", "a newer passphrase", session_of("s-001"))
    reset = ledger.events_of(account_id("s-001"))[-1]
    assert (type(reset), reset.actor, reset.by_holder) == (Account.PasswordReset, "s-001", False)
    for event in ledger.all_events():
        assert PASSWORD not in repr(vars(event)) and "passphrase" not in repr(vars(event))


def test_the_hash_is_argon2id_with_its_defaults_and_logs_in(ledger: Ledger) -> None:
    recorder = ledger.ledger_recorder
    with recorder.log_transaction(commit=False) as c:
        c.execute("SELECT staff, password_hash FROM staff_credentials ORDER BY staff")
        rows = c.fetchall()
    assert [row[0] for row in rows] == ["admin", "s-001", "s-040"]
    assert all(row[1].startswith("$argon2id$v=19$m=65536,t=3,p=4$") for row in rows)
    token, session = Identity(ledger).login("s-001", "clerk's own passphrase")
    assert (session.staff, session.role) == ("s-001", "clerk")
    assert session.expires_at == START + timedelta(hours=12)
    assert token.startswith("oneruler_") and len(token) >= len("oneruler_") + 43  # 256 bits


@pytest.mark.parametrize(
    ("staff", "by", "error", "message"),
    [
        ("s-002", None, PermissionDenied,
         "without a credential only the built-in admin's password can be set (by whoever "
         "holds the database); log in as admin to set s-002's."),
        ("s-002", "s-001", PermissionDenied,
         "s-001 is clerk staff and may not set another staff member's password; only admin "
         "staff may."),
        ("s-999", "admin", PermissionDenied.__mro__[1],
         "unknown staff s-999: enroll them first."),
        ("s-002", "admin", InvalidInput,
         "the password has 5 characters; give at least 10 (a few words make a long one "
         "that is easy to remember)."),
    ],
)  # fmt: skip
def test_who_may_set_whose_password(
    ledger: Ledger, staff: str, by: str | None, error: type[Exception], message: str
) -> None:
    before = ledger.recorder.max_notification_id()
    password = "short" if error is InvalidInput else "a long enough one"
    with pytest.raises(error) as refusal:
        Identity(ledger).set_password(staff, password, None if by is None else session_of(by))
    assert str(refusal.value) == message
    assert ledger.recorder.max_notification_id() == before


# --- logging in, and locking out --------------------------------------------------------


def test_five_failures_within_15_minutes_lock_the_staff_id_for_15_minutes(
    ledger: Ledger, clock: Clock
) -> None:
    identity = Identity(ledger)
    for _ in range(5):
        with pytest.raises(NotAuthenticated) as wrong:
            identity.login("s-001", "not the password")
        clock.advance(minutes=2)  # the fifth at 09:08
    assert str(wrong.value) == (
        "wrong staff id or password for s-001; check both, or ask an administrator to set "
        "your password (oneruler staff set-password s-001)."
    )
    with pytest.raises(LockedOut) as locked:
        identity.login("s-001", "clerk's own passphrase")  # the right one, refused all the same
    assert str(locked.value) == (
        "too many failed logins for s-001 (5 within 15 minutes): logins for s-001 are "
        "refused until 2026-01-05T17:23:00+08:00; try again then, or ask an administrator "
        "to set a new password."
    )
    clock.advance(minutes=12)  # 09:22: attempts while locked are not counted
    with pytest.raises(LockedOut):
        identity.login("s-001", "clerk's own passphrase")
    clock.advance(minutes=1)  # 09:23: the lock is over
    _, session = identity.login("s-001", "clerk's own passphrase")
    assert session.staff == "s-001"
    # Another staff id was never locked.
    identity.login("s-040", "finance passphrase 40")


def test_failures_spread_over_more_than_15_minutes_do_not_lock(
    ledger: Ledger, clock: Clock
) -> None:
    identity = Identity(ledger)
    for _ in range(8):
        with pytest.raises(NotAuthenticated):
            identity.login("s-001", "not the password")
        clock.advance(minutes=4)
    identity.login("s-001", "clerk's own passphrase")


def test_a_success_clears_the_failures_and_an_unknown_id_locks_like_any(
    ledger: Ledger, clock: Clock
) -> None:
    identity = Identity(ledger)
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            identity.login("s-001", "not the password")
    identity.login("s-001", "clerk's own passphrase")
    with pytest.raises(NotAuthenticated):
        identity.login("s-001", "not the password")  # one failure, not five
    identity.login("s-001", "clerk's own passphrase")
    for _ in range(5):
        with pytest.raises(NotAuthenticated) as unknown:
            identity.login("nobody", "whatever it is")
    assert str(unknown.value).startswith("wrong staff id or password for nobody;")
    with pytest.raises(LockedOut):
        identity.login("nobody", "whatever it is")


def test_the_lock_rule_by_itself() -> None:
    minute = timedelta(minutes=1)
    five = [START + 14 * minute - i * 3 * minute for i in range(5)]  # newest first, 12 min apart
    assert locked_until(five, five[0]) == five[0] + 15 * minute
    assert locked_until(five, five[0] + 15 * minute) is None
    assert locked_until(five[:4], five[0]) is None
    spread = [START + 16 * minute, *five[1:4], START]  # 16 minutes from first to fifth
    assert locked_until(spread, spread[0]) is None


# --- tokens --------------------------------------------------------------------------


def test_a_token_expires_and_a_web_session_ends_when_idle(ledger: Ledger, clock: Clock) -> None:
    identity = Identity(ledger)
    token, _ = identity.login("s-001", "clerk's own passphrase")
    web, _ = identity.login("s-040", "finance passphrase 40", idle=timedelta(minutes=30))
    clock.advance(minutes=29)
    assert identity.authenticate(web).staff == "s-040"
    clock.advance(minutes=29)  # used 29 minutes ago: still good
    assert identity.authenticate(web).role == "finance"
    clock.advance(minutes=31)
    with pytest.raises(NotAuthenticated) as idle:
        identity.authenticate(web)
    assert str(idle.value) == (
        "the session of s-040 ended after 30 minutes without use; log in again "
        "(oneruler login s-040)."
    )
    assert identity.authenticate(token).staff == "s-001"  # no idle timeout
    clock.now = START + timedelta(hours=12)
    with pytest.raises(NotAuthenticated) as expired:
        identity.authenticate(token)
    assert str(expired.value) == (
        "the token of s-001 expired on 2026-01-06T05:00:00+08:00; log in again "
        "(oneruler login s-001)."
    )


def test_a_token_ends_at_logout_suspension_and_a_new_password(ledger: Ledger, clock: Clock) -> None:
    identity = Identity(ledger)
    first, _ = identity.login("s-001", "clerk's own passphrase")
    second, _ = identity.login("s-001", "clerk's own passphrase")
    finance, _ = identity.login("s-040", "finance passphrase 40")
    clock.advance(minutes=1)
    assert identity.logout(first) == "s-001"
    with pytest.raises(NotAuthenticated) as ended:
        identity.authenticate(first)
    assert str(ended.value) == (
        "the token of s-001 was ended on 2026-01-05T17:01:00+08:00 (a logout, a suspension "
        "or a new password); log in again (oneruler login s-001)."
    )
    assert identity.authenticate(second).staff == "s-001"  # another login of hers goes on
    identity.set_password("s-001", "yet another passphrase", ADMIN)
    with pytest.raises(NotAuthenticated):
        identity.authenticate(second)
    suspend(ledger, "s-040")
    with pytest.raises(NotAuthenticated):
        identity.authenticate(finance)
    with pytest.raises(NotAuthenticated) as suspended:
        identity.login("s-040", "finance passphrase 40")
    assert str(suspended.value) == (
        "s-040 is suspended (since 2018-03-20T10:00:00+08:00: 调查期间停职) and may not "
        "log in until reinstated."
    )
    with pytest.raises(NotAuthenticated) as unknown:
        identity.authenticate("oneruler_not-a-token")
    assert str(unknown.value).startswith("the token is not one this ledger issued")


def test_a_suspended_staff_members_token_enters_nothing_even_if_it_was_not_ended(
    ledger: Ledger,
) -> None:
    identity = Identity(ledger)
    token, _ = identity.issue_token("s-001")
    suspend(ledger, "s-001")
    with ledger.ledger_recorder.log_transaction(commit=True) as c:
        c.execute("UPDATE staff_tokens SET revoked_at = NULL")  # as if the ending were lost
    with pytest.raises(NotAuthenticated) as refusal:
        identity.authenticate(token)
    assert str(refusal.value).startswith("s-001 is suspended (since 2018-03-20T10:00:00+08:00")


def test_a_change_made_by_another_process_counts_at_the_next_request(
    ledger: Ledger, store_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The standing an authentication read is kept for the next, but only while the
    staff member's aggregate is at the version it was read at: a new role, or a
    suspension, entered through another process counts at once."""
    identity = Identity(ledger)
    token, _ = identity.issue_token("s-001")
    loads: list[object] = []
    load = ledger.load

    def counted(aggregate_id: Any, **options: Any) -> Any:
        loads.append(aggregate_id)
        return load(aggregate_id, **options)

    monkeypatch.setattr(ledger, "load", counted)
    for _ in range(3):
        assert identity.authenticate(token).role == "clerk"
    assert len(loads) == 1  # kept: the version did not change
    other = open_ledger(store_url, clock=clock)
    try:
        other.execute(
            parse_command(
                {"id": "role-s-001", "cmd": "change_staff_role", "actor": "admin",
                 "at": "2018-03-20T09:00:00+08:00", "staff": "s-001", "role": "finance",
                 "reason": "调任财务"}
            ),
            ADMIN,
        )  # fmt: skip
        assert identity.authenticate(token).role == "finance"
        suspend(other, "s-001")
    finally:
        other.close()
    with ledger.ledger_recorder.log_transaction(commit=True) as c:
        c.execute("UPDATE staff_tokens SET revoked_at = NULL")  # as if the ending were lost
    with pytest.raises(NotAuthenticated) as refusal:
        identity.authenticate(token)
    assert str(refusal.value).startswith("s-001 is suspended (since 2018-03-20T10:00:00+08:00")


def test_a_sessions_last_use_is_noted_once_a_minute(ledger: Ledger, clock: Clock) -> None:
    """A page request does not write the session's last use when it was noted less
    than a minute before: the idle time runs from the use noted."""
    identity = Identity(ledger)
    web, _ = identity.login("s-040", "finance passphrase 40", idle=timedelta(minutes=30))
    clock.advance(seconds=59)
    assert identity.authenticate(web).staff == "s-040"  # not noted: 59 s after the login
    clock.advance(minutes=29, seconds=2)  # 30 min 1 s after the use noted
    with pytest.raises(NotAuthenticated, match="ended after 30 minutes without use"):
        identity.authenticate(web)

    again, _ = identity.login("s-040", "finance passphrase 40", idle=timedelta(minutes=30))
    clock.advance(minutes=1)
    assert identity.authenticate(again).staff == "s-040"  # noted: a minute on
    clock.advance(minutes=29, seconds=59)
    assert identity.authenticate(again).staff == "s-040"

    # A timeout shorter than half an hour: noted every thirtieth of it (here 1 s).
    short, _ = identity.login("s-040", "finance passphrase 40", idle=timedelta(seconds=30))
    for _ in range(4):
        clock.advance(seconds=20)
        assert identity.authenticate(short).staff == "s-040"


# --- a copy ---------------------------------------------------------------------------


def test_a_copy_carries_the_credentials_and_tokens(
    ledger: Ledger, store_url: str, tmp_path: Path, clock: Clock
) -> None:
    identity = Identity(ledger)
    token, _ = identity.login("s-001", "clerk's own passphrase")
    ledger.close()
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    copy_ledger(store_url, target, clock=clock)
    copied = open_ledger(target, clock=clock)
    try:
        there = Identity(copied)
        assert there.authenticate(token).staff == "s-001"
        assert there.login("s-040", "finance passphrase 40")[1].role == "finance"
    finally:
        copied.close()


def test_a_session_is_only_what_the_service_says(ledger: Ledger) -> None:
    assert Identity(ledger).check_password("admin", PASSWORD) == Session("admin", "admin")
