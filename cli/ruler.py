"""`oneruler dispute`, `report consistency` and `report disclosure`: one household
replayed against its peers, every departure from the ruler, and the masked
per-household compensation list (分户补偿情况公布)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from cli import checks, reports
from cli.options import (
    check_one_format,
    db_option,
    json_option,
    lang_option,
    print_json,
    reads_at,
    translate_errors,
    xlsx_option,
)
from cli.reads import as_of_option, known, known_at_option, moment
from cli.render import (
    as_text_cells,
    language,
    recorded,
    speaking,
    spreadsheet_row,
    table,
)
from projections import consistency

PEERS_SHOWN = 10

# --- dispute ---------------------------------------------------------------------


@click.command("dispute")
@click.argument("household_code", metavar="HH")
@as_of_option
@known_at_option
@click.option(
    "--policy-version",
    "policy_version",
    type=click.IntRange(min=1),
    metavar="N",
    help="What if: the same items under version N of the same policy (writes nothing).",
)
@click.option(
    "--all-peers", is_flag=True, help=f"List every peer [default: the first {PEERS_SHOWN}]."
)
@json_option
@lang_option("en", "Language of the labels.")
@db_option
@translate_errors
def dispute(
    household_code: str,
    as_of: str | None,
    known_at: str | None,
    policy_version: int | None,
    all_peers: bool,
    as_json: bool,
    lang: str,
    db: str | None,
) -> None:
    """Replay household HH's pricing from the record (policy version, rates line by
    line, valuations and reviews with who and when, agreement and deviation) beside
    its peers (same village, same structure types), with a verdict."""
    with reads_at(db) as reads:
        document = reads.dispute(
            household_code, moment(as_of, reads), policy_version, known(known_at)
        )
    if as_json:
        print_json(document)
        return
    with speaking(lang):
        show_dispute(document, all_peers)


def show_dispute(d: dict[str, Any], all_peers: bool) -> None:
    policy = d["policy"]
    click.echo(f"{d['household']}  group {d['group']}  village {d['village']}  as of {d['as_of']}")
    click.echo(
        f"priced under {policy['policy']} version {policy['version']} "
        f"({policy['title']}, effective {policy['effective']}); "
        f"valuation {d['valuation']['valuation']} by {d['valuation']['valued_by']} "
        f"on {d['valuation']['valued_at']}; incentives judged at {d['priced_at']}"
    )
    click.echo()
    table(
        ["kind", "item", "quantity", "rate", "amount", "condition"],
        [
            [ln["kind"], ln["item"], ln["quantity"], ln["rate"], ln["amount"], ln["condition"]]
            for ln in d["lines"]
        ],
    )
    for missed in d["incentives_not_applied"]:
        click.echo(f"not applied: {missed['name']} {missed['amount']} ({missed['condition']})")
    click.echo(
        f"entitlement {d['entitlement']}  ({d['entitlement_per_m2'] or '-'} per m² "
        f"of {d['building_area_m2']} m² building area)"
    )
    agreement = d["agreement"]
    if agreement is None:
        click.echo("agreement: none in force")
    else:
        deviation = agreement["deviation"]
        click.echo(
            f"agreement {agreement['agreement']} ({agreement['method']}) signed "
            f"{agreement['signed_at']} by {agreement['signed_by']}: {agreement['amount']}"
            + (
                f", deviation {deviation['difference']}: {deviation['reason']} "
                f"(approved by {deviation['approved_by']})"
                if deviation
                else ", no deviation"
            )
        )
    click.echo()
    click.echo("record")
    table(
        ["occurred_at", "recorded_at", "actor", "step", "details"],
        [
            [s["occurred_at"], recorded(s["recorded_at"]), s["actor"], s["step"], _step_details(s)]
            for s in d["record"]
        ],
    )
    click.echo()
    show_peers(d, all_peers)
    click.echo()
    verdict = d["verdict"]
    if language() == "zh":
        click.echo("结论：" + verdict["summary_zh"])
        for finding in verdict["findings"]:
            click.echo(f"- {finding['text_zh']}")
    else:
        click.echo("verdict: " + verdict["summary"])
        for finding in verdict["findings"]:
            click.echo(f"- {finding['text']}")
    if d["what_if"] is not None:
        click.echo()
        show_what_if(d["what_if"])


def _step_details(s: dict[str, Any]) -> str:
    if s["step"] == "survey":
        areas = ", ".join(f"{k} {v}" for k, v in s["building_area_m2"].items())
        return f"{areas}; land {s['land_area_m2']}" + (f"; {s['reason']}" if s["reason"] else "")
    if s["step"] in ("valuation", "review"):
        items = ", ".join(f"{i['item']} {i['quantity'] or i['value']}" for i in s["items"])
        reviews = f" reviews {s['reviews']}" if s["reviews"] else ""
        return (
            f"{s['valuation']}{reviews} under {s['policy']} v{s['version']}: {items} "
            f"→ {s['entitlement']}"
        )
    if s["step"] == "agreement":
        deviation = s["deviation"]
        return f"{s['agreement']} {s['method']} {s['amount']} (entitlement {s['entitlement']})" + (
            f"; deviation: {deviation['reason']}, {deviation['approved_by']}" if deviation else ""
        )
    return f"{s['agreement']} voided: {s['reason']}"


def show_peers(d: dict[str, Any], all_peers: bool) -> None:
    peers = d["peers"]
    structures = ", ".join(s.removeprefix("building:") for s in peers["structures"])
    click.echo(
        f"peers: {peers['count']} valued households of {peers['village']} "
        f"with the structure types {structures or '(none)'}"
    )
    households = peers["households"]
    if not households:
        return
    rulers = Counter(
        (p["policy"], p["version"], tuple(sorted(p["rates"].items()))) for p in households
    )
    for (policy, version, rates), count in sorted(rulers.items()):
        click.echo(
            f"  {count} under {policy} v{version} at "
            + ", ".join(f"{item} {rate}" for item, rate in rates)
        )
    items = sorted(d["rates"])
    # Peers that differ come first: they are what a dispute is about.
    own_ruler = (d["policy"]["policy"], d["policy"]["version"])
    ordered = sorted(
        households,
        key=lambda p: (
            (p["policy"], p["version"]) == own_ruler and not p["deviation"] and not p["reviewed"],
            p["household"],
        ),
    )
    shown = ordered if all_peers else ordered[:PEERS_SHOWN]
    own = {
        "household": f"{d['household']} (this)",
        "policy": d["policy"]["policy"],
        "version": d["policy"]["version"],
        "rates": d["rates"],
        "building_area_m2": d["building_area_m2"],
        "entitlement_per_m2": d["entitlement_per_m2"],
        "agreed": d["agreement"]["amount"] if d["agreement"] else None,
        "deviation": d["agreement"]["deviation"] if d["agreement"] else None,
        "reviewed": [r["valuation"] for r in d["reviews"]],
    }
    table(
        [
            "household",
            "version",
            *(f"{i} /m²" for i in items),
            "area m²",
            "yuan/m²",
            "agreed",
            "deviation",
            "reviewed",
        ],
        [
            [
                p["household"],
                f"{p['policy']} v{p['version']}",
                *(p["rates"].get(i) for i in items),
                p["building_area_m2"],
                p["entitlement_per_m2"],
                p["agreed"],
                (
                    f"{p['deviation']['difference']} ({p['deviation']['approved_by']})"
                    if p["deviation"]
                    else None
                ),
                ", ".join(p["reviewed"]) or None,
            ]
            for p in [own, *shown]
        ],
    )
    if len(shown) < len(households):
        click.echo(
            f"... and {len(households) - len(shown)} more peers (--all-peers lists them, "
            "--json gives them as data)"
        )


def show_what_if(w: dict[str, Any]) -> None:
    click.echo(
        f"what if: the same items under {w['policy']} version {w['version']} "
        f"(effective {w['effective']}), incentives judged at {w['priced_at']}; nothing written"
    )
    table(
        ["kind", "item", "quantity", "rate", "other rate", "amount", "other amount", "difference"],
        [
            [
                r["kind"],
                r["item"],
                r["quantity"],
                r["rate"],
                r["other_rate"],
                r["amount"],
                r["other_amount"],
                r["difference"],
            ]
            for r in w["lines"]
        ],
    )
    click.echo(
        f"entitlement {w['entitlement']} → {w['other_entitlement']} (difference {w['difference']})"
    )


# --- report consistency ------------------------------------------------------------


@reports.report.command("consistency")
@as_of_option
@known_at_option
@json_option
@lang_option("en", "Language of the labels.")
@db_option
@translate_errors
def consistency_report(
    as_of: str | None, known_at: str | None, as_json: bool, lang: str, db: str | None
) -> None:
    """Every departure from the ruler: agreements in force that depart from their
    entitlement, households priced under another policy version than their
    village's, reviewed valuations, and voided agreements; and every approval or
    money act (approving a deviation, voiding an agreement, resolving a complaint,
    confirming a payout) entered on someone else's behalf."""
    with reads_at(db) as reads:
        document = reads.consistency(moment(as_of, reads), known(known_at))
    if as_json:
        print_json(document)
        return
    with speaking(lang):
        click.echo(f"as of {document['as_of']}")
        if consistency.is_empty(document):
            click.echo("no departures from the ruler")
        else:
            show_consistency(document)
        show_entered_for_others(document["entered_for_others"])


def show_entered_for_others(acts: list[dict[str, Any]]) -> None:
    """Approvals and money acts entered by someone other than their actor."""
    click.echo()
    if not acts:
        click.echo("no approval or money act was entered on someone else's behalf")
        return
    click.echo(f"approvals and money acts entered on someone else's behalf: {len(acts)}")
    table(
        ["act", "household", "complaint", "what", "by", "entered by", "at", "recorded"],
        [
            [
                a["act"],
                a["household"],
                a["complaint"],
                a["what"],
                a["actor"],
                a["entered_by"],
                a["occurred_at"],
                recorded(a["recorded_at"]),
            ]
            for a in acts
        ],
    )


def recorded_on(at: str | None) -> str:
    """Whether a deviation's approval is in the record, and when it was recorded."""
    if not at:
        return "named by the clerk only"  # a word of cli/labels.py, said in Chinese there
    return f"已记录 {at}" if language() == "zh" else f"recorded {at}"


def show_consistency(d: dict[str, Any]) -> None:
    sections = [
        (
            "deviations: agreements in force that depart from their entitlement",
            [
                "household",
                "group",
                "agreement",
                "entitlement",
                "agreed",
                "difference",
                "reason",
                "approved by",
                "approval",
                "signed by",
            ],
            [
                [
                    e["household"],
                    e["group"],
                    e["agreement"],
                    e["entitlement"],
                    e["agreed"],
                    e["difference"],
                    e["reason"],
                    e["approved_by"],
                    recorded_on(e["approval_recorded_at"]),
                    e["signed_by"],
                ]
                for e in d["deviations"]
            ],
        ),
        (
            "policy versions: priced under another version than the village's",
            [
                "household",
                "village",
                "valuation",
                "valued at",
                "version",
                "village's",
                "latest in effect then",
                "rates that differ",
            ],
            [
                [
                    e["household"],
                    e["village"],
                    e["valuation"],
                    e["valued_at"],
                    f"{e['policy']} v{e['version']}",
                    f"{e['in_force']['policy']} v{e['in_force']['version']} "
                    f"({e['village_households']['in_force']} of "
                    f"{e['village_households']['valued']})",
                    e["latest_effective_at_valuation"],
                    "; ".join(f"{c['name']} {c['old']} → {c['new']}" for c in e["rate_changes"])
                    or "none",
                ]
                for e in d["policy_versions"]
            ],
        ),
        (
            "reviews: valuations that review an earlier one",
            [
                "household",
                "valuation",
                "reviews",
                "reviewed at",
                "by",
                "changes",
                "entitlement before",
                "after",
                "difference",
            ],
            [
                [
                    e["household"],
                    e["valuation"],
                    e["reviews"],
                    e["reviewed_at"],
                    e["reviewed_by"],
                    "; ".join(f"{c['item']} {c['before']} → {c['after']}" for c in e["changes"])
                    or "none",
                    e["entitlement_before"],
                    e["entitlement_after"],
                    e["difference"],
                ]
                for e in d["reviews"]
            ],
        ),
        (
            "voided agreements",
            [
                "household",
                "agreement",
                "amount",
                "voided at",
                "by",
                "reason",
                "signed again",
                "amount again",
            ],
            [
                [
                    e["household"],
                    e["agreement"],
                    e["amount"],
                    e["voided_at"],
                    e["voided_by"],
                    e["reason"],
                    e["re_signed"]["agreement"] if e["re_signed"] else "not yet",
                    e["re_signed"]["amount"] if e["re_signed"] else None,
                ]
                for e in d["voided"]
            ],
        ),
    ]
    for title, headers, rows in sections:
        click.echo()
        click.echo(f"{title}: {len(rows)}")
        if rows:
            table(headers, rows)
    checks.show_sections(d)


# --- report disclosure -------------------------------------------------------------

DISCLOSURE_LABELS = {
    "en": {
        "title": "Per-household compensation",
        "household": "household",
        "head": "head",
        "id_number": "ID number",
        "group": "group",
        "village": "village",
        "area": "area m² ({structure})",
        "land_area_m2": "land m²",
        "building": "building",
        "land": "land",
        "other_priced": "other priced",
        "appraised": "appraised",
        "per_household": "per household",
        "incentives": "incentives",
        "entitlement": "entitlement",
        "agreed": "agreed",
        "difference": "deviation",
        "method": "method",
        "as_of": "as of",
    },
    "zh": {
        "title": "分户补偿情况公布",
        "household": "户号",
        "head": "户主",
        "id_number": "身份证号",
        "group": "工作组",
        "village": "村",
        "area": "{structure}结构面积(㎡)",
        "land_area_m2": "土地面积(㎡)",
        "building": "房屋补偿",
        "land": "土地补偿",
        "other_priced": "其他计价补偿",
        "appraised": "附属物评估",
        "per_household": "按户补助",
        "incentives": "奖励",
        "entitlement": "应补偿额",
        "agreed": "协议金额",
        "difference": "偏离标准",
        "method": "补偿方式",
        "as_of": "截至",
    },
}
STRUCTURES_ZH = {"brick_concrete": "砖混", "brick_wood": "砖木", "simple": "简易"}
METHODS_ZH = {"monetary": "货币补偿", "property_swap": "产权调换"}
# The disclosed amounts, in the order the read model gives them.
AMOUNTS = consistency.DISCLOSED[
    consistency.DISCLOSED.index("building") : consistency.DISCLOSED.index("method")
]


def structures_in(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({s for r in rows for s in r["building_area_m2"]})


def disclosure_headers(structures: list[str], lang: str) -> list[str]:
    labels = DISCLOSURE_LABELS[lang]
    names = STRUCTURES_ZH if lang == "zh" else {}
    return [
        *(labels[k] for k in ("household", "head", "id_number", "group", "village")),
        *(labels["area"].format(structure=names.get(s, s)) for s in structures),
        *(labels[k] for k in ("land_area_m2", *AMOUNTS, "method")),
    ]


def disclosure_cells(row: dict[str, Any], structures: list[str], lang: str) -> list[Any]:
    method = row["method"]
    if lang == "zh" and method is not None:
        method = METHODS_ZH.get(method, method)
    return [
        *(row[k] for k in ("household", "head", "id_number", "group", "village")),
        *(row["building_area_m2"].get(s) for s in structures),
        row["land_area_m2"],
        *(row[k] for k in AMOUNTS),
        method,
    ]


def disclosure_csv(document: dict[str, Any], lang: str) -> str:
    rows = document["households"]
    structures = structures_in(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(disclosure_headers(structures, lang))
    for row in rows:
        cells = disclosure_cells(row, structures, lang)
        writer.writerow(spreadsheet_row(["" if v is None else v for v in cells]))
    return out.getvalue()


@reports.report.command("disclosure")
@click.option("--group", "group", metavar="G", help="One work group only [default: all].")
@as_of_option
@known_at_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV, one row per household.")
@xlsx_option
@json_option
@lang_option("zh", "Language of the labels (Chinese: it is posted for the households).")
@db_option
@translate_errors
def disclosure(
    group: str | None,
    as_of: str | None,
    known_at: str | None,
    as_csv: bool,
    xlsx: Path | None,
    as_json: bool,
    lang: str,
    db: str | None,
) -> None:
    """The per-household compensation list to post (分户补偿情况公布): areas by
    structure, the entitlement's parts, the agreed amount and method; the head's
    name and the ID number masked in every output."""
    check_one_format(as_json, as_csv, xlsx)
    with reads_at(db) as reads:
        document = reads.disclosure(group, moment(as_of, reads), known(known_at))
    if as_json:
        print_json(document)
    elif as_csv:
        click.echo(disclosure_csv(document, lang), nl=False)
    elif xlsx is not None:
        write_disclosure_xlsx(xlsx, document, lang)
        click.echo(f"wrote {xlsx}")
    else:
        labels = DISCLOSURE_LABELS[lang]
        click.echo(f"{labels['title']}  {labels['as_of']} {document['as_of']}")
        structures = structures_in(document["households"])
        table(
            disclosure_headers(structures, lang),
            [disclosure_cells(r, structures, lang) for r in document["households"]],
        )


def write_disclosure_xlsx(path: Path, document: dict[str, Any], lang: str) -> None:
    from openpyxl import Workbook  # imported here: slow to import, used by this option only
    from openpyxl.styles import Font

    labels = DISCLOSURE_LABELS[lang]
    rows = document["households"]
    structures = structures_in(rows)
    headers = disclosure_headers(structures, lang)
    numeric = {i for i, h in enumerate(headers) if i >= 5}  # areas and amounts
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = labels["title"]
    sheet.append([labels["title"], labels["as_of"], document["as_of"]])
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        cells = disclosure_cells(row, structures, lang)
        sheet.append(
            spreadsheet_row(
                [
                    Decimal(v) if i in numeric and isinstance(v, str) and _decimal(v) else v
                    for i, v in enumerate(cells)
                ]
            )
        )
        as_text_cells(sheet[sheet.max_row])
    try:
        book.save(path)
    except OSError as e:
        raise click.BadParameter(
            f"cannot write {path} ({e.strerror}).", param_hint="--xlsx"
        ) from None


def _decimal(text: str) -> bool:
    return text.replace(".", "", 1).lstrip("-").isdigit()
