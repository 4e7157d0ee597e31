"""The command groups of `oneruler`. A group imports the module of a command only
when that command is asked for; its write commands are those the commands'
declarations (ledger/commands/) name it for."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ledger.commands import Declaration


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for: what a command's module
    imports (matplotlib, openpyxl, cryptography) would otherwise add to every
    command's start-up, which is a person's wait at the terminal.

    lazy maps a command's name to "module:attribute", the command object. With
    writes, the group also has the write commands declared under its name
    (ledger/commands/), made by cli/writes.py when one is asked for."""

    def __init__(
        self,
        *args: Any,
        lazy: Mapping[str, str] | None = None,
        writes: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.writes = writes

    def _declared(self) -> dict[str, Declaration]:
        if not self.writes:
            return {}
        from ledger.commands import declarations

        return {d.name: d for d in declarations() if d.group == self.name}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy, *self._declared()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            target = self.lazy.get(cmd_name)
            if target is not None:
                module, attribute = target.split(":")
                self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
            elif (declared := self._declared().get(cmd_name)) is not None:
                from cli.writes import write_command

                self.add_command(write_command(declared), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    name="staff", cls=LazyGroup, writes=True, lazy={"set-password": "cli.identity:set_password"}
)
def staff() -> None:
    """Staff of the renewal office and their roles."""


@click.group(name="group", cls=LazyGroup, writes=True)
def group() -> None:
    """Work groups."""


@click.group(
    name="household",
    cls=LazyGroup,
    writes=True,
    lazy={
        "show": "cli.reads:show",
        "history": "cli.reads:history",
        "search": "cli.worklists:search",
    },
)
def household() -> None:
    """Households: register, show, history, search, vacated."""


@click.group(name="survey", cls=LazyGroup, writes=True)
def survey() -> None:
    """Surveys of households."""


@click.group(name="valuation", cls=LazyGroup, writes=True)
def valuation() -> None:
    """Valuations and reviews."""


@click.group(name="agreement", cls=LazyGroup, writes=True)
def agreement() -> None:
    """Compensation agreements."""


@click.group(name="document", cls=LazyGroup, writes=True)
def document() -> None:
    """The documents of a household's file."""


@click.group(
    name="complaint",
    cls=LazyGroup,
    writes=True,
    lazy={"list": "cli.complaints:list_complaints", "show": "cli.complaints:show_complaint"},
)
def complaint() -> None:
    """The oversight hotline's complaints."""


@click.group(name="payout", cls=LazyGroup, writes=True, lazy={"list": "cli.worklists:list_payouts"})
def payout() -> None:
    """Compensation payouts."""


@click.group(name="policy", cls=LazyGroup, writes=True, lazy={"show": "cli.reads:show_policy"})
def policy() -> None:
    """Compensation policies and their versions."""


@click.group(name="village", cls=LazyGroup, writes=True)
def village() -> None:
    """The villages households are registered in."""


ALL = (
    staff,
    group,
    village,
    household,
    survey,
    valuation,
    agreement,
    document,
    complaint,
    payout,
    policy,
)
