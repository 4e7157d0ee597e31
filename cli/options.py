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
from ledger import environment
from ledger.application import Ledger
from ledger.environment import StoreProblem
from ledger.reads import Reads
from ledger.session import NotAuthenticated
from ledger.settings import DEFAULT, Settings
from ledger.store import display_url, open_ledger, resolve_url

F = TypeVar("F", bound=Callable[..., Any])


class Refused(click.ClickException):
    """A rule refused the command: exit 1 (bad usage is click's own exit 2)."""

    exit_code = 1


class BadInput(click.ClickException):
    exit_code = 2


def fail(error: DomainError) -> click.ClickException:
    """Bad input and a store or machine that failed the command exit 2; a refusal by
    a rule exits 1."""
    message = str(error)
    if isinstance(error, InvalidInput | StoreProblem | NotAuthenticated):
        return BadInput(message)
    return Refused(message)


@contextmanager
def ledger_at(db: str | None, *, must_exist: bool = False) -> Iterator[Ledger]:
    """The ledger at db, open for the length of the block; a failure of the disk, the
    file or the server under it, while it opens or while the block runs, is one
    sentence that names the ledger (exit 2). must_exist: no ledger there is refused,
    and nothing is made (a write there could only make an empty ledger, at a mistyped
    --db say, and then be refused: no credential can be given to it)."""
    url = resolve_url(db)
    try:
        ledger = open_ledger(db, must_exist=must_exist, settings=settings_given())
    except DomainError as e:
        raise fail(e) from None
    except PersistenceError as e:
        raise BadInput(
            environment.problem(e, url)
            or f"the ledger at {display_url(url)} cannot be opened ({e}); check --db."
        ) from None
    try:
        yield ledger
    except (DomainError, click.ClickException):
        raise
    except OperationalError as e:
        if is_busy(e):
            raise Refused(BUSY) from None
        raise_environment(e, url)
        raise
    except Exception as e:
        raise_environment(e, url)
        raise
    finally:
        ledger.close()


def settings_given() -> Settings:
    """The ledger's tuning (ledger/settings.py): the defaults, or the Settings a caller
    gave the command as its context object (tests: CliRunner().invoke(cli, args,
    obj=Settings(...)))."""
    context = click.get_current_context(silent=True)
    found = context.find_object(Settings) if context is not None else None
    return found if found is not None else DEFAULT


def raise_environment(error: BaseException, url: str | None = None) -> None:
    """Raise the one sentence for a failure of what the command runs on (a full disk,
    a read-only file, a lost connection), if error is one."""
    said = environment.problem(error, display_url(url) if url is not None else None)
    if said is not None:
        raise BadInput(said) from None


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


def token_file_option(f: F) -> F:
    return click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="A file holding your token from oneruler login [default: the token in "
        "ONERULER_TOKEN; on a terminal without one, your password is asked for].",
    )(f)


def write_options(f: F) -> F:
    """--actor, --at and --id: who, when (business time) and the command's own id;
    --token-file: the credential of who enters it."""
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
    f = token_file_option(f)
    f = click.option(
        "--actor",
        envvar="ONERULER_ACTOR",
        metavar="STAFF",
        help="The staff id of who does it: you, as logged in [env ONERULER_ACTOR; "
        "default: the staff member the token or password is of].",
    )(f)
    return db_option(f)


# Why an option given empty is refused, and what to do: an empty value is not the
# default (a script's empty variable for --id would lose the command's idempotency).
_EMPTY = {
    "--id": "give the command's id, or leave --id out for a new one.",
    "--at": 'give when it happened, such as "2018-03-01T09:00:00+08:00", or leave --at '
    "out for now.",
    "--actor": "give your staff id, or leave --actor out to act as yourself.",
}


def envelope(cmd: str, actor: str | None, at: str | None, command_id: str | None) -> dict[str, Any]:
    for option, value in (("--id", command_id), ("--at", at), ("--actor", actor)):
        if value is not None and not value.strip():
            raise BadInput(f"{option} is empty; {_EMPTY[option]}")
    raw = {
        "id": command_id or f"cli-{uuid.uuid4().hex}",
        "cmd": cmd,
        "at": at or datetime.now(LEDGER_TZ).isoformat(timespec="seconds"),
    }
    if actor is not None:
        raw["actor"] = actor
    return raw


# Deeper than any document the ledger reads (a policy is 3 levels, a bundle 5): more is
# refused before anything walks it, as Python's own recursion would fail on it somewhere.
MAX_JSON_DEPTH = 64


def read_json(text: str, name: str, fix: str) -> Any:
    """A JSON document given as a file, or one sentence (exit 2) saying why it cannot be
    read: not JSON, a number too long, or nested more deeply than any document is."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"{name} is not JSON ({e.msg} at line {e.lineno}); {fix}") from None
    except RecursionError:
        raise BadInput(f"{name} is nested too deeply to read; {fix}") from None
    except ValueError:  # an integer of thousands of digits
        raise BadInput(f"{name} holds a number too long to read; {fix}") from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise BadInput(f"{name} is nested more than {MAX_JSON_DEPTH} levels deep; {fix}")
    return document


def _depth(document: Any) -> int:
    """How deeply a JSON value nests, found without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


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
