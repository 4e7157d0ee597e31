"""How a write on the command line proves who enters it: the token of `oneruler login`
(in ONERULER_TOKEN, or a file given with --token-file), or, on a terminal without one,
the password of the staff member, asked for there."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cli.options import BadInput
from ledger.application import Ledger
from ledger.identity import Identity
from ledger.session import NotAuthenticated, Session

TOKEN_ENV = "ONERULER_TOKEN"

HOW_TO_LOG_IN = (
    "no credential: log in with oneruler login STAFF and give the token it prints in "
    "ONERULER_TOKEN or --token-file FILE (on a terminal, the command asks for your "
    "password instead)."
)


def on_terminal() -> bool:
    """Whether a person at a terminal can be asked for a password."""
    return sys.stdin.isatty()


def given_token(token_file: Path | None) -> str | None:
    """The token of --token-file FILE, else of ONERULER_TOKEN; None if neither."""
    if token_file is None:
        return os.environ.get(TOKEN_ENV, "").strip() or None
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not text"
        raise BadInput(
            f"cannot read the token file {token_file} ({reason}); give the file you saved "
            "the token of oneruler login to."
        ) from None
    if not token:
        raise BadInput(
            f"the token file {token_file} is empty; save the token oneruler login prints in it."
        )
    return token


def read_password(from_stdin: bool, prompt: str, *, twice: bool = False) -> str:
    """A password: one line of standard input, or typed (unseen) at the terminal,
    twice for a new one."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise BadInput("no password on standard input; give it as one line.")
        return line
    if not on_terminal():
        raise BadInput(
            "there is no terminal to ask for the password on; give it on standard input "
            "with --password-stdin."
        )
    password: str = click.prompt(prompt, hide_input=True, confirmation_prompt=twice, err=True)
    return password


def authenticate(ledger: Ledger, actor: str | None, token_file: Path | None) -> Session:
    """Who enters a command: the staff member of the token, or of the password asked
    for on a terminal (the actor's, if one is named); refused (exit 2) with no
    credential, or a bad one."""
    # A ledger that takes no writes says so before anyone is asked to log in.
    ledger.check_writable()
    identity = Identity(ledger)
    token = given_token(token_file)
    if token is not None:
        return identity.authenticate(token)
    if on_terminal():
        staff = actor or click.prompt("Staff id", err=True)
        password = click.prompt(f"Password for {staff}", hide_input=True, err=True)
        return identity.check_password(staff, password)
    raise NotAuthenticated(HOW_TO_LOG_IN)
