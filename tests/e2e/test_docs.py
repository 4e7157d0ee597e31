"""The CLI reference, docs/cli.md, says what `--help` says: every command has its
section (and no section is left of a command that is gone), each the command's
usage, help and options; and every ingest cmd is a write command, listed with who
may run it."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.formatting import wrap_text

from cli.main import cli
from domain.roles import Permission
from ledger.commands import declarations

REFERENCE = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


def commands(
    group: click.Group = cli, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, click.Command]]:
    """Every command, as `oneruler --help` finds them (importing those imported lazily)."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, f"{' '.join((*path, name))} is listed but cannot be loaded"
        assert command.name == name, f"{' '.join((*path, name))} loads {command.name}"
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


COMMANDS = list(commands())


def section_of(name: str) -> str:
    """What docs/cli.md has under `### \\`oneruler NAME\\``, heading included ("": none)."""
    heading = f"### `oneruler {name}`"
    if heading not in REFERENCE:
        return ""
    return heading + REFERENCE.split(heading, 1)[1].split("\n### ", 1)[0].rstrip()


def rendered(name: str, command: click.Command) -> str:
    """The section a command's --help makes: its usage, its help, its options."""
    context = click.Context(command, info_name=f"oneruler {name}")
    usage = " ".join([f"oneruler {name}", *command.collect_usage_pieces(context)])
    text = "\n\n".join(
        wrap_text(paragraph, width=78)
        for paragraph in inspect.cleandoc(command.help or "").split("\n\n")
    )
    rows = []
    for parameter in command.get_params(context):
        record = (
            None if isinstance(parameter, click.Argument) else parameter.get_help_record(context)
        )
        if record is not None:
            opts, help_text = record
            rows.append(f"| `{opts.replace('|', chr(92) + '|')}` | {help_text} |")
    return "\n".join(
        [f"### `oneruler {name}`", "", "```", usage, "```", "", text, "",
         "| option | meaning |", "|---|---|", *rows]
    )  # fmt: skip


def unwrapped(section: str) -> str:
    """A paragraph's lines joined: a paragraph may wrap where it likes."""
    return re.sub(r"(?<=\S)\n(?=\S)", " ", section)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=lambda v: str(v))
def test_every_command_is_documented_as_its_help_says(name: str, command: click.Command) -> None:
    expected = rendered(name, command)
    assert unwrapped(section_of(name)) == unwrapped(expected), (
        f"docs/cli.md's section of oneruler {name} should read:\n\n{expected}"
    )


def test_the_reference_documents_no_command_that_is_not() -> None:
    documented = re.findall(r"^### `oneruler (.+)`$", REFERENCE, flags=re.MULTILINE)
    assert documented == sorted(name for name, _ in COMMANDS)


def who(permission: Permission) -> str:
    return " or ".join(
        "clerk of the household's group" if role == "clerk" and permission.own_group else role
        for role in sorted(permission.roles)
    )


def test_every_ingest_cmd_is_a_write_command_and_every_write_command_an_ingest_cmd() -> None:
    writes = {name for name, command in COMMANDS if any(p.name == "actor" for p in command.params)}
    declared = {f"{d.group} {d.name}" for d in declarations()}
    assert writes == declared
    assert all(d.handler is not None for d in declarations())


def test_the_table_of_writes_lists_every_ingest_cmd_with_who_may_run_it() -> None:
    table = REFERENCE.split("## Writes", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    expected = [f"| `{d.group} {d.name}` | `{d.cmd}` | {who(d.may)} |" for d in declarations()]
    assert rows == expected, "docs/cli.md's table of writes should read:\n" + "\n".join(expected)
