"""The write commands: one per ingest cmd, with the same fields as options. Each
builds the ingest line it stands for and runs it through the same path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli import groups
from cli.options import envelope, fail, ledger_at, read_json, write_options
from domain.complaint import CHANNELS, FINDINGS
from domain.errors import DomainError
from domain.household import METHODS
from domain.roles import ROLES
from ledger.commands import parse_command
from projections.history import event_type


def run(
    cmd: str, db: str | None, actor: str, at: str | None, command_id: str | None, **fields: Any
) -> None:
    raw = envelope(cmd, actor, at, command_id)
    raw.update({name: value for name, value in fields.items() if value is not None})
    try:
        command = parse_command(raw)
        with ledger_at(db) as ledger:
            events = ledger.execute(command)
    except DomainError as e:
        raise fail(e) from None
    if events is None:
        click.echo(f"skipped {cmd} {command.id}: a command of this id was already applied")
        return
    click.echo(f"applied {cmd} {command.id}: {', '.join(event_type(e) for e in events)}")


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


@groups.staff.command("enroll")
@click.option("--staff", "staff_code", required=True, help="The staff id, such as s-001.")
@click.option("--name", required=True, help="Their full name.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Their role.")
@click.option("--group", "group_code", help="Their work group (clerks need one).")
@write_options
def enroll_staff(staff_code: str, name: str, role: str, group_code: str | None, **env: Any) -> None:
    """Enroll a staff member with a role."""
    run("enroll_staff", staff=staff_code, name=name, role=role, group=group_code, **env)


@groups.group.command("create")
@click.option("--group", "group_code", required=True, help="The group id, such as G01.")
@click.option("--name", required=True, help="Its name, such as 第一工作组.")
@click.option("--leader", help="The staff id of its leader.")
@write_options
def create_group(group_code: str, name: str, leader: str | None, **env: Any) -> None:
    """Create a work group."""
    run("create_group", group=group_code, name=name, leader=leader, **env)


@groups.household.command("register")
@click.option(
    "--household", "household_code", required=True, help="The household code, such as XC-0001."
)
@click.option("--group", "group_code", required=True, help="The work group it is assigned to.")
@click.option("--village", required=True, help="Its village.")
@click.option("--head", required=True, help="The name of the head of household.")
@click.option("--id-number", help="The head's ID number.")
@click.option("--address", help="Its address.")
@write_options
def register_household(
    household_code: str,
    group_code: str,
    village: str,
    head: str,
    id_number: str | None,
    address: str | None,
    **env: Any,
) -> None:
    """Register a household on the roster."""
    run(
        "register_household",
        household=household_code,
        group=group_code,
        village=village,
        head=head,
        id_number=id_number,
        address=address,
        **env,
    )


@groups.survey.command("record")
@click.option("--household", "household_code", required=True, help="The household code.")
@click.option("--residents", required=True, type=int, help="How many people live there.")
@click.option(
    "--area",
    "areas",
    multiple=True,
    required=True,
    metavar="STRUCTURE=M2",
    help="Building area of one structure type, such as brick_concrete=120.50 (repeat).",
)
@click.option("--land-area", required=True, metavar="M2", help="Land area in square metres.")
@click.option("--notes", help="Notes from the visit.")
@click.option("--reason", help="Why this survey corrects an earlier one.")
@write_options
def record_survey(
    household_code: str,
    residents: int,
    areas: tuple[str, ...],
    land_area: str,
    notes: str | None,
    reason: str | None,
    **env: Any,
) -> None:
    """Record a household's survey (or a correcting survey, with --reason)."""
    run(
        "record_survey",
        household=household_code,
        residents=residents,
        building_area_m2=pairs(areas, "--area", "brick_concrete=120.50"),
        land_area_m2=land_area,
        notes=notes,
        reason=reason,
        **env,
    )


@groups.valuation.command("record")
@click.option("--household", "household_code", required=True, help="The household code.")
@click.option("--valuation", "valuation_id", required=True, help="The valuation's id.")
@click.option("--policy", "policy_code", required=True, help="The policy id, such as XC-2018.")
@click.option(
    "--policy-version", required=True, type=int, help="The policy version it prices under."
)
@click.option(
    "--item",
    "quantities",
    multiple=True,
    metavar="RATE_KEY=QUANTITY",
    help="A measured item priced by a rate, such as building:brick_concrete=120.50 (repeat).",
)
@click.option(
    "--appraised",
    "values",
    multiple=True,
    metavar="NAME=YUAN",
    help="An appraised item and its value, such as well=1500.00 (repeat).",
)
@click.option("--reviews", help="The valuation id this one reviews.")
@write_options
def record_valuation(
    household_code: str,
    valuation_id: str,
    policy_code: str,
    policy_version: int,
    quantities: tuple[str, ...],
    values: tuple[str, ...],
    reviews: str | None,
    **env: Any,
) -> None:
    """Record a valuation, or a review of the current one (--reviews)."""
    items: list[dict[str, str]] = [
        {"item": k, "quantity": v}
        for k, v in pairs(quantities, "--item", "building:brick_concrete=120.50").items()
    ]
    items += [
        {"item": k, "value": v} for k, v in pairs(values, "--appraised", "well=1500.00").items()
    ]
    run(
        "record_valuation",
        household=household_code,
        valuation=valuation_id,
        policy=policy_code,
        policy_version=policy_version,
        items=items,
        reviews=reviews,
        **env,
    )


@groups.agreement.command("sign")
@click.option("--household", "household_code", required=True, help="The household code.")
@click.option("--agreement", "agreement_no", required=True, help="The agreement's number.")
@click.option(
    "--method", required=True, type=click.Choice(METHODS), help="Money or a replacement flat."
)
@click.option(
    "--amount", required=True, metavar="YUAN", help="The agreed amount, such as 356800.00."
)
@click.option("--deviation-reason", help="Why the amount departs from the entitlement.")
@click.option("--approved-by", help="The supervisor who approved the deviation.")
@write_options
def sign_agreement(
    household_code: str,
    agreement_no: str,
    method: str,
    amount: str,
    deviation_reason: str | None,
    approved_by: str | None,
    **env: Any,
) -> None:
    """Record a signed agreement."""
    deviation = None
    if deviation_reason is not None or approved_by is not None:
        deviation = {"reason": deviation_reason, "approved_by": approved_by}
    run(
        "sign_agreement",
        household=household_code,
        agreement=agreement_no,
        method=method,
        amount=amount,
        deviation=deviation,
        **env,
    )


@groups.agreement.command("approve-deviation")
@click.option("--household", "household_code", required=True, help="The household code.")
@click.option(
    "--amount", required=True, metavar="YUAN", help="The amount approved, such as 370000.00."
)
@click.option("--reason", required=True, help="Why it departs from the entitlement.")
@write_options
def approve_deviation(household_code: str, amount: str, reason: str, **env: Any) -> None:
    """Approve, as the supervisor, signing for another amount than the entitlement
    (the agreement then names you in --approved-by)."""
    run("approve_deviation", household=household_code, amount=amount, reason=reason, **env)


@groups.agreement.command("void")
@click.option("--household", "household_code", required=True, help="The household code.")
@click.option("--agreement", "agreement_no", required=True, help="The agreement's number.")
@click.option("--reason", required=True, help="Why it is voided.")
@write_options
def void_agreement(household_code: str, agreement_no: str, reason: str, **env: Any) -> None:
    """Void the agreement in force (supervisors)."""
    run("void_agreement", household=household_code, agreement=agreement_no, reason=reason, **env)


@groups.document.command("attach")
@click.option("--household", "household_code", required=True, help="The household code.")
@click.option("--kind", required=True, help="The document's kind, such as id_card.")
@click.option("--sha256", required=True, help="The SHA-256 digest of the scanned file.")
@click.option("--filename", required=True, help="The scanned file's name.")
@write_options
def attach_document(household_code: str, kind: str, sha256: str, filename: str, **env: Any) -> None:
    """Attach a document to a household's file."""
    run(
        "attach_document",
        household=household_code,
        kind=kind,
        sha256=sha256,
        filename=filename,
        **env,
    )


@groups.household.command("vacated")
@click.option("--household", "household_code", required=True, help="The household code.")
@write_options
def record_vacated(household_code: str, **env: Any) -> None:
    """Record that a household moved out and handed over the keys."""
    run("record_vacated", household=household_code, **env)


@groups.complaint.command("file")
@click.option("--complaint", "complaint_id", required=True, help="The complaint's id.")
@click.option("--channel", required=True, type=click.Choice(CHANNELS), help="How it came in.")
@click.option("--household", "household_code", help="The household it is about.")
@click.option("--group", "group_code", help="The work group it is about.")
@click.option("--staff", "staff_code", help="The staff member it is about.")
@click.option("--policy", "policy_code", help="The policy it is about.")
@click.option("--summary", required=True, help="What was reported.")
@write_options
def file_complaint(
    complaint_id: str,
    channel: str,
    household_code: str | None,
    group_code: str | None,
    staff_code: str | None,
    policy_code: str | None,
    summary: str,
    **env: Any,
) -> None:
    """File a complaint about a household, group, staff member or policy."""
    about = {
        k: v
        for k, v in (
            ("household", household_code),
            ("group", group_code),
            ("staff", staff_code),
            ("policy", policy_code),
        )
        if v is not None
    }
    if not about:
        raise click.UsageError(
            "say what the complaint is about: --household, --group, --staff or --policy."
        )
    run(
        "file_complaint",
        complaint=complaint_id,
        channel=channel,
        about=about,
        summary=summary,
        **env,
    )


@groups.complaint.command("acknowledge")
@click.option("--complaint", "complaint_id", required=True, help="The complaint's id.")
@click.option("--note", help="A note for the record.")
@write_options
def acknowledge_complaint(complaint_id: str, note: str | None, **env: Any) -> None:
    """Acknowledge a complaint."""
    run("acknowledge_complaint", complaint=complaint_id, note=note, **env)


@groups.complaint.command("add")
@click.option("--complaint", "complaint_id", required=True, help="The complaint's id.")
@click.option("--text", required=True, help="What to add to the record.")
@write_options
def add_to_complaint(complaint_id: str, text: str, **env: Any) -> None:
    """Add to a complaint's record."""
    run("add_to_complaint", complaint=complaint_id, text=text, **env)


@groups.complaint.command("resolve")
@click.option("--complaint", "complaint_id", required=True, help="The complaint's id.")
@click.option("--finding", required=True, type=click.Choice(FINDINGS), help="The finding.")
@click.option("--outcome", required=True, help="What was done.")
@write_options
def resolve_complaint(complaint_id: str, finding: str, outcome: str, **env: Any) -> None:
    """Resolve a complaint with a finding (supervisors)."""
    run("resolve_complaint", complaint=complaint_id, finding=finding, outcome=outcome, **env)


@groups.complaint.command("reopen")
@click.option("--complaint", "complaint_id", required=True, help="The complaint's id.")
@click.option("--reason", required=True, help="Why it is reopened.")
@write_options
def reopen_complaint(complaint_id: str, reason: str, **env: Any) -> None:
    """Reopen a resolved complaint."""
    run("reopen_complaint", complaint=complaint_id, reason=reason, **env)


@groups.payout.command("request")
@click.option("--payout", "payout_id", required=True, help="The payout's id.")
@click.option("--household", "household_code", required=True, help="The household code.")
@click.option("--amount", required=True, metavar="YUAN", help="The amount, such as 356800.00.")
@write_options
def request_payout(payout_id: str, household_code: str, amount: str, **env: Any) -> None:
    """Request a payout against a signed agreement and a complete file."""
    run("request_payout", payout=payout_id, household=household_code, amount=amount, **env)


@groups.payout.command("confirm")
@click.option("--payout", "payout_id", required=True, help="The payout's id.")
@click.option("--bank-reference", required=True, help="The bank's reference for the transfer.")
@write_options
def confirm_payout(payout_id: str, bank_reference: str, **env: Any) -> None:
    """Confirm a payout (finance; never the requester)."""
    run("confirm_payout", payout=payout_id, bank_reference=bank_reference, **env)


@groups.policy.command("publish")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@write_options
def publish_policy(file: Path, **env: Any) -> None:
    """Publish a policy version from a JSON FILE (DOMAIN.md, the policy as data)."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise click.BadParameter(f"{file} does not exist.", param_hint="FILE") from None
    except (OSError, UnicodeDecodeError) as e:
        raise click.BadParameter(
            f"{file} is not a readable JSON file ({e}).", param_hint="FILE"
        ) from None
    document = read_json(text, str(file), "give a policy document (DOMAIN.md, the policy as data).")
    run("publish_policy", document=document, **env)
