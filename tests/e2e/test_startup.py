"""A person's wait at the terminal: a command imports the modules of the command it
runs, not of every command (cli/groups.py LazyGroup). The time itself is the bench's
(`startup`), never a test's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from tests.credentials import token_for

# What `household show` has no use for: the charts and spreadsheets of reports, the
# commands that write and the credentials they check (Argon2's hashing), the signing keys
# of the transparency log, the demo's generator, and the witness's service.
UNUSED_BY_SHOW = (
    "matplotlib",
    "openpyxl",
    "cryptography",
    "cli.bulletin",
    "cli.ruler",
    "cli.writes",
    "cli.credentials",
    "cli.identity",
    "ledger.identity",
    "argon2",
    "cli.integrity",
    "cli.bench",
    "cli.demo",
    "simulation",
    "cli.witness",
    "witness",
    "starlette",
    "uvicorn",
)

PROGRAM = """
import json, sys
from cli.main import main
try:
    main()
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_household_show_imports_only_what_it_uses(tmp_path: Path, sample_lines: list[str]) -> None:
    db = str(tmp_path / "ledger.db")
    (tmp_path / "sample.jsonl").write_text("\n".join(sample_lines) + "\n", encoding="utf-8")
    ingested = CliRunner().invoke(
        cli,
        ["ingest", str(tmp_path / "sample.jsonl"), "--db", db],
        env={"ONERULER_DB": None, "ONERULER_TOKEN": token_for(db)},
    )
    assert ingested.exit_code == 0, ingested.output
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM, "household", "show", "XC-0001", "--db", db, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["household"] == "XC-0001"
    modules = set(json.loads(run.stderr.strip().splitlines()[-1]))
    imported = [
        name
        for name in UNUSED_BY_SHOW
        if name in modules or any(m.startswith(name + ".") for m in modules)
    ]
    assert imported == []
