"""The command groups of `oneruler`. A group imports the module of a command only
when that command is asked for; the commands attach themselves in their modules."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for: what a command's module
    imports (matplotlib, openpyxl, cryptography) would otherwise add to every
    command's start-up, which is a person's wait at the terminal.

    lazy maps a command's name to "module:attribute", the command object."""

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            module, attribute = target.split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


def _writes(**commands: str) -> dict[str, str]:
    return {
        name.replace("_", "-"): f"cli.writes:{attribute}" for name, attribute in commands.items()
    }


@click.group(name="staff", cls=LazyGroup, lazy=_writes(enroll="enroll_staff"))
def staff() -> None:
    """Staff of the renewal office and their roles."""


@click.group(name="group", cls=LazyGroup, lazy=_writes(create="create_group"))
def group() -> None:
    """Work groups."""


@click.group(
    name="household",
    cls=LazyGroup,
    lazy={
        **_writes(register="register_household", vacated="record_vacated"),
        "show": "cli.reads:show",
        "history": "cli.reads:history",
    },
)
def household() -> None:
    """Households: register, show, history, vacated."""


@click.group(name="survey", cls=LazyGroup, lazy=_writes(record="record_survey"))
def survey() -> None:
    """Surveys of households."""


@click.group(name="valuation", cls=LazyGroup, lazy=_writes(record="record_valuation"))
def valuation() -> None:
    """Valuations and reviews."""


@click.group(
    name="agreement",
    cls=LazyGroup,
    lazy=_writes(
        sign="sign_agreement", approve_deviation="approve_deviation", void="void_agreement"
    ),
)
def agreement() -> None:
    """Compensation agreements."""


@click.group(name="document", cls=LazyGroup, lazy=_writes(attach="attach_document"))
def document() -> None:
    """The documents of a household's file."""


@click.group(
    name="complaint",
    cls=LazyGroup,
    lazy={
        **_writes(
            file="file_complaint",
            acknowledge="acknowledge_complaint",
            add="add_to_complaint",
            resolve="resolve_complaint",
            reopen="reopen_complaint",
        ),
        "list": "cli.complaints:list_complaints",
    },
)
def complaint() -> None:
    """The oversight hotline's complaints."""


@click.group(
    name="payout",
    cls=LazyGroup,
    lazy=_writes(request="request_payout", confirm="confirm_payout"),
)
def payout() -> None:
    """Compensation payouts."""


@click.group(
    name="policy",
    cls=LazyGroup,
    lazy={**_writes(publish="publish_policy"), "show": "cli.reads:show_policy"},
)
def policy() -> None:
    """Compensation policies and their versions."""


ALL = (staff, group, household, survey, valuation, agreement, document, complaint, payout, policy)
