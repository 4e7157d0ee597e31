"""`oneruler demo`: the bulletin it prints, checked against an independent count of
the programme it generates; the passwords it sets, one for each of its staff."""

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


def test_the_demo_prints_the_bulletin_of_its_programme_and_logs_its_staff_in(
    tmp_path: Path,
) -> None:
    # Two groups: 40 staff, each with a password hashed by Argon2id (a tenth of a second).
    runner = CliRunner()
    result = runner.invoke(
        cli, ["demo", "--households", "150", "--groups", "2", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    programme = list(Programme(150, 2, 2018))
    db = tmp_path / "xingcheng.db"
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"built 150 households in {db}: "
        f"applied {len(programme)}, skipped 0 (already applied), rejected 0"
    )
    total = next(line for line in lines if line.startswith("total "))
    printed = dict(zip(COLUMNS, total.split()[1:], strict=True))
    expected = independent_count(programme)
    assert {k: int(printed[k]) for k in expected} == expected
    assert printed["signing_rate"] == f"{expected['signed'] / expected['households'] * 100:.1f}%"
    passwords_file = tmp_path / "passwords.txt"
    assert lines[-2] == (
        f"passwords of the admin and the 40 staff: {passwords_file} (mode 0600); "
        f"log in with oneruler login STAFF --db {db}"
    )
    assert lines[-1].startswith("checkpoint: size ")
    assert (tmp_path / "xingcheng-2018.pub").exists()
    assert (tmp_path / "xingcheng-2018.key").stat().st_mode & 0o777 == 0o600
    assert passwords_file.stat().st_mode & 0o777 == 0o600

    rows = [line.split("\t") for line in passwords_file.read_text().splitlines() if line[:1] != "#"]
    staff = {c["staff"]: c["role"] for c in programme if c["cmd"] == "enroll_staff"}
    assert {row[0]: row[1] for row in rows} == {"admin": "admin", **staff}
    assert len({row[2] for row in rows}) == len(rows), "every password is its own"
    finance, password = next((row[0], row[2]) for row in rows if row[1] == "finance")
    login = runner.invoke(
        cli,
        ["login", finance, "--password-stdin", "--db", str(db)],
        input=password + "\n",
        env={"ONERULER_DB": None},
    )
    assert login.exit_code == 0, login.output
    assert login.stdout.startswith("oneruler_")


def test_the_demo_refuses_a_folder_that_already_holds_a_ledger(tmp_path: Path) -> None:
    (tmp_path / "xingcheng.db").write_bytes(b"")
    result = CliRunner().invoke(cli, ["demo", "--households", "20", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'xingcheng.db'} already exists; give another --dir or remove it.\n"
    )
