"""The write commands, made from the commands' declarations (ledger/commands/): one
per ingest cmd, with its fields as options. Each builds the ingest line it stands
for and runs it through the same path."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from cli.credentials import authenticate
from cli.options import (
    envelope,
    fail,
    json_option,
    ledger_at,
    print_json,
    read_json,
    write_options,
)
from domain.complaint import assigned_complaint_code
from domain.errors import DomainError, InvalidInput
from ledger.application import Ledger
from ledger.commands import Command, Declaration, declarations, parse_command
from ledger.commands.complaints import FileComplaint
from ledger.commands.declaration import (
    Arg,
    FromFile,
    Input,
    JsonFile,
    Option,
    Pairs,
    Together,
)
from ledger.commands.outcome import command_outcome, describe
from ledger.reads import Reads

# A field's value from the command's parameters (None: not given).
Gather = Callable[[Mapping[str, Any]], Any]


def run(
    cmd: str,
    db: str | None,
    actor: str | None,
    at: str | None,
    command_id: str | None,
    token_file: Path | None,
    as_json: bool = False,
    **fields: Any,
) -> None:
    raw = envelope(cmd, actor, at, command_id)
    raw.update({name: value for name, value in fields.items() if value is not None})
    try:
        # Bad input is said before the ledger is opened or a password asked for.
        command = parse_command(raw, actor_required=False)
    except InvalidInput as e:
        raise fail(InvalidInput(as_options(cmd, str(e)))) from None
    try:
        with ledger_at(db, must_exist=True) as ledger:
            events = ledger.execute(command, authenticate(ledger, command.actor, token_file))
            said = None if events is None or as_json else describe(command, events, ledger)
            told = _to_tell(ledger, command) if said is not None else None
    except DomainError as e:
        raise fail(e) from None
    if as_json:
        print_json(command_outcome(command, events))
        return
    if events is None:
        click.echo(f"skipped {cmd} {command.id}: a command of this id was already applied")
        return
    click.echo(f"{said} (command {command.id})")
    if told:
        click.echo(told)


def _to_tell(ledger: Ledger, command: Command) -> str | None:
    """For a complaint just filed: the deadlines to tell the caller."""
    if command.cmd != "file_complaint":
        return None
    body: FileComplaint = command.body
    code = body.complaint if body.complaint is not None else assigned_complaint_code(command.id)
    record = Reads(ledger).complaint(code)
    return (
        f"tell the caller: acknowledged by {record['acknowledge_by']}, "
        f"resolved by {record['resolve_by']}"
    )


def flags_of(declaration: Declaration) -> dict[str, str]:
    """The option that gives each field (or part of one, such as deviation.reason), by
    the name a parsing error gives it."""
    flags: dict[str, str] = {}
    for field in declaration.args:
        for spec in field.inputs:
            if isinstance(spec, Option):
                flags.setdefault(field.name, spec.flag or _flag(spec.key or field.name))
            elif isinstance(spec, Pairs):
                flags.setdefault(field.name, spec.flag)
            elif isinstance(spec, Together):
                for option in spec.options:
                    flag = option.flag or _flag(option.key or field.name)
                    flags[f"{field.name}.{option.key}"] = flag
                    flags.setdefault(field.name, flag)
            elif isinstance(spec, FromFile):
                flags.setdefault(field.name, spec.flag)
    return flags


def as_options(cmd: str, message: str) -> str:
    """A parsing error as the command line says it: naming the options, not the
    ingest fields (--approved-by, not deviation.approved_by)."""
    declaration = next((d for d in declarations() if d.cmd == cmd), None)
    if declaration is None:
        return message
    flags = flags_of(declaration)
    for name in sorted(flags, key=len, reverse=True):
        pattern = rf"(?<![\w.\-]){re.escape(name)}(?=[\s.\[:,;]|$)"
        message = re.sub(pattern, _literally(flags[name]), message)
    # One entry of NAME=VALUE pairs is named as typed (--area brick_concrete), not as
    # a part of the field (--area.brick_concrete, which is no option).
    for spec in (s for field in declaration.args for s in field.inputs):
        if isinstance(spec, Pairs):
            message = re.sub(
                rf"{re.escape(spec.flag)}\.(?=\w)", _literally(f"{spec.flag} "), message
            )
    return message


def _literally(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement for re.sub that is text as it is, with no backslash or group read in it."""
    return lambda _match: text


def pairs(values: tuple[str, ...], option: str, example: str) -> dict[str, str]:
    """NAME=VALUE options as a mapping."""
    result: dict[str, str] = {}
    for value in values:
        name, sep, amount = value.partition("=")
        if not sep or not name or not amount:
            raise click.BadParameter(
                f"write it as NAME=VALUE, such as {example}.", param_hint=option
            )
        if name in result:
            raise click.BadParameter(
                f"{name} is given twice; give each once (add the quantities together).",
                param_hint=option,
            )
        result[name] = amount
    return result


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _option(field: Arg, spec: Option, param: str, *, alone: bool) -> click.Option:
    """alone: the option gives the whole field (its type, and required unless optional)."""
    kind: Any = None
    if alone and field.choices is not None:
        kind = click.Choice(field.choices)
    elif alone and field.number:
        kind = int
    return click.Option(
        [spec.flag or _flag(spec.key or field.name), param],
        required=alone and not field.optional,
        type=kind,
        metavar=spec.metavar,
        help=spec.help,
    )


def _read_json(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise click.BadParameter(f"{file} does not exist.", param_hint="FILE") from None
    except (OSError, UnicodeDecodeError) as e:
        raise click.BadParameter(
            f"{file} is not a readable JSON file ({e}).", param_hint="FILE"
        ) from None
    return read_json(text, str(file), "give a policy document (DOMAIN.md, the policy as data).")


def _from_file(spec: FromFile, made: set[str]) -> tuple[list[click.Parameter], Gather]:
    """The --file option (made once, for every field read from it) and the part of
    the file one field takes: its digest, name or size."""
    param = "file__path"
    options: list[click.Parameter] = []
    if param not in made:
        made.add(param)
        options.append(
            click.Option(
                [spec.flag, param],
                required=True,
                type=click.Path(dir_okay=False, path_type=Path),
                metavar="PATH",
                help=spec.help,
            )
        )
    return options, lambda given: read_file_part(given[param], spec)


def read_file_part(path: Path, spec: FromFile) -> Any:
    try:
        if spec.part == "name":
            if not path.is_file():
                raise FileNotFoundError(path)
            return path.name
        if spec.part == "size":
            return path.stat().st_size
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except FileNotFoundError:
        raise click.BadParameter(
            f"{path} does not exist; give the path of the scanned file.", param_hint=spec.flag
        ) from None
    except OSError as e:
        raise click.BadParameter(
            f"{path} cannot be read ({e.strerror}); give a readable file.", param_hint=spec.flag
        ) from None


def _parameters(
    field: Arg, spec: Input, n: int, made: set[str]
) -> tuple[list[click.Parameter], Gather]:
    """The parameters of one of a field's inputs, and how its value is read from them."""
    if isinstance(spec, FromFile):
        return _from_file(spec, made)
    param = f"{field.name}__{n}"
    if isinstance(spec, Option):
        return [_option(field, spec, param, alone=True)], lambda given: given[param]
    if isinstance(spec, Pairs):
        option = click.Option(
            [spec.flag, param],
            multiple=True,
            required=spec.required,
            metavar=spec.metavar,
            help=spec.help,
        )

        def gather_pairs(given: Mapping[str, Any], spec: Pairs = spec) -> Any:
            mapping = pairs(given[param], spec.flag, spec.example)
            if spec.entry is None:
                return mapping
            return [spec.entry(name, value) for name, value in mapping.items()]

        return [option], gather_pairs
    if isinstance(spec, Together):
        keyed = [(o.key or "", f"{param}__{o.key}") for o in spec.options]
        options: list[click.Parameter] = [
            _option(field, o, name, alone=False)
            for o, (_, name) in zip(spec.options, keyed, strict=True)
        ]

        def gather_together(given: Mapping[str, Any], spec: Together = spec) -> Any:
            value = {key: given[name] for key, name in keyed if given[name] is not None}
            if not value and spec.missing is not None:
                raise click.UsageError(spec.missing)
            return value or None

        return options, gather_together
    assert isinstance(spec, JsonFile)
    argument = click.Argument(["file"], type=click.Path(dir_okay=False, path_type=Path))
    return [argument], lambda given: _read_json(given["file"])


def write_command(declaration: Declaration) -> click.Command:
    """The command `oneruler GROUP NAME` of a declared command."""
    params: list[click.Parameter] = []
    fields: list[tuple[str, list[Gather]]] = []
    shared: set[str] = set()
    for field in declaration.args:
        gathers = []
        for n, spec in enumerate(field.inputs):
            made, gather = _parameters(field, spec, n, shared)
            params.extend(made)
            gathers.append(gather)
        fields.append((field.name, gathers))

    def callback(
        db: str | None,
        actor: str | None,
        at: str | None,
        command_id: str | None,
        token_file: Path | None,
        as_json: bool,
        **given: Any,
    ) -> None:
        values: dict[str, Any] = {}
        for name, gathers in fields:
            parts = [gather(given) for gather in gathers]
            # A field given by several options (valuation items) joins their lists.
            values[name] = parts[0] if len(parts) == 1 else [x for part in parts for x in part]
        run(declaration.cmd, db, actor, at, command_id, token_file, as_json, **values)

    decorated = json_option(write_options(callback))
    params.extend(reversed(getattr(decorated, "__click_params__", [])))
    return click.Command(declaration.name, params=params, callback=decorated, help=declaration.help)
