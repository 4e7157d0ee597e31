"""The eventsourcing library's internals are reached from ledger/library.py only, and
only for the versions they were read from: any other version is refused in one
sentence, before a ledger is opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from ledger import library
from ledger.store import open_ledger


def test_the_installed_library_is_supported() -> None:
    library.check_version()
    assert library.installed_version().startswith(library.SUPPORTED)


@pytest.mark.parametrize("version", ["9.4.6", "10.0.0", "9.50.1"])
def test_another_version_of_the_library_is_refused_in_one_sentence(
    version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_ledger(str(tmp_path / "ledger.db")).close()
    monkeypatch.setattr(library, "installed_version", lambda: version)
    said = (
        f"eventsourcing {version} is installed, and oneruler works with eventsourcing 9.5.x "
        "only (it relies on that version's storage internals); install it with pip install "
        "'eventsourcing[postgres]==9.5.*'."
    )
    with pytest.raises(library.UnsupportedLibrary) as refused:
        open_ledger(str(tmp_path / "new.db"))
    assert str(refused.value) == said
    assert not (tmp_path / "new.db").exists()
    result = CliRunner().invoke(
        cli, ["report", "groups", "--db", str(tmp_path / "ledger.db"), "--json"]
    )
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {said}\n")
