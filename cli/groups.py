"""The command groups of `oneruler`; the commands attach themselves in their modules."""

from __future__ import annotations

import click


@click.group(name="staff")
def staff() -> None:
    """Staff of the renewal office and their roles."""


@click.group(name="group")
def group() -> None:
    """Work groups."""


@click.group(name="household")
def household() -> None:
    """Households: register, show, history, vacated."""


@click.group(name="survey")
def survey() -> None:
    """Surveys of households."""


@click.group(name="valuation")
def valuation() -> None:
    """Valuations and reviews."""


@click.group(name="agreement")
def agreement() -> None:
    """Compensation agreements."""


@click.group(name="document")
def document() -> None:
    """The documents of a household's file."""


@click.group(name="complaint")
def complaint() -> None:
    """The oversight hotline's complaints."""


@click.group(name="payout")
def payout() -> None:
    """Compensation payouts."""


@click.group(name="policy")
def policy() -> None:
    """Compensation policies and their versions."""


ALL = (staff, group, household, survey, valuation, agreement, document, complaint, payout, policy)
