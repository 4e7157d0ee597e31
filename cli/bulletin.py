"""`oneruler report bulletin`: the daily bulletin as one self-contained page to open or print."""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast

import click

from cli import reports
from cli.labels import COLUMNS, LANGUAGES, label
from cli.options import BadInput, Refused, db_option, reads_at, translate_errors
from domain.values import LEDGER_TZ, end_of_day, parse_date
from ledger.reads import Reads
from projections.progress import days_between, ranked

TEXT = {
    "zh": {
        "title": "征收工作日通报",
        "day": "第 {n} 天",
        "groups": "各组进度",
        "ranking": "各组排名",
        "chart": "各组签约率（逐日）",
        "caption": "{first} 至 {last}，每日截至当日 24 时",
        "date": "日期",
        "source": "数据来源：oneruler 审计账本，按业务时间统计。",
    },
    "en": {
        "title": "Daily bulletin",
        "day": "day {n} of the programme",
        "groups": "Groups",
        "ranking": "Ranking",
        "chart": "Signing rate by day",
        "caption": "{first} to {last}, each day as of its end",
        "date": "date",
        "source": "Source: the oneruler audit ledger, by business time.",
    },
}

# One colour per group, saturated and none of them grey, so that a line can be
# told from the page's black text and grey rules (the browser test counts them).
# A programme with more groups than colours repeats them with another dash.
LINE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#ad494a",
)
DASHES = ("-", "--", ":", "-.")

# Families that draw simplified Chinese, preferred first; Debian ships the first
# (fonts-noto-cjk) and WenQuanYi (fonts-wqy-microhei).
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
)
CJK_FILE_HINTS = ("cjk", "wqy", "sourcehan", "droidsansfallback")

STYLE = """
:root { color: #111; background: #fff; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
       "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 24px auto; max-width: 1280px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 18px 0 6px; }
.meta { margin: 0; font-size: 15px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #999; padding: 3px 9px; }
th { font-weight: 600; border-bottom: 2px solid #111; }
td.n { text-align: right; }
tr.total td { font-weight: 700; border-top: 2px solid #111; }
.row { display: flex; gap: 28px; align-items: flex-start; }
.chart { flex: 1; min-width: 0; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 13px; }
footer { margin-top: 18px; font-size: 12px; border-top: 1px solid #999; padding-top: 6px; }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  * { background: none !important; }
  body { margin: 0; max-width: none; padding: 0; font-size: 9pt; line-height: 1.25; }
  h1 { font-size: 16pt; }
  h2 { font-size: 11pt; margin: 6pt 0 3pt; }
  .meta { font-size: 10pt; }
  th, td { padding: 0.5pt 5pt; }
  section, table, figure { break-inside: avoid; }
  /* A town of twelve groups fits one sheet: the chart gives way to the tables. */
  figure svg { max-height: 78mm; }
  figcaption, footer { font-size: 8pt; }
  footer { margin-top: 6pt; }
}
"""


@dataclass(frozen=True)
class Bulletin:
    """Everything the page shows, read from the ledger before anything is drawn."""

    day: date
    programme_day: int
    document: dict[str, Any]  # `report groups --json` as of the end of the day
    days: list[date]  # from the programme's first day up to the bulletin's
    # The same document at the end of each of those days (empty: read without it).
    history: list[dict[str, Any]]
    names: dict[str, str]
    checkpoint: tuple[int, str] | tuple[int, str, str] | None


def read(reads: Reads, day: date, *, history: bool = True) -> Bulletin:
    """The bulletin of a day; without history (a page that draws no chart), the
    documents of the days before are not read."""
    first = reads.first_business_day()
    if first is None:
        raise Refused(
            "there is no bulletin: the ledger has no household yet; ingest the programme first."
        )
    first_day = first.astimezone(LEDGER_TZ).date()
    if day < first_day:
        raise Refused(f"there is no bulletin before {first_day}; give a later --date.")
    today = reads.now().astimezone(LEDGER_TZ).date()
    if day > today:
        raise Refused(f"{day} is in the future; a bulletin reports a day up to today, {today}.")
    as_of = end_of_day(day, LEDGER_TZ)
    ends = days_between(first, as_of)
    return Bulletin(
        day=day,
        programme_day=(day - first_day).days + 1,
        document=reads.group_report(as_of),
        days=[end.date() for end in ends],
        history=reads.group_reports(ends) if history else [],
        names=reads.group_names(),
        checkpoint=reads.latest_checkpoint(),
    )


# --- the chart ---------------------------------------------------------------


def cjk_font() -> str | None:
    """A font family that matplotlib can draw Chinese with, or None."""
    from matplotlib import font_manager

    def known() -> str | None:
        names = {entry.name for entry in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FAMILIES if family in names), None)

    found = known()
    if found is None:
        # matplotlib keeps the font list it built when it first ran; a font package
        # installed since then is only found by looking on disk.
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower() for hint in CJK_FILE_HINTS):
                font_manager.fontManager.addfont(path)
        found = known()
    return found


def signing_chart(
    days: Sequence[date], rates: dict[str, list[float]], names: dict[str, str], lang: str
) -> str:
    """Each group's signing rate by day, as the text of one <svg> element."""
    # Imported here, not at the top: matplotlib takes a noticeable part of a second to
    # load, and every other command of the CLI would pay for it at start-up.
    import matplotlib
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    font = cjk_font() if lang == "zh" else None
    chinese = font is not None
    # Written out in the call, so that mypy checks each key against matplotlib's rc keys.
    with matplotlib.rc_context(
        {
            "svg.fonttype": "path",  # glyphs become paths: the page needs no font to show them
            "svg.hashsalt": "oneruler-bulletin",  # the same ledger gives the same page
            "font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
            "font.size": 10,
        }
    ):
        # A Figure of its own rather than pyplot: no global state, no GUI backend.
        figure = Figure(figsize=(8.2, 3.9), layout="constrained")
        axes = figure.add_subplot()
        # A day is drawn at its tick (its midnight), with half a day to spare either side.
        x = [datetime.combine(day, time()) for day in days]
        campaign = len(days) <= 62  # weeks: a marker and a tick per day (or every few)
        # matplotlib's stubs take only floats for x, though its date converter takes these
        # datetimes as they are (matplotlib/matplotlib#25676): the casts are for mypy alone.
        for i, (group, series) in enumerate(rates.items()):
            axes.plot(
                cast("list[float]", x),
                series,
                color=LINE_COLOURS[i % len(LINE_COLOURS)],
                linestyle=DASHES[i // len(LINE_COLOURS) % len(DASHES)],
                linewidth=2.2,
                marker="o" if campaign else "",
                markersize=3.5,
                # Without a CJK font the names would be empty boxes: ids are legible.
                label=names.get(group, group) if chinese else group,
            )
        # A little room below 0 and above 100%, so a flat line is not hidden by the axis.
        axes.set_ylim(-0.03, 1.05)
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        left, right = x[0] - timedelta(hours=12), x[-1] + timedelta(hours=12)
        axes.set_xlim(cast(float, left), cast(float, right))
        if campaign:
            axes.xaxis.set_major_locator(mdates.DayLocator(interval=math.ceil(len(days) / 10)))
            axes.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
        else:
            axes.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=8))
            axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
        axes.set_ylabel(label("signing_rate", "zh" if chinese else "en"))
        axes.set_xlabel(TEXT["zh" if chinese else "en"]["date"])
        axes.grid(True, color="#dddddd", linewidth=0.6)
        axes.spines[["top", "right"]].set_visible(False)
        if rates:
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # the XML prolog and doctype do not belong inline


# --- the page ------------------------------------------------------------------


def rate_cell(rate: float) -> str:
    # Two decimals of a percentage are exactly the four decimals of the JSON rate.
    return f"{rate * 100:.2f}%"


def cells(values: Sequence[tuple[str, bool]], tag: str = "td") -> str:
    return "".join(
        f'<{tag} class="n">{html.escape(text)}</{tag}>'
        if numeric
        else f"<{tag}>{html.escape(text)}</{tag}>"
        for text, numeric in values
    )


def figure_cells(row: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(rate_cell(row[c]) if c == "signing_rate" else str(row[c]), True) for c in COLUMNS[1:]]


def groups_table(bulletin: Bulletin, lang: str) -> str:
    head = cells([(label(c, lang), False) for c in ("group", "name", *COLUMNS[1:])], "th")
    rows = [
        f"<tr>{cells([(r['group'], False), (bulletin.names.get(r['group'], ''), False)])}"
        f"{cells(figure_cells(r))}</tr>"
        for r in bulletin.document["groups"]
    ]
    total = bulletin.document["total"]
    rows.append(
        f'<tr class="total">{cells([(label("total", lang), False), ("", False)])}'
        f"{cells(figure_cells(total))}</tr>"
    )
    return (
        f'<table id="groups"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def ranking_table(bulletin: Bulletin, lang: str) -> str:
    columns = ("rank", "group", "name", "signing_rate", "files_complete")
    head = cells([(label(c, lang), False) for c in columns], "th")
    rows = [
        "<tr>"
        + cells(
            [
                (str(place), True),
                (r["group"], False),
                (bulletin.names.get(r["group"], ""), False),
                (rate_cell(r["signing_rate"]), True),
                (str(r["files_complete"]), True),
            ]
        )
        + "</tr>"
        for place, r in enumerate(ranked(bulletin.document["groups"]), start=1)
    ]
    return (
        f'<table id="ranking"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def render(bulletin: Bulletin, lang: str) -> str:
    """The whole page: inline style, inline chart, nothing fetched from anywhere."""
    text = TEXT[lang]
    groups = [r["group"] for r in bulletin.document["groups"]]
    # A group created after the first day has no line before it existed (NaN is a gap).
    rates = {group: [math.nan] * len(bulletin.history) for group in groups}
    for i, document in enumerate(bulletin.history):
        for row in document["groups"]:
            if row["group"] in rates:
                rates[row["group"]][i] = row["signing_rate"]
    chart = signing_chart(bulletin.days, rates, bulletin.names, lang)
    as_of = bulletin.document["as_of"]
    shown_as_of = f"{as_of[:10]} {as_of[11:19]} {as_of[-6:]}"
    day = bulletin.day.isoformat()
    heading = f"{text['title']} · {day}"
    caption = text["caption"].format(first=bulletin.days[0], last=bulletin.days[-1])
    meta = (
        f"{html.escape(text['day'].format(n=bulletin.programme_day))} · {day} · "
        f"{html.escape(label('as_of', lang))} "
        f'<time datetime="{html.escape(as_of)}">{html.escape(shown_as_of)}</time>'
    )
    footer = [f"<p>{html.escape(text['source'])}</p>"]
    if bulletin.checkpoint is not None:
        size, root = bulletin.checkpoint[0], bulletin.checkpoint[1]
        footer.append(
            f'<p class="checkpoint">checkpoint: size {int(size)}, root {html.escape(root)}</p>'
        )
        if len(bulletin.checkpoint) > 2:
            # The signed note itself: saved as a file, `oneruler verify --against FILE`
            # proves that today's ledger still extends what this bulletin published.
            note = bulletin.checkpoint[2]
            footer.append(f'<pre class="checkpoint-note">{html.escape(note)}</pre>')
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if lang == "zh" else "en"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(heading)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{html.escape(text["title"])}</h1>
<p class="meta">{meta}</p>
</header>
<section>
<h2>{html.escape(text["groups"])}</h2>
{groups_table(bulletin, lang)}
</section>
<div class="row">
<section>
<h2>{html.escape(text["ranking"])}</h2>
{ranking_table(bulletin, lang)}
</section>
<section class="chart">
<h2>{html.escape(text["chart"])}</h2>
<figure>
{chart}
<figcaption>{html.escape(caption)}</figcaption>
</figure>
</section>
</div>
<footer>
{"".join(footer)}
</footer>
</body>
</html>
"""


# --- the command -----------------------------------------------------------------


@reports.report.command("bulletin")
@click.option("--date", "day", required=True, metavar="D", help="The day, e.g. 2018-03-12.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    metavar="FILE.html",
    help="Where to write the page.",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default="zh",
    show_default=True,
    help="Language of the page.",
)
@db_option
@translate_errors
def bulletin_command(day: str, output: Path, lang: str, db: str | None) -> None:
    """The daily bulletin of day D as one self-contained HTML page: the groups'
    figures and the town total, the ranking, and each group's signing rate by day."""
    when = parse_date(day, "--date")
    with reads_at(db) as reads:
        contents = read(reads, when)
    page = render(contents, lang)
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as e:
        raise BadInput(
            f"cannot write {output} ({e.strerror or e}); give -o a file in a writable directory."
        ) from None
    click.echo(f"wrote {output}")
