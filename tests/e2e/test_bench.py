"""A small, fast run of `oneruler bench`: every figure present and positive, and the
generated programme's bulletin equal to an independent count over its commands."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from tests.conftest import SAMPLE
from tests.counting import independent_count
from tests.credentials import token_for


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
        figures["reads_during_ingest"]["household_show"]["median_ms"],
        figures["reads_during_ingest"]["reads"],
        figures["ingest_vs_raw"],
        figures["ingest"]["wal_peak_mb"],
        figures["ingest"]["cpu_seconds"],
        figures["rebuild"]["cpu_seconds"],
        figures["verify"]["cpu_seconds"],
        *(
            figures[phase]["peak_rss_mb"]
            for phase in (
                "generate",
                "ingest",
                "raw",
                "rebuild",
                "verify",
                "audit",
                "latency",
                "startup",
                "reads_during_ingest",
            )
        ),
        figures["audit"]["checkpoint_seconds"],
        figures["audit"]["bundle_bytes"]["median"],
        figures["audit"]["audit_verify"]["median_ms"],
        figures["audit"]["verify_seconds"],
    ]
    assert all(value > 0 for value in positive)
    assert figures["ingest"]["rejected"] == 0
    # 2,770 commands: too few for a second process to keep the read models, fold
    # households or check the log.
    assert figures["ingest"]["follower_peak_rss_mb"] == 0
    assert figures["rebuild"]["worker_peak_rss_mb"] == 0
    assert figures["rebuild"]["worker_share"] == 0
    assert figures["verify"]["worker_peak_rss_mb"] == 0
    assert figures["ingest"]["follower_cpu_seconds"] == 0
    assert figures["rebuild"]["worker_cpu_seconds"] == 0
    assert figures["verify"]["worker_cpu_seconds"] == 0
    # The same rows were counted by every phase.
    events = figures["ingest"]["events"]
    assert events == figures["raw"]["rows"] == figures["rebuild"]["events"]
    assert events == figures["verify"]["events"]
    # The audit phase's checkpoint appended the map head, and verify checked it too.
    assert figures["audit"]["log_size"] == figures["audit"]["verify_events"] == events + 1
    total = figures["ingest"]["bulletin_total"]
    lines = (tmp_path / "programme.jsonl").read_text(encoding="utf-8").splitlines()
    expected = independent_count([json.loads(line) for line in lines])
    assert {k: total[k] for k in expected} == expected
    assert total["signing_rate"] == round(expected["signed"] / expected["households"], 4)


def test_the_bench_refuses_a_store_that_holds_events(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "held.db"
    ingest = ["ingest", str(SAMPLE), "--db", str(db)]
    assert runner.invoke(cli, ingest, env={"ONERULER_TOKEN": token_for(str(db))}).exit_code == 0
    result = runner.invoke(
        cli, ["bench", "--households", "10", "--db", str(db), "--dir", str(tmp_path / "b")]
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: the store at {db} already holds ")
    assert "events; give an empty one (for PostgreSQL a new ?schema=NAME); the bench stopped." in (
        result.output
    )


def test_the_bench_names_a_store_it_cannot_use_in_one_sentence(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["bench", "--households", "10", "--db", "mysql://x", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert result.output == (
        "Error: the store URL mysql://x is not one the ledger knows; "
        "use sqlite:///PATH (or a bare path) or postgresql://...\n"
    )


def test_the_table_says_how_much_of_the_rebuild_a_second_process_folded() -> None:
    from cli.bench import rows

    run = Path(__file__).parents[2] / "benchmarks" / "runs" / "1000000-sqlite-ac22080.json"
    figures = json.loads(run.read_text(encoding="utf-8"))
    figures["rebuild"]["worker_share"] = 0.4261

    def rebuild_row() -> list[str]:
        return next(row for row in rows(figures) if row[0] == "projections rebuild")

    assert rebuild_row() == [
        "projections rebuild",
        "70,844/s",
        "208.7 s, 43% folded by a second process",
        "147 MB + 87 MB",
    ]
    figures["rebuild"]["worker_share"] = 0.0
    assert rebuild_row()[2] == "208.7 s"
