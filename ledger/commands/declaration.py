"""How a command is declared, once: its ingest name (`cmd`) and command-line name,
its fields (how each is parsed from JSON, how a person gives it as an option, which
aggregate it names), who may run it, and the use case it reaches. An ingest line
and a CLI command both become a Command through parse_command; the unit of work
reaches the use case by the command's type."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast, dataclass_transform
from uuid import UUID

from domain.base import Stamp
from domain.errors import AlreadyExists, InvalidInput
from domain.ids import staff_id
from domain.roles import BUILTIN_ADMIN, Permission
from domain.values import (
    one_line,
    parse_amount,
    parse_choice,
    parse_code,
    parse_count,
    parse_positive_amount,
    parse_quantity,
    parse_text,
    parse_time,
)

ENVELOPE = ("id", "cmd", "actor", "at")

B = TypeVar("B")
U = TypeVar("U")
Parse = Callable[[Any, str], Any]
# The use case: given the unit of work (ledger/commands/unit_of_work.py), the stamp and
# the command's body, it loads, asks the domain, and stages the events (or raises the
# domain's refusal, having staged nothing).
Handler = Callable[[Any, Stamp, Any], None]
# Aggregates to read ahead once the first were read: (body, the aggregate of an id
# if read already) -> ids.
ThenReads = Callable[[Any, Callable[[UUID], object]], Iterable[UUID]]


# --- how a person gives a field on the command line (cli/writes.py builds the options) ---


@dataclass(frozen=True)
class Option:
    """An option giving the value as typed, such as --household XC-0001. Its flag is
    the field's name (in Together, the key's) with dashes, unless given."""

    help: str
    flag: str | None = None
    metavar: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Pairs:
    """A repeated NAME=VALUE option, such as --area brick_concrete=120.50: a mapping of
    each NAME to its VALUE, or with entry a list of entry(NAME, VALUE) (a field given
    by several joins their lists)."""

    flag: str
    metavar: str
    help: str
    example: str
    required: bool = False
    entry: Callable[[str, str], Any] | None = None


@dataclass(frozen=True)
class Together:
    """Options that make one object, such as --deviation-reason with --approved-by:
    the keys of those given; None if none is, or the usage error `missing` if one
    must be."""

    options: tuple[Option, ...]
    missing: str | None = None


@dataclass(frozen=True)
class JsonFile:
    """A FILE argument whose JSON is the value."""


@dataclass(frozen=True)
class FromFile:
    """A value the command line reads from the file given as --file PATH (one option
    for every such field): its SHA-256 digest, its name or its size in bytes."""

    part: str  # "sha256", "name" or "size"
    flag: str = "--file"
    help: str = "The scanned file: its SHA-256 digest, name and size are read from it."


Input = Option | Pairs | Together | JsonFile | FromFile


# --- fields ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One field of a command. Optional fields may be absent (None); a present value
    is parsed by parse(value, name), which raises InvalidInput naming the field."""

    parse: Parse
    inputs: tuple[Input, ...]
    optional: bool = False
    # What the command line checks before parsing: one of these, or a whole number.
    choices: tuple[str, ...] | None = None
    number: bool = False
    # The aggregates the value names, read ahead of a batch (a superset costs a row).
    refers: Callable[[Any], Iterable[UUID]] | None = None
    name: str = ""


_ARG = "oneruler.arg"


def arg(
    parse: Parse,
    help: str | None = None,
    *,
    optional: bool = False,
    flag: str | None = None,
    metavar: str | None = None,
    cli: Input | tuple[Input, ...] | None = None,
    choices: tuple[str, ...] | None = None,
    number: bool = False,
    refers: Callable[[Any], Iterable[UUID]] | None = None,
) -> Any:
    """A field parsed by parse, given on the command line by cli (default: one
    option, with this help)."""
    if cli is None:
        assert help is not None, "a field needs the help of its option, or its inputs"
        inputs: tuple[Input, ...] = (Option(help, flag, metavar),)
    else:
        inputs = cli if isinstance(cli, tuple) else (cli,)
    spec = Arg(parse, inputs, optional, choices, number, refers)
    return dataclasses.field(metadata={_ARG: spec})


def names(kind: Callable[[str], UUID]) -> Callable[[Any], Iterable[UUID]]:
    """refers= for a field holding one code of the given kind of aggregate."""

    def refers(code: str) -> Iterable[UUID]:
        return () if code == BUILTIN_ADMIN else (kind(code),)

    return refers


def code(
    help: str,
    *,
    optional: bool = False,
    refers: Callable[[str], UUID] | None = None,
    flag: str | None = None,
) -> Any:
    """An identifier without spaces (a household code, a staff id, a record number)."""
    return arg(
        parse_code,
        help,
        optional=optional,
        flag=flag,
        refers=names(refers) if refers is not None else None,
    )


def text(help: str, *, optional: bool = False, max_length: int | None = None) -> Any:
    """A line of text."""
    if max_length is None:
        return arg(parse_text, help, optional=optional)
    return arg(
        lambda value, name: parse_text(value, name, max_length=max_length),
        help,
        optional=optional,
    )


def choice(choices: tuple[str, ...], help: str) -> Any:
    """One of the given words."""
    return arg(lambda value, name: parse_choice(value, name, choices), help, choices=choices)


def count(help: str) -> Any:
    """A whole number from 0."""
    return arg(parse_count, help, number=True)


def amount(help: str, *, positive: bool = False) -> Any:
    """Yuan, as a decimal string with at most two decimals."""
    return arg(parse_positive_amount if positive else parse_amount, help, metavar="YUAN")


def quantity(help: str, *, flag: str | None = None, metavar: str | None = None) -> Any:
    """A measured quantity, as a decimal string."""
    return arg(parse_quantity, help, flag=flag, metavar=metavar)


# --- commands ----------------------------------------------------------------------------


class Declaration:
    """Everything about one command: its body's class, names, fields, permission and
    use case."""

    def __init__(
        self,
        cmd: str,
        body: type,
        cli: str,
        may: Permission,
        args: tuple[Arg, ...],
        help: str,
        then_reads: ThenReads | None,
    ) -> None:
        self.cmd = cmd
        self.body = body
        group, _, name = cli.partition(" ")
        # The command line: `oneruler GROUP NAME`, whose --help shows help.
        self.group, self.name, self.help = group, name, help
        self.may = may
        self.args = args
        self.required = tuple(a.name for a in args if not a.optional)
        self.optional = tuple(a.name for a in args if a.optional)
        self.allowed = frozenset((*ENVELOPE, *self.required, *self.optional))
        self.parsers = tuple((a.name, a.parse) for a in args)
        self.references = tuple((a.name, a.refers) for a in args if a.refers is not None)
        self.then_reads = then_reads
        self.handler: Handler | None = None

    def __repr__(self) -> str:
        return f"<command {self.cmd}>"

    def parse(self, raw: Mapping[str, Any]) -> Any:
        """The body of a command object whose required fields are present."""
        return self.body(
            *[
                None if (value := raw.get(name)) is None else parse(value, name)
                for name, parse in self.parsers
            ]
        )


_BY_CMD: dict[str, Declaration] = {}
_BY_TYPE: dict[type, Declaration] = {}


@dataclass_transform(
    frozen_default=True, field_specifiers=(arg, code, text, choice, count, amount, quantity)
)
def command(
    cmd: str, cli: str, *, may: Permission, then_reads: ThenReads | None = None
) -> Callable[[type[B]], type[B]]:
    """Declare the class below as the body of the command `cmd`: a frozen dataclass
    whose fields are declared with arg() (or code(), text(), ...), whose docstring is
    the help of the command `oneruler CLI`, which those of the permission `may` may
    run. Its use case is the function declared with @handles(ThatClass)."""

    def declare(cls: type[B]) -> type[B]:
        body = dataclasses.dataclass(frozen=True, slots=True)(cls)
        fields = dataclasses.fields(cast(Any, body))
        for f in fields:
            if _ARG not in f.metadata:
                raise TypeError(f"{cmd}: declare the field {f.name} with arg(), code(), text() ...")
        args = tuple(dataclasses.replace(f.metadata[_ARG], name=f.name) for f in fields)
        declaration = Declaration(cmd, body, cli, may, args, inspect.getdoc(cls) or "", then_reads)
        for other in _BY_CMD.values():
            if other.cmd == cmd or (other.group, other.name) == (
                declaration.group,
                declaration.name,
            ):
                raise ValueError(f"{cmd} is declared twice, or its CLI name is {other.cmd}'s")
        _BY_CMD[cmd] = _BY_TYPE[body] = declaration
        return body

    return declare


def handles(
    body: type[B],
) -> Callable[[Callable[[U, Stamp, B], None]], Callable[[U, Stamp, B], None]]:
    """Declare the function below as the use case of the command whose body is body."""

    def register(handler: Callable[[U, Stamp, B], None]) -> Callable[[U, Stamp, B], None]:
        declaration = _BY_TYPE[body]
        if declaration.handler is not None:
            raise ValueError(f"{declaration.cmd} has two use cases")
        declaration.handler = handler
        return handler

    return register


def declarations() -> tuple[Declaration, ...]:
    """Every command, in the order of their declaration (which error messages list)."""
    return tuple(_BY_CMD.values())


def declaration_of(body: object) -> Declaration:
    return _BY_TYPE[type(body)]


# --- a command -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its idempotency key, its ingest name, who, when (business time)
    and what (an instance of a declared class); and the JSON object it was given as,
    which its digest is of. actor None: not named, so the authenticated staff member
    who enters it (specs/identity.md)."""

    id: str
    cmd: str
    actor: str | None
    at: datetime
    body: Any
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)


class CommandIdReused(AlreadyExists):
    """A command id already applied, sent again with another body."""


def digest(command: Command, actor: str) -> bytes:
    """The SHA-256 of the JSON object the command was given as, in canonical form
    (keys sorted, at every depth; no spaces), with its actor named: a resend of the
    same object is the same command whatever the order of its keys and however it was
    spaced, and a command that named no actor is the same as one that named whoever
    entered it. (Its id is part of the object, and the same in both.)"""
    raw = command.raw
    if raw.get("actor") != actor:
        raw = {**raw, "actor": actor}
    return hashlib.sha256("".join(_encode(raw, 0)).encode("utf-8")).digest()


def check_same(command: Command, actor: str, applied: bytes | None) -> None:
    """A command whose id was applied already: the same command (skipped), or another
    one under a used id (refused). An id applied before digests were kept has none,
    and its command is taken to be the same, as it was then."""
    if applied is not None and applied != digest(command, actor):
        raise CommandIdReused(
            f"command id {command.id} was already applied to a different command; an id "
            "names one command forever: give this one a new id."
        )


# The json module's encoder in C, made once (JSONEncoder.encode makes one per call):
# keys sorted, no spaces, text as UTF-8 rather than escapes, no check for cycles (a JSON
# object as read has none).
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode: Callable[[Any, int], Iterable[str]] = (
    _make_encoder(None, None, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    if _make_encoder is not None
    else lambda value, _level: _JSON.iterencode(value)
)


def parse_command(raw: Any, *, actor_required: bool = True) -> Command:
    """Check one command object and give it typed fields; InvalidInput otherwise.
    actor_required False: a command without an actor is entered by, and acts for,
    the authenticated staff member (the command line, the web)."""
    envelope = ENVELOPE if actor_required else ("id", "cmd", "at")
    needs = f"{', '.join(envelope[:-1])} and {envelope[-1]}"
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"each line must be a JSON object with {needs}.")
    cmd = raw.get("cmd")
    declaration = _BY_CMD.get(cmd) if isinstance(cmd, str) else None
    if declaration is None and cmd not in (None, ""):
        # Said first: what else is missing depends on which command was meant.
        raise InvalidInput(f"unknown cmd {cmd!r}; use one of {', '.join(_BY_CMD)}.")
    missing = [name for name in envelope if raw.get(name) in (None, "")]
    if missing:
        raise InvalidInput(f"missing field {', '.join(missing)}; every command needs {needs}.")
    command_id = raw["id"]
    if not isinstance(command_id, str) or len(command_id) > 200:
        raise InvalidInput("id must be a string of at most 200 characters.")
    if not command_id.strip():
        raise InvalidInput("id is empty; give the command's id.")
    one_line(command_id, "id")
    assert declaration is not None
    required = declaration.required
    absent = [name for name in required if raw.get(name) is None]
    if absent:
        raise InvalidInput(f"missing field {', '.join(absent)}; {cmd} needs {', '.join(required)}.")
    unknown = sorted(set(raw) - declaration.allowed)
    if unknown:
        allowed = ", ".join((*required, *declaration.optional))
        raise InvalidInput(
            f"unknown field {', '.join(unknown)} for {cmd}; its fields are {allowed}."
        )
    actor = raw.get("actor")
    return Command(
        id=command_id,
        cmd=declaration.cmd,
        actor=None if actor in (None, "") else parse_code(actor, "actor"),
        at=parse_time(raw["at"], "at"),
        body=declaration.parse(raw),
        raw=raw,
    )


def references(command: Command) -> list[UUID]:
    """The aggregates a command will read or create, as far as its fields say (a
    superset: it costs one row)."""
    actor = command.actor
    ids = [] if actor is None or actor == BUILTIN_ADMIN else [staff_id(actor)]
    body = command.body
    for name, refers in _BY_TYPE[type(body)].references:
        value = getattr(body, name)
        if value is not None:
            ids.extend(refers(value))
    return ids
