"""`oneruler login`, `logout` and `staff set-password`: credentials (specs/identity.md)."""

from __future__ import annotations

from pathlib import Path

import click

from cli.credentials import HOW_TO_LOG_IN, given_token, on_terminal, read_password
from cli.options import (
    BadInput,
    db_option,
    json_option,
    ledger_at,
    print_json,
    token_file_option,
    translate_errors,
)
from domain.roles import BUILTIN_ADMIN
from domain.values import LEDGER_TZ, parse_code
from ledger.commands.outcome import command_outcome
from ledger.identity import Identity
from ledger.session import NotAuthenticated, Session

password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (one line) instead of the terminal.",
)


@click.command("login")
@click.argument("staff", metavar="STAFF")
@password_stdin_option
@json_option
@db_option
@translate_errors
def login(staff: str, password_stdin: bool, as_json: bool, db: str | None) -> None:
    """Check STAFF's password and print a personal access token for the write
    commands (give it in ONERULER_TOKEN, or save it to a file for --token-file).

    The token is good for 12 hours, until oneruler logout, or until the staff
    member is suspended or their password is set again. Five failed logins for one
    staff id within 15 minutes refuse further logins for 15 minutes (exit 1)."""
    with ledger_at(db, must_exist=True) as ledger:
        # A login writes (its token, or a failure): a ledger that takes no writes says
        # so before the password is asked for.
        ledger.check_writable()
        password = read_password(password_stdin, f"Password for {staff}")
        token, session = Identity(ledger).login(staff, password)
    assert session.expires_at is not None
    expires = session.expires_at.astimezone(LEDGER_TZ).isoformat(timespec="seconds")
    if as_json:
        print_json(
            {"token": token, "staff": session.staff, "role": session.role, "expires_at": expires}
        )
        return
    click.echo(token)
    click.echo(
        f"logged in as {session.staff} ({session.role}) until {expires}: give the token in "
        "ONERULER_TOKEN, or save it to a file for --token-file.",
        err=True,
    )


@click.command("logout")
@token_file_option
@db_option
@translate_errors
def logout(token_file: Path | None, db: str | None) -> None:
    """End your token (ONERULER_TOKEN, or the one in --token-file FILE): it no longer
    works, here or anywhere."""
    token = given_token(token_file)
    if token is None:
        raise BadInput("no token to log out: give it in ONERULER_TOKEN or --token-file FILE.")
    with ledger_at(db, must_exist=True) as ledger:
        ledger.check_writable()
        staff = Identity(ledger).logout(token)
    click.echo(f"logged out {staff}: the token no longer works.")


@click.command("set-password")
@click.argument("staff", metavar="STAFF")
@password_stdin_option
@token_file_option
@json_option
@db_option
@translate_errors
def set_password(
    staff: str, password_stdin: bool, token_file: Path | None, as_json: bool, db: str | None
) -> None:
    """Set STAFF's password: an administrator for anyone, anyone for themselves, as
    logged in (ONERULER_TOKEN or --token-file; on a terminal, STAFF's current
    password is asked for instead). The new password is read twice from the
    terminal, or once from standard input with --password-stdin: at least 10
    characters, not one of the commonest, not the staff id.

    The built-in admin's password is set without logging in, by whoever holds the
    database (the first one, or a forgotten one); that is recorded as such. Every
    setting is recorded as an event (who set whose, and when), never the password;
    the staff member's tokens end."""
    staff = parse_code(staff, "STAFF")
    # Only the built-in admin's first password begins a ledger: anyone else's needs
    # a credential, which a ledger not yet there cannot have issued.
    with ledger_at(db, must_exist=staff != BUILTIN_ADMIN) as ledger:
        ledger.check_writable()
        identity = Identity(ledger)
        token = given_token(token_file)
        by: Session | None
        if token is not None:
            by = identity.authenticate(token)
        elif staff == BUILTIN_ADMIN:
            by = None
        elif on_terminal() and not password_stdin:
            current = read_password(False, f"Current password for {staff}")
            by = identity.check_password(staff, current)
        else:
            raise NotAuthenticated(HOW_TO_LOG_IN)
        password = read_password(password_stdin, f"New password for {staff}", twice=True)
        events = identity.set_password(staff, password, by)
    if as_json:
        print_json(command_outcome(events[0].command, events))
        return
    setter = "as the holder of the database" if by is None else f"by {by.staff}"
    click.echo(f"set the password of {staff} ({setter}); any tokens of {staff} ended.")
