"""A small, fast run of `oneruler bench`: every figure present and positive, and the
generated programme's bulletin equal to an independent count over its commands."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from ledger.simulation import POLICY


def independent_count(programme: Path) -> dict[str, int]:
    """The town's bulletin, counted from the command file alone (every line applies)."""
    households: set[str] = set()
    surveyed: set[str] = set()
    valued: set[str] = set()
    signed: dict[str, bool] = {}
    documents: dict[str, set[str]] = {}
    payout_of: dict[str, str] = {}
    paid: set[str] = set()
    complaints: Counter[str] = Counter()
    commands = [json.loads(line) for line in programme.read_text(encoding="utf-8").splitlines()]
    for c in sorted(commands, key=lambda c: c["at"]):
        kind = c["cmd"]
        if kind == "register_household":
            households.add(c["household"])
        elif kind == "record_survey":
            surveyed.add(c["household"])
        elif kind == "record_valuation":
            valued.add(c["household"])
        elif kind == "sign_agreement":
            signed[c["household"]] = True
        elif kind == "void_agreement":
            signed[c["household"]] = False
        elif kind == "attach_document":
            documents.setdefault(c["household"], set()).add(c["kind"])
        elif kind == "request_payout":
            payout_of[c["payout"]] = c["household"]  # the generator requests the agreed amount
        elif kind == "confirm_payout":
            paid.add(payout_of[c["payout"]])
        elif kind == "file_complaint":
            complaints[c["complaint"]] += 1
        elif kind == "resolve_complaint":
            complaints[c["complaint"]] -= 1
    required = set(POLICY["required_documents"])
    return {
        "households": len(households),
        "surveyed": len(surveyed),
        "valued": len(valued),
        "signed": sum(signed.values()),
        "files_complete": sum(1 for h in valued if required <= documents.get(h, set())),
        "paid": len(paid),
        "open_complaints": sum(1 for n in complaints.values() if n > 0),
    }


def test_a_small_bench_gives_every_figure_and_the_right_bulletin(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["bench", "--households", "200", "--json", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["households"] == 200 and figures["store"] == "sqlite"
    positive = [
        figures["ingest"]["commands_per_second"],
        figures["ingest"]["events_per_second"],
        figures["raw"]["rows_per_second"],
        figures["rebuild"]["events_per_second"],
        figures["verify"]["events_per_second"],
        figures["latency"]["household_show"]["median_ms"],
        figures["latency"]["household_show"]["p99_ms"],
        figures["latency"]["report_groups"]["median_ms"],
        figures["latency"]["report_groups"]["p99_ms"],
        figures["startup"]["household_show_process"]["median_ms"],
        figures["ingest_vs_raw"],
        *(figures[phase]["peak_rss_mb"] for phase in
          ("generate", "ingest", "raw", "rebuild", "verify", "latency", "startup")),
    ]
    assert all(value > 0 for value in positive)
    assert figures["ingest"]["rejected"] == 0
    # The same rows were counted by every phase.
    events = figures["ingest"]["events"]
    assert events == figures["raw"]["rows"] == figures["rebuild"]["events"]
    assert events == figures["verify"]["events"]
    total = figures["ingest"]["bulletin_total"]
    expected = independent_count(tmp_path / "programme.jsonl")
    assert {k: total[k] for k in expected} == expected
    assert total["signing_rate"] == round(expected["signed"] / expected["households"], 4)
