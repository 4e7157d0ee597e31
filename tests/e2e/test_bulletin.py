"""`oneruler report bulletin`: the page's figures against `report groups --json`, its
chart, its errors, and the page as a real browser draws it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli import bulletin
from cli.labels import COLUMNS
from cli.main import cli
from ledger.ingest import ingest
from ledger.reads import Reads
from ledger.store import open_ledger
from projections.progress import ranked
from tests.credentials import ADMIN

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"
DAY = "2018-03-12"  # day 12 of the sample: G01 has signed everyone, G02 no one
NAMES = {"G01": "第一工作组", "G02": "第二工作组"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(available: bool, what: str) -> None:
    """Skip on a developer's machine without `what`; fail under CI, which installs it."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is missing but CI is set: .ci/run installs it; check that step.")
    pytest.skip(f"{what} is not installed (.ci/run installs it); set CI=true to fail instead.")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("bulletin") / "ledger.db"
    ledger = open_ledger(str(path))
    try:
        report = ingest(ledger, SAMPLE.read_text(encoding="utf-8").splitlines(), ADMIN)
    finally:
        ledger.close()
    assert not report.rejected
    return str(path)


def make_page(db: str, out: Path, day: str = DAY, *more: str) -> str:
    result = run("report", "bulletin", "--date", day, "-o", str(out), "--db", db, *more)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out}\n"
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page_path(db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "bulletin.html"
    make_page(db, out)
    return out


@pytest.fixture(scope="module")
def page(page_path: Path) -> str:
    return page_path.read_text(encoding="utf-8")


def groups_json(db: str, day: str) -> dict[str, Any]:
    result = run("report", "groups", "--as-of", day, "--json", "--db", db)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


class Page(HTMLParser):
    """The page's tables (by id, rows of cell texts) and its elements, as parsed."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.tags: list[str] = []
        self.times: list[dict[str, str | None]] = []
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "time":
            self.times.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def figure(column: str, text: str) -> float | int:
    """A cell back as the JSON gives it: a percentage with two decimals is the rate's four."""
    if column == "signing_rate":
        assert text.endswith("%"), text
        return round(float(text[:-1]) / 100, 4)
    return int(text)


def svg_of(text: str) -> str:
    match = re.search(r"<svg\b.*?</svg>", text, flags=re.S)
    assert match, "the page has no <svg> element"
    return match.group(0)


# --- the page's contents -------------------------------------------------------


@pytest.mark.parametrize("day", ["2018-03-01", "2018-03-10", DAY, "2018-03-20", "2019-03-01"])
def test_the_table_holds_the_figures_of_report_groups(db: str, tmp_path: Path, day: str) -> None:
    document = groups_json(db, day)
    parsed = Page(make_page(db, tmp_path / "b.html", day))
    head, *body = parsed.tables["groups"]
    assert head == [
        *("工作组", "名称", "户数", "已摸底", "已评估", "已签约", "签约率"),
        *("档案完整", "已付清", "未结投诉"),
    ]
    figures = COLUMNS[1:]
    rows = [
        {"group": cells[0], **{c: figure(c, v) for c, v in zip(figures, cells[2:], strict=True)}}
        for cells in body
    ]
    assert rows[:-1] == document["groups"]
    assert [cells[1] for cells in body[:-1]] == [NAMES[r["group"]] for r in document["groups"]]
    assert body[-1][:2] == ["全镇合计", ""]
    assert {k: v for k, v in rows[-1].items() if k != "group"} == document["total"]
    assert [t.get("datetime") for t in parsed.times] == [document["as_of"]]


def test_the_figures_differ_from_day_to_day(db: str) -> None:
    # Guards the test above against a sample in which every day looks the same.
    assert groups_json(db, "2018-03-10")["total"] != groups_json(db, DAY)["total"]


def test_the_groups_are_ranked(db: str, page: str) -> None:
    document = groups_json(db, DAY)
    head, *body = Page(page).tables["ranking"]
    assert head == ["排名", "工作组", "名称", "签约率", "档案完整"]
    order = [r["group"] for r in ranked(document["groups"])]
    assert order == ["G01", "G02"]
    assert [cells[1] for cells in body] == order
    assert [cells[0] for cells in body] == ["1", "2"]
    assert [cells[3] for cells in body] == ["100.00%", "0.00%"]


def test_the_heading_names_the_programme_day_and_the_moment(page: str) -> None:
    assert "<h1>征收工作日通报</h1>" in page
    assert "第 12 天 · 2018-03-12 · 截至" in page
    assert '<time datetime="2018-03-12T23:59:59.999999+08:00">2018-03-12 23:59:59 +08:00' in page
    assert '<html lang="zh-CN">' in page


def test_the_english_page(db: str, tmp_path: Path) -> None:
    text = make_page(db, tmp_path / "en.html", DAY, "--lang", "en")
    parsed = Page(text)
    assert parsed.tables["groups"][0][:3] == ["group", "name", "households"]
    assert parsed.tables["groups"][-1][0] == "total"
    assert "day 12 of the programme · 2018-03-12 · as of" in text
    # An English chart labels its lines with the groups' ids.
    assert "<!-- G01 -->" in svg_of(text)


def test_the_chart_is_matplotlib_svg_with_chinese_names(page: str) -> None:
    svg = svg_of(page)
    assert Page(page).tags.count("svg") == 1
    assert "Matplotlib v" in svg  # matplotlib's own signature in the metadata
    assert svg.count("<path") > 20  # lines, markers and glyphs, not an empty frame
    require(bulletin.cjk_font() is not None, "a CJK font (fonts-noto-cjk)")
    # matplotlib notes each text it draws as a comment; that the names are drawn
    # as glyphs at all is guaranteed by filterwarnings=error (a missing glyph warns).
    for name in NAMES.values():
        assert f"<!-- {name} -->" in svg
    assert "<!-- 签约率 -->" in svg


def test_without_a_cjk_font_the_chart_falls_back_to_group_ids(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulletin, "cjk_font", lambda: None)
    text = make_page(db, tmp_path / "b.html")
    svg = svg_of(text)
    assert "<!-- G01 -->" in svg and "<!-- G02 -->" in svg
    assert "<!-- signing rate -->" in svg
    assert not re.search(r"<!-- [^>]*[\u4e00-\u9fff]", svg)
    assert Page(text).tables["groups"][1][1] == "第一工作组"  # the page itself is still Chinese


def test_the_page_fetches_nothing(page: str) -> None:
    assert not re.search(r"<(script|link|img|iframe|object)\b", page)
    assert "@import" not in page and not re.search(r"\bsrc=", page)
    # The chart refers to its own parts (clip paths, glyphs) and to nothing else.
    references = re.findall(r'xlink:href="([^"]*)"', page) + re.findall(r"url\(([^)]*)\)", page)
    assert references and all(ref.startswith("#") for ref in references)


def test_the_page_prints_on_a4_landscape(page: str) -> None:
    assert "@page { size: A4 landscape;" in page
    assert "@media print" in page


# --- the checkpoint hook -----------------------------------------------------------


def test_the_footer_shows_the_checkpoint_when_the_ledger_gives_one(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = "0f" * 32
    monkeypatch.setattr(Reads, "latest_checkpoint", lambda self: (36, root))
    text = make_page(db, tmp_path / "b.html")
    footer = text[text.index("<footer>") :]
    assert f"checkpoint: size 36, root {root}" in footer


def test_the_footer_shows_no_checkpoint_without_one(db: str, tmp_path: Path) -> None:
    assert "checkpoint:" not in make_page(db, tmp_path / "b.html")


# --- errors ----------------------------------------------------------------------


def one_sentence(result: Result, status: int) -> str:
    assert result.exit_code == status, result.output
    assert isinstance(result.exception, SystemExit)  # handled, not a traceback
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_day_before_the_programme_is_refused(db: str, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    result = run("report", "bulletin", "--date", "2018-02-28", "-o", str(out), "--db", db)
    assert one_sentence(result, 1) == (
        "Error: there is no bulletin before 2018-03-01; give a later --date."
    )
    assert not out.exists()


def test_a_ledger_without_households_has_no_bulletin(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = open_ledger(str(path))
    try:
        lines = SAMPLE.read_text(encoding="utf-8").splitlines()
        ingest(ledger, [line for line in lines if '"register_household"' not in line][:5], ADMIN)
    finally:
        ledger.close()
    result = run(
        "report", "bulletin", "--date", DAY, "-o", str(tmp_path / "b.html"), "--db", str(path)
    )
    assert "no household" in one_sentence(result, 1)


@pytest.mark.parametrize("where", ["missing directory", "a directory"])
def test_an_unwritable_output_is_bad_usage(db: str, tmp_path: Path, where: str) -> None:
    out = tmp_path / "nowhere" / "b.html" if where == "missing directory" else tmp_path
    result = run("report", "bulletin", "--date", DAY, "-o", str(out), "--db", db)
    assert one_sentence(result, 2).startswith(f"Error: cannot write {out} (")


def test_a_date_that_is_not_a_date_is_bad_usage(db: str, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    result = run("report", "bulletin", "--date", "2018-13-01", "-o", str(out), "--db", db)
    assert "is not a date" in one_sentence(result, 2)


def test_starting_the_cli_does_not_load_matplotlib() -> None:
    probe = "import sys, cli.main; print('matplotlib' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


# --- the page in a real browser ------------------------------------------------------

# Any pixel of a line colour comes from the chart: the page's own style is black,
# white and grey (bulletin.LINE_COLOURS are chosen to be none of those).
TOLERANCE = 24  # per channel, out of 255: anti-aliasing and colour management
MIN_PIXELS = 200  # per group; a drawn line of the sample gives about a thousand
MIN_SPAN = 300  # pixels across: lines over the days, not stray legend swatches


def screenshots(pages: list[Path], tmp_path: Path) -> list[Path]:
    """Each page as headless chromium draws it at 1400x1000, rendered side by side."""
    runs = []
    for i, html_file in enumerate(pages):
        png = tmp_path / f"shot-{i}.png"
        command = [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / f'profile-{i}'}",
            f"--screenshot={png}",
            "--window-size=1400,1000",
            html_file.resolve().as_uri(),
        ]
        runs.append(
            (png, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        )
    for png, process in runs:
        output, _ = process.communicate(timeout=90)
        assert process.returncode == 0, output.decode(errors="replace")[-2000:]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return [png for png, _ in runs]


def line_pixels(png: Path, colours: list[str]) -> tuple[dict[str, int], int]:
    """How many pixels have each colour, and how wide a span they cover together."""
    import numpy as np
    from matplotlib import image

    rgb = np.rint(image.imread(png)[..., :3] * 255).astype(int)
    counts = {}
    anywhere = np.zeros(rgb.shape[:2], dtype=bool)
    for colour in colours:
        target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        mask = np.all(np.abs(rgb - target) <= TOLERANCE, axis=-1)
        counts[colour] = int(mask.sum())
        anywhere |= mask
    columns = np.flatnonzero(anywhere.any(axis=0))
    return counts, int(columns[-1] - columns[0]) if columns.size else 0


def chart_drawn(found: tuple[dict[str, int], int]) -> bool:
    counts, span = found
    return all(n >= MIN_PIXELS for n in counts.values()) and span >= MIN_SPAN


def test_a_browser_draws_the_chart(page_path: Path, page: str, tmp_path: Path) -> None:
    require(shutil.which("chromium") is not None, "chromium")
    # The same page without its chart must fail the same check, or the check proves nothing.
    blank = tmp_path / "blank.html"
    blank.write_text(page.replace(svg_of(page), ""), encoding="utf-8")
    drawn, undrawn = screenshots([page_path, blank], tmp_path)
    colours = list(bulletin.LINE_COLOURS[: len(NAMES)])
    seen = line_pixels(drawn, colours)
    assert chart_drawn(seen), seen
    assert not chart_drawn(line_pixels(undrawn, colours))
