"""The identity service: who is entering commands, proven. Passwords checked against
their Argon2id hashes, access tokens issued, checked, ended; failed logins counted and
a staff id locked out after too many; passwords set (an Account event, the hash beside
it). The command line uses it now and the web application next: a web session is a
token too, with an idle timeout. Its tables are ledger/identity_tables.py's."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.account import Account, check_password_rules
from domain.base import Recorded, Stamp
from domain.errors import PermissionDenied
from domain.ids import account_id, staff_id
from domain.programme import Staff
from domain.roles import BUILTIN_ADMIN, Permission
from domain.values import LEDGER_TZ, parse_code
from ledger.application import Ledger
from ledger.commands import UnitOfWork
from ledger.environment import StoreProblem, causes
from ledger.identity_tables import CREDENTIALS, FAILURES, TOKENS, moment, read_moment
from ledger.log.store import Cursor
from ledger.session import LockedOut, NotAuthenticated, Session, WrongPassword

TOKEN_LIFETIME = timedelta(hours=12)
# Five failed logins for one staff id within 15 minutes refuse further attempts for 15
# minutes, wherever they come from (the command line or the web).
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKED_FOR = timedelta(minutes=15)
# A session's last use is written when it is this much older than the request (not on
# every request, which would make every page a write), or a thirtieth of the idle
# timeout if that is shorter: an idle session so ends between idle minus this and
# idle after its last request.
NOTED_EVERY = timedelta(minutes=1)
# A token: the prefix (so that a secret scanner knows one when it sees it) and 32
# random bytes, 256 bits. Only its SHA-256 is stored: a copy of the database holds no
# token that works.
TOKEN_PREFIX = "oneruler_"
_TOKEN_BYTES = 32

# Argon2id with the library's defaults (RFC 9106's second recommended option: 64 MiB,
# 3 passes, 4 lanes): about a tenth of a second a guess on the office's machines.
_HASHER = PasswordHasher()
# Checked against when a staff id has no password, so that a login for an unknown id
# takes as long as one for a known id and tells nothing by its time.
_NOBODY = (
    "$argon2id$v=19$m=65536,t=3,p=4$GrGIdXRCDmwN4U7fjA1PEA"
    "$kVM80sdPLlTCV5p1dsLVV+6cm3kE2Hn3eDpeSeF/N90"
)

SET_PASSWORD = Permission("set another staff member's password", ("admin",))


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _shown(at: datetime) -> str:
    return at.astimezone(LEDGER_TZ).isoformat(timespec="seconds")


def _login_again(staff: str) -> str:
    return f"log in again (oneruler login {staff})"


class Identity:
    """The identity service of one open ledger; its clock is the ledger's."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.recorder = ledger.ledger_recorder
        self.dialect = self.recorder.log.dialect
        # Each staff member's aggregate as last loaded (see _role_now): a few hundred
        # staff at most.
        self._standing: dict[str, Staff] = {}

    # --- logging in -------------------------------------------------------------

    def login(
        self,
        staff: str,
        password: str,
        *,
        lifetime: timedelta = TOKEN_LIFETIME,
        idle: timedelta | None = None,
    ) -> tuple[str, Session]:
        """Check the password and issue a token (shown once, stored only as its
        hash) that ends after lifetime, or after idle without use (a web session)."""
        session = self.check_password(staff, password)
        token, expires_at = self.issue_token(session.staff, lifetime=lifetime, idle=idle)
        return token, Session(session.staff, session.role, expires_at)

    def check_password(self, staff: str, password: str) -> Session:
        """The staff member, if the password is theirs; a failure is counted, and
        MAX_FAILURES within FAILURE_WINDOW lock the staff id out for LOCKED_FOR."""
        staff = parse_code(staff, "staff")
        now = self.ledger.clock()
        with self._reading() as c:
            c.execute(
                self.dialect.sql(
                    f"SELECT at FROM {FAILURES} WHERE staff = ? ORDER BY at DESC LIMIT ?"
                ),
                [staff, MAX_FAILURES],
            )
            failures = [read_moment(row[0]) for row in c.fetchall()]
            c.execute(
                self.dialect.sql(f"SELECT password_hash FROM {CREDENTIALS} WHERE staff = ?"),
                [staff],
            )
            row = c.fetchone()
        until = locked_until(failures, now)
        if until is not None:
            raise LockedOut(
                f"too many failed logins for {staff} ({MAX_FAILURES} within "
                f"{_minutes(FAILURE_WINDOW)} minutes): logins for {staff} are refused until "
                f"{_shown(until)}; try again then, or ask an administrator to set a new "
                "password."
            )
        stored = row[0] if row is not None else None
        if not _verifies(stored or _NOBODY, password) or stored is None:
            self._failed(staff, now)
            raise WrongPassword(
                f"wrong staff id or password for {staff}; check both, or ask an "
                f"administrator to set your password (oneruler staff set-password {staff})."
            )
        role = self._role_now(staff, "log in")
        if failures or _HASHER.check_needs_rehash(stored):
            with self._writing() as c:
                c.execute(self.dialect.sql(f"DELETE FROM {FAILURES} WHERE staff = ?"), [staff])
                if _HASHER.check_needs_rehash(stored):
                    # Stored with weaker parameters than today's: stronger from now on.
                    c.execute(
                        self.dialect.sql(
                            f"UPDATE {CREDENTIALS} SET password_hash = ? WHERE staff = ?"
                        ),
                        [_HASHER.hash(password), staff],
                    )
        return Session(staff, role)

    def issue_token(
        self, staff: str, *, lifetime: timedelta = TOKEN_LIFETIME, idle: timedelta | None = None
    ) -> tuple[str, datetime]:
        """A new token, and when it expires, for a staff member whose identity is
        proven (login checks the password first; a program that holds the database,
        such as a test, may issue one itself, as it could write the table)."""
        now = self.ledger.clock()
        token = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
        with self._writing() as c:
            c.execute(
                self.dialect.sql(
                    f"INSERT INTO {TOKENS} (digest, staff, issued_at, expires_at, idle_seconds, "
                    "last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)"
                ),
                [
                    token_digest(token),
                    staff,
                    moment(now),
                    moment(now + lifetime),
                    None if idle is None else int(idle.total_seconds()),
                    moment(now),
                ],
            )
        return token, now + lifetime

    def _failed(self, staff: str, now: datetime) -> None:
        with self._writing() as c:
            # Only the failures that can still count are kept.
            c.execute(
                self.dialect.sql(f"DELETE FROM {FAILURES} WHERE staff = ? AND at < ?"),
                [staff, moment(now - FAILURE_WINDOW - LOCKED_FOR)],
            )
            c.execute(
                self.dialect.sql(f"INSERT INTO {FAILURES} (staff, at) VALUES (?, ?)"),
                [staff, moment(now)],
            )

    # --- tokens -------------------------------------------------------------------

    def authenticate(self, token: str) -> Session:
        """The staff member a token was issued to, if it is still good: not ended
        (logout, suspension, new password), not expired, not idle too long; and the
        staff member may still enter commands (not suspended)."""
        now = self.ledger.clock()
        digest = token_digest(token.strip())
        with self._tables(), self.recorder.log_reads() as c:
            c.execute(
                self.dialect.sql(
                    f"SELECT staff, expires_at, idle_seconds, last_used_at, revoked_at "
                    f"FROM {TOKENS} WHERE digest = ?"
                ),
                [digest],
            )
            row = c.fetchone()
            version = self._version(c, row[0]) if row is not None else None
        if row is None:
            raise NotAuthenticated(
                "the token is not one this ledger issued (mistyped, or from another "
                "ledger); log in (oneruler login STAFF) and give the token it prints."
            )
        staff, expires_text, idle_seconds, last_used_text, revoked_text = row
        if revoked_text is not None:
            # Ended by a suspension: logging in again would not help; say so first.
            self._role_now(staff, "enter commands", version)
            raise NotAuthenticated(
                f"the token of {staff} was ended on {_shown(read_moment(revoked_text))} (a "
                f"logout, a suspension or a new password); {_login_again(staff)}."
            )
        expires_at = read_moment(expires_text)
        if now >= expires_at:
            raise NotAuthenticated(
                f"the token of {staff} expired on {_shown(expires_at)}; {_login_again(staff)}."
            )
        if idle_seconds is not None and now - read_moment(last_used_text) > timedelta(
            seconds=idle_seconds
        ):
            raise NotAuthenticated(
                f"the session of {staff} ended after {idle_seconds // 60} minutes without use; "
                f"{_login_again(staff)}."
            )
        role = self._role_now(staff, "enter commands", version)
        if idle_seconds is not None and now - read_moment(last_used_text) >= min(
            NOTED_EVERY, timedelta(seconds=idle_seconds) / 30
        ):
            with self._writing() as c:
                c.execute(
                    self.dialect.sql(f"UPDATE {TOKENS} SET last_used_at = ? WHERE digest = ?"),
                    [moment(now), digest],
                )
        return Session(staff, role, expires_at)

    def logout(self, token: str) -> str:
        """End a token; return whose it was."""
        now = self.ledger.clock()
        digest = token_digest(token.strip())
        with self._writing() as c:
            c.execute(self.dialect.sql(f"SELECT staff FROM {TOKENS} WHERE digest = ?"), [digest])
            row = c.fetchone()
            if row is None:
                raise NotAuthenticated(
                    "the token is not one this ledger issued (mistyped, or from another "
                    "ledger); there is nothing to log out of."
                )
            c.execute(
                self.dialect.sql(
                    f"UPDATE {TOKENS} SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL"
                ),
                [moment(now), digest],
            )
        staff: str = row[0]
        return staff

    def _version(self, c: Cursor, staff: str) -> int | None:
        """The stored version of a staff member's aggregate (None: no such aggregate,
        or the built-in admin, who has none)."""
        if staff == BUILTIN_ADMIN:
            return None
        d = self.dialect
        c.execute(
            d.sql(f"SELECT MAX(originator_version) FROM {d.events_table} WHERE originator_id = ?"),
            [d.originator_param(staff_id(staff))],
        )
        found = c.fetchone()
        return None if found is None or found[0] is None else int(found[0])

    def _role_now(self, staff: str, to_do: str, version: int | None = None) -> str:
        """The staff member's role now; a suspended one (or one no longer known) is
        refused whatever credential they hold. version: their aggregate's stored
        version, read just now; the standing kept from an earlier request is used
        only if it was read at that same version (any change to a staff member, a
        suspension above all, is a new event, and so a new version)."""
        if staff == BUILTIN_ADMIN:
            return BUILTIN_ADMIN
        kept = self._standing.get(staff)
        if kept is not None and version is not None and kept.version == version:
            member: Any = kept
        else:
            member = self.ledger.load(staff_id(staff), fresh=True)
        if not isinstance(member, Staff):
            raise NotAuthenticated(f"{staff} is not enrolled in this ledger and may not {to_do}.")
        self._standing[staff] = member
        standing = member.current
        if standing.suspended is not None:
            raise NotAuthenticated(
                f"{staff} is suspended (since {standing.since.isoformat()}: "
                f"{standing.suspended}) and may not {to_do} until reinstated."
            )
        return standing.role

    # --- passwords -----------------------------------------------------------------

    def set_password(self, staff: str, password: str, by: Session | None) -> list[Recorded]:
        """Set (or reset) a staff member's password, and record who did, when: an
        Account event, with the new hash stored beside it in the same transaction;
        the staff member's tokens end. by: who is logged in (an administrator, or the
        staff member themselves); None: whoever holds the database, who may set the
        built-in admin's password only (the first, or a forgotten one)."""
        staff = parse_code(staff, "staff")
        check_password_rules(staff, password)
        now = self.ledger.clock()
        uow = UnitOfWork(self.ledger)
        setter = BUILTIN_ADMIN if by is None else by.staff
        stamp = Stamp(setter, now, f"password-{uuid4().hex}", now, setter)

        def use_case() -> None:
            if by is None and staff != BUILTIN_ADMIN:
                raise PermissionDenied(
                    f"without a credential only the built-in admin's password can be set (by "
                    f"whoever holds the database); log in as admin to set {staff}'s."
                )
            uow.check_may_enter(setter)
            if setter != staff:
                uow.actor(setter, now).check_may(SET_PASSWORD)
            if staff != BUILTIN_ADMIN:
                uow.get(Staff, staff_id(staff), f"unknown staff {staff}: enroll them first.")
            if uow.exists(account_id(staff)):
                account = uow.get(Account, account_id(staff), f"unknown account {staff}.")
                account.reset(stamp, by_holder=by is None)
            else:
                uow.add(Account.set_first(stamp, staff, by_holder=by is None))

        uow.stage(stamp.command, None, use_case)
        uow.credentials.append((staff, _HASHER.hash(password)))
        uow.revoke_tokens(staff)
        self.ledger.commit(uow)
        return uow.events

    def has_password(self, staff: str) -> bool:
        with self._reading() as c:
            c.execute(self.dialect.sql(f"SELECT 1 FROM {CREDENTIALS} WHERE staff = ?"), [staff])
            return c.fetchone() is not None

    # --- transactions ------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Cursor]:
        with self._tables(), self.recorder.log_transaction(commit=False) as c:
            yield c

    @contextmanager
    def _writing(self) -> Iterator[Cursor]:
        with self._tables(), self.recorder.log_transaction(commit=True) as c:
            yield c

    @contextmanager
    def _tables(self) -> Iterator[None]:
        """A ledger of an earlier format that was not yet opened where it could be
        written has no credentials' tables: one sentence, not a missing table."""
        try:
            yield
        except Exception as e:
            if _no_table(e):
                raise StoreProblem(
                    "this ledger was made by an earlier oneruler and has no staff credentials "
                    "yet: open it once where it can be written (any command does), as a user "
                    "that may create tables, and then log in."
                ) from None
            raise


def locked_until(failures: list[datetime], now: datetime) -> datetime | None:
    """Until when logins are refused, given a staff id's latest failures (newest
    first, at most MAX_FAILURES): MAX_FAILURES within FAILURE_WINDOW lock it for
    LOCKED_FOR from the last; None: not locked. Attempts refused while locked are not
    counted, so the lock ends when it said it would."""
    if len(failures) < MAX_FAILURES or failures[0] - failures[-1] > FAILURE_WINDOW:
        return None
    until = failures[0] + LOCKED_FOR
    return until if now < until else None


def _verifies(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds()) // 60


def _no_table(error: BaseException) -> bool:
    tables = (CREDENTIALS, TOKENS, FAILURES)
    for cause in causes(error):
        if isinstance(cause, sqlite3.OperationalError) and "no such table" in str(cause):
            return any(table in str(cause) for table in tables)
        psycopg: Any = sys.modules.get("psycopg")
        if psycopg is not None and isinstance(cause, psycopg.errors.UndefinedTable):
            return any(table in str(cause) for table in tables)
    return False
