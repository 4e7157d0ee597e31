"""The read commands of the ledger core: a household's state and history as of
any business time, and the published policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from cli import groups
from cli.labels import entered
from cli.options import (
    F,
    db_option,
    json_option,
    lang_option,
    print_json,
    reads_at,
    translate_errors,
)
from cli.render import fields, language, recorded, speaking, table
from domain.values import LEDGER_TZ, parse_as_of
from ledger.commands.outcome import WORDS_ZH
from ledger.event_names import details, event_name
from ledger.reads import Reads


def as_of_option(f: F) -> F:
    return click.option(
        "--as-of",
        metavar="T",
        help="A business time: ISO 8601 date or date-time "
        "(a bare date means the end of that day, +08:00).",
    )(f)


def known_at_option(f: F) -> F:
    return click.option(
        "--known-at",
        metavar="T",
        help="Only what the ledger had recorded by T (recorded time, ISO 8601 date or "
        "date-time; a bare date means the end of that day, +08:00) [default: all].",
    )(f)


def known(value: str | None) -> datetime | None:
    """A --known-at moment (None: everything recorded)."""
    return None if value is None else parse_as_of(value, LEDGER_TZ, "--known-at")


def moment(value: str | None, reads: Reads) -> datetime:
    if value is None:
        return reads.now().astimezone(LEDGER_TZ)
    return parse_as_of(value, LEDGER_TZ)


@groups.household.command("show")
@click.argument("household_code", metavar="HH")
@as_of_option
@known_at_option
@json_option
@lang_option("en", "Language of the labels.")
@db_option
@translate_errors
def show(
    household_code: str,
    as_of: str | None,
    known_at: str | None,
    as_json: bool,
    lang: str,
    db: str | None,
) -> None:
    """The state of household HH, now or as of a business time."""
    with reads_at(db) as reads:
        document = reads.household(household_code, moment(as_of, reads), known(known_at))
    if as_json:
        print_json(document)
        return
    with speaking(lang):
        fields(document)


@groups.household.command("history")
@click.argument("household_code", metavar="HH")
@as_of_option
@known_at_option
@json_option
@lang_option("en", "Language of the labels.")
@db_option
@translate_errors
def history(
    household_code: str,
    as_of: str | None,
    known_at: str | None,
    as_json: bool,
    lang: str,
    db: str | None,
) -> None:
    """Every event of household HH and of its complaints, in business-time order."""
    with reads_at(db) as reads:
        when = moment(as_of, reads) if as_of is not None else None
        document = reads.household_history(household_code, when, known(known_at))
    if as_json:
        print_json(document)
        return
    rows = document["events"]
    with speaking(lang):
        _history_table(rows)


def _history_table(rows: list[dict[str, Any]]) -> None:
    lang = language()
    table(
        ["occurred_at", "recorded_at", "actor", "event", "details"],
        [
            [
                r["occurred_at"],
                recorded(r["recorded_at"]),
                entered(r["actor"], r["entered_by"], lang),
                event_name(r["type"], lang) if lang == "zh" else r["type"],
                details(r["data"], lang),
            ]
            for r in rows
        ],
    )


@groups.policy.command("show")
@click.argument("policy_code", metavar="ID")
@click.option("--version", "version", type=int, help="Which version [default: the latest].")
@click.option(
    "--diff", type=int, nargs=2, metavar="A B", help="What changed from version A to version B."
)
@json_option
@lang_option("en", "Language of the labels.")
@db_option
@translate_errors
def show_policy(
    policy_code: str,
    version: int | None,
    diff: tuple[int, int] | None,
    as_json: bool,
    lang: str,
    db: str | None,
) -> None:
    """A published policy version, as it was published; or what changed between two."""
    if diff is not None and version is not None:
        raise click.UsageError("choose one of --version and --diff.")
    with reads_at(db) as reads:
        if diff is not None:
            document = reads.policy_diff(policy_code, diff[0], diff[1])
            if as_json:
                print_json(document)
            else:
                with speaking(lang):
                    show_policy_diff(document)
            return
        policy = reads.policy(policy_code)
        number = version if version is not None else policy.latest_version
        policy.version_of(number)  # refuses a version that was never published
        document = policy.documents[number - 1]
    if as_json:
        print_json(
            {
                "policy": policy_code,
                "version": number,
                "versions": len(policy.documents),
                "document": document,
            }
        )
        return
    with speaking(lang):
        show_policy_version(policy_code, number, len(policy.documents), document)


def show_policy_version(code: str, number: int, versions: int, document: dict[str, Any]) -> None:
    """One version of a policy as published: its rates, per-household sums, incentives
    and required documents (codes and amounts as written)."""
    zh = language() == "zh"
    if zh:
        click.echo(
            f"{document['title']}（{code} 第 {number} 版，共 {versions} 版，"
            f"{document['effective']} 起施行）"
        )
    else:
        click.echo(
            f"{document['title']}  ({code} version {number} of {versions}, "
            f"effective {document['effective']})"
        )
    table(["rate", "yuan"], sorted(document["rates"].items()))
    if document.get("per_household"):
        table(["per household", "yuan"], sorted(document["per_household"].items()))
    if document.get("incentives"):
        # "signed by" here is a deadline, not who signed: its own heading in Chinese.
        table(
            ["incentive", "yuan", "sign by" if zh else "signed by"],
            [[i["name"], i["amount"], i["signed_by"]] for i in document["incentives"]],
        )
    required = document.get("required_documents", [])
    if zh:
        click.echo("所需材料：" + "、".join(WORDS_ZH.get(kind, kind) for kind in required))
    else:
        click.echo("required documents: " + ", ".join(required))


# The sections of a policy, as `policy show --diff` names them in Chinese.
POLICY_SECTIONS_ZH = {
    "rates": "单价",
    "per_household": "每户补助",
    "incentives": "奖励",
    "required_documents": "所需材料",
    "deadlines": "办理期限",
    "block_payout_on_open_complaint": "未结投诉暂停支付",
    "effective": "施行日期",
    "title": "标题",
}


def show_policy_diff(document: dict[str, Any]) -> None:
    """What changed from one version of a published policy to another."""
    zh = language() == "zh"
    names = POLICY_SECTIONS_ZH if zh else {}
    rows = [
        [names.get(section, section), c["name"], c["change"], c["old"], c["new"]]
        for section, changes in document["changes"].items()
        for c in changes
    ]
    if zh:
        click.echo(f"{document['policy']}：第 {document['from']} 版到第 {document['to']} 版的变化")
    else:
        click.echo(
            f"{document['policy']}: what changed from version {document['from']} "
            f"to version {document['to']}"
        )
    if rows:
        table(["section", "name", "change", "old", "new"], rows)
    else:
        click.echo("没有变化" if zh else "no differences")
