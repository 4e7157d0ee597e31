"""Every event a ledger holds is read back by a process that did not write it: a
staff member's password set in one process, and the read models catching up in a
command that has nothing to do with credentials."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ledger.identity import Identity
from ledger.ingest import ingest
from ledger.store import open_ledger
from tests.conftest import SAMPLE
from tests.credentials import ADMIN, PASSWORD


def test_household_show_reads_a_ledger_with_a_password_set_since(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    ledger = open_ledger(db)
    try:
        ingest(ledger, SAMPLE.read_text(encoding="utf-8").splitlines(), ADMIN)
        Identity(ledger).set_password("s-040", PASSWORD, ADMIN)
    finally:
        ledger.close()
    run = subprocess.run(
        [sys.executable, "-m", "cli", "household", "show", "XC-0001", "--db", db, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert '"household": "XC-0001"' in run.stdout
