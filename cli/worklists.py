"""What the office looks up in its day's work: a household found by code, head's name
or ID number (`household search`), and finance's payouts, ready to pay, blocked (and
why) or paid (`payout list`)."""

from __future__ import annotations

import click

from cli import groups
from cli.labels import word
from cli.options import db_option, json_option, lang_option, print_json, reads_at, translate_errors
from cli.render import speaking, table
from projections.household_search import STATUSES

LANG_HELP = "Language of the labels."


@groups.household.command("search")
@click.argument("text", metavar="TEXT")
@click.option("--group", metavar="G", help="Only households of group G.")
@click.option("--status", type=click.Choice(STATUSES), help="Only households at this stage now.")
@json_option
@lang_option("en", LANG_HELP)
@db_option
@translate_errors
def search(
    text: str, group: str | None, status: str | None, as_json: bool, lang: str, db: str | None
) -> None:
    """Households whose code, head's name or head's full ID number is TEXT; else
    whose code or head's name begins with TEXT; else whose code or head's name holds
    TEXT. In code order, at most 100. TEXT "" lists the households of --group."""
    if not text.strip() and group is None:
        raise click.UsageError('give TEXT to search for, or --group G with TEXT "".')
    with reads_at(db) as reads:
        document = reads.search_households(text, group, status)
    if as_json:
        print_json(document)
        return
    if not document["households"]:
        click.echo(_none_found(text, group, status, lang))
        return
    with speaking(lang):
        table(
            ["household", "group", "village", "head", "status"],
            [[h[k] for k in ("household", "group", "village", "head", "status")]
             for h in document["households"]],
        )  # fmt: skip


def _none_found(text: str, group: str | None, status: str | None, lang: str) -> str:
    """What an empty search says: what was looked for, as given."""
    if lang == "zh":
        where_zh = f"工作组 {group} 中" if group is not None else ""
        stage_zh = f"{word(status, lang)}的" if status is not None else ""
        found = f"“{text.strip()}”" if text.strip() else ""
        return f"{where_zh}没有找到{found}{'相符的' if found else ''}{stage_zh}住户。"
    where = f" in group {group}" if group is not None else ""
    stage = f" {status}" if status is not None else ""
    if not text.strip():
        return f"no{stage} household found{where}"
    return f"no{stage} household found for {text}{where}"


@groups.payout.command("list")
@click.option("--ready", is_flag=True, help="Only payouts a confirmation would pass now.")
@click.option("--paid", is_flag=True, help="Only payouts confirmed, in the order they were paid.")
@click.option("--household", metavar="HH", help="Only the payouts of household HH.")
@click.option(
    "--for",
    "for_staff",
    metavar="STAFF",
    help="As confirmed by STAFF, who never confirms a payout they requested.",
)
@json_option
@lang_option("en", LANG_HELP)
@db_option
@translate_errors
def list_payouts(
    ready: bool,
    paid: bool,
    household: str | None,
    for_staff: str | None,
    as_json: bool,
    lang: str,
    db: str | None,
) -> None:
    """Payouts not yet paid, each ready to pay or not and why (the sentence a
    confirmation would be refused with now), then those paid."""
    if ready and paid:
        raise click.UsageError("choose one of --ready and --paid.")
    if household is not None and (ready or paid):
        raise click.UsageError("--household lists all of a household's payouts: leave out "
                               "--ready and --paid.")  # fmt: skip
    with reads_at(db) as reads:
        if for_staff is not None:
            for_staff = reads.check_confirmer(for_staff)
        if ready:
            document = reads.ready_payouts(for_staff)
        elif paid:
            document = reads.paid_payouts()
        else:
            document = reads.payouts(for_staff, household)
    if as_json:
        print_json(document)
        return
    rows = document["payouts"]
    with speaking(lang):
        if ready:
            columns = ["payout", "household", "amount", "requested_by", "requested_at"]
        elif paid:
            columns = ["payout", "household", "amount", "confirmed_by", "confirmed_at",
                       "bank_reference"]  # fmt: skip
        else:
            columns = ["payout", "household", "amount", "requested_by", "requested_at",
                       "status", "why"]  # fmt: skip
        table(columns, [[p[c] for c in columns] for p in rows])
