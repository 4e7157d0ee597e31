"""Option decorators shared by the commands, and the one place where a refusal
becomes an exit status and a sentence on standard error."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from eventsourcing.persistence import OperationalError, PersistenceError

from cli.labels import LANGUAGES
from domain.errors import DomainError, InvalidInput
from domain.values import LEDGER_TZ
from ledger.application import Ledger
from ledger.reads import Reads
from ledger.store import display_url, open_ledger, resolve_url

F = TypeVar("F", bound=Callable[..., Any])


class Refused(click.ClickException):
    """A rule refused the command: exit 1 (bad usage is click's own exit 2)."""

    exit_code = 1


class BadInput(click.ClickException):
    exit_code = 2


def fail(error: DomainError) -> click.ClickException:
    message = str(error)
    if isinstance(error, InvalidInput):
        return BadInput(message)
    return Refused(message)


@contextmanager
def ledger_at(db: str | None, *, must_exist: bool = False) -> Iterator[Ledger]:
    try:
        ledger = open_ledger(db, must_exist=must_exist)
    except DomainError as e:
        raise fail(e) from None
    except PersistenceError as e:
        raise Refused(
            f"the ledger at {display_url(resolve_url(db))} cannot be opened ({e}); check --db."
        ) from None
    try:
        yield ledger
    except OperationalError as e:
        if is_busy(e):
            raise Refused(BUSY) from None
        raise
    finally:
        ledger.close()


@contextmanager
def reads_at(db: str | None) -> Iterator[Reads]:
    """The read facade of the ledger at db, which must exist."""
    with ledger_at(db, must_exist=True) as ledger:
        yield Reads(ledger)


def db_option(f: F) -> F:
    return click.option(
        "--db",
        envvar="ONERULER_DB",
        metavar="URL",
        help="Where the ledger lives: sqlite:///PATH, a bare path, or "
        "postgresql://USER@HOST:PORT/DBNAME[?schema=NAME] [env ONERULER_DB; "
        "default sqlite:///oneruler.db].",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(f)


def xlsx_option(f: F) -> F:
    return click.option(
        "--xlsx",
        "xlsx",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Write an Excel workbook to FILE.",
    )(f)


def lang_option(default: str, help: str) -> Callable[[F], F]:
    """--lang, defaulting to the language of those who read the output."""

    def decorate(f: F) -> F:
        return click.option(
            "--lang",
            type=click.Choice(LANGUAGES),
            default=default,
            show_default=True,
            help=help,
        )(f)

    return decorate


def check_one_format(as_json: bool, as_csv: bool, xlsx: Path | None) -> None:
    if sum((as_json, as_csv, xlsx is not None)) > 1:
        raise click.UsageError("choose one of --json, --csv and --xlsx.")


def write_options(f: F) -> F:
    """--actor, --at and --id: who, when (business time) and the command's own id."""
    f = click.option(
        "--id",
        "command_id",
        metavar="ID",
        help="The command's idempotency key [default: a new unique id].",
    )(f)
    f = click.option(
        "--at",
        metavar="TIME",
        help="When it happened, ISO 8601 with offset [default: now, +08:00].",
    )(f)
    f = click.option(
        "--actor",
        envvar="ONERULER_ACTOR",
        required=True,
        metavar="STAFF",
        help="The staff id of who does it [env ONERULER_ACTOR].",
    )(f)
    return db_option(f)


def envelope(cmd: str, actor: str, at: str | None, command_id: str | None) -> dict[str, Any]:
    return {
        "id": command_id or f"cli-{uuid.uuid4().hex}",
        "cmd": cmd,
        "actor": actor,
        "at": at or datetime.now(LEDGER_TZ).isoformat(timespec="seconds"),
    }


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


BUSY = "the ledger is busy: another command is writing to it; retry in a moment."


def is_busy(error: OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def translate_errors(f: F) -> F:
    """Turn the domain's refusals into exit statuses and one sentence each."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except DomainError as e:
            raise fail(e) from None

    return wrapper  # type: ignore[return-value]
