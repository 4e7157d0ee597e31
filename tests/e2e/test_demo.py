"""`oneruler demo`: the bulletin it prints, checked against an independent count of
the programme it generates."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from simulation.programme import Programme
from tests.counting import independent_count

COLUMNS = (
    "households",
    "surveyed",
    "valued",
    "signed",
    "signing_rate",
    "files_complete",
    "paid",
    "open_complaints",
)


def test_the_demo_prints_the_bulletin_of_its_programme(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--households", "150", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"built 150 households in {tmp_path / 'xingcheng.db'}: "
        f"applied {len(list(Programme(150, 12, 2018)))}, skipped 0 (already applied), rejected 0"
    )
    total = next(line for line in lines if line.startswith("total "))
    printed = dict(zip(COLUMNS, total.split()[1:], strict=True))
    expected = independent_count(list(Programme(150, 12, 2018)))
    assert {k: int(printed[k]) for k in expected} == expected
    assert printed["signing_rate"] == f"{expected['signed'] / expected['households'] * 100:.1f}%"
    assert lines[-1].startswith("checkpoint: size ")
    assert (tmp_path / "xingcheng-2018.pub").exists()
    assert (tmp_path / "xingcheng-2018.key").stat().st_mode & 0o777 == 0o600


def test_the_demo_refuses_a_folder_that_already_holds_a_ledger(tmp_path: Path) -> None:
    (tmp_path / "xingcheng.db").write_bytes(b"")
    result = CliRunner().invoke(cli, ["demo", "--households", "20", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'xingcheng.db'} already exists; give another --dir or remove it.\n"
    )
