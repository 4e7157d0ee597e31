"""Inputs the command line once took wrongly: an option given empty taken as its
default, an error naming another option than the one given, a write to a mistyped
--db making a ledger there, a filter naming something unknown listing nothing, an ID
number searched as typed, an amount refused for the wrong reason, and a --db that is
not a file (a named pipe, which a read waited on forever)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from tests.credentials import PASSWORD
from tests.e2e.test_cli import AT, ENV, oneruler, refused, stored

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "xingcheng-small.jsonl"
NO_LEDGER_FIX = (
    "check --db (or ONERULER_DB), or begin a new ledger with oneruler staff set-password admin."
)


@pytest.fixture
def sample_db(tmp_path: Path) -> str:
    db = str(tmp_path / "sample.db")
    result = oneruler("ingest", SAMPLE, "--db", db)
    assert result.exit_code == 0, result.output
    return db


def bare(
    *args: object, env: dict[str, str | None] | None = None, input: str | None = None
) -> Result:
    """A run with no credential made for it (tests/credentials.py would make the ledger
    to issue one)."""
    return CliRunner().invoke(
        cli, [str(a) for a in args], env={**ENV, **(env or {})}, input=input, catch_exceptions=False
    )


# --- 1. an option given empty is not its default -----------------------------------------

VACATE = ("household", "vacated", "--household", "XC-0002")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--id", "--id is empty; give the command's id, or leave --id out for a new one."),
        ("--at", '--at is empty; give when it happened, such as "2018-03-01T09:00:00+08:00", '
                 "or leave --at out for now."),
        ("--actor", "--actor is empty; give your staff id, or leave --actor out to act as "
                    "yourself."),
    ],
)  # fmt: skip
@pytest.mark.parametrize("value", ["", "  "])
def test_an_option_given_empty_is_refused_not_defaulted(
    sample_db: str, option: str, message: str, value: str
) -> None:
    before = stored(sample_db)
    given = {"--id": "vac-2", "--at": AT, "--actor": "admin", option: value}
    args = [a for pair in given.items() for a in pair]
    refused(oneruler(*VACATE, *args, "--db", sample_db), sample_db, before, 2, message)


def test_an_empty_id_twice_does_not_append_twice(sample_db: str) -> None:
    before = stored(sample_db)
    for _ in range(2):
        result = oneruler(*VACATE, "--id", "", "--at", AT, "--db", sample_db)
        assert result.exit_code == 2
    assert stored(sample_db) == before


# --- 2. --known-at is named as --known-at ------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("household", "show", "XC-0001"),
        ("household", "history", "XC-0001"),
        ("dispute", "XC-0001"),
        ("report", "groups"),
        ("report", "consistency"),
        ("report", "disclosure"),
    ],
)
def test_a_bad_known_at_is_named_as_known_at(sample_db: str, command: tuple[str, ...]) -> None:
    result = oneruler(*command, "--known-at", "garbage", "--db", sample_db)
    assert result.exit_code == 2
    assert result.stderr == (
        'Error: --known-at "garbage" is not an ISO 8601 date-time; write it like '
        '"2018-03-01T09:00:00+08:00".\n'
    )
    year = oneruler(*command, "--known-at", "1066-10-14", "--db", sample_db)
    assert year.exit_code == 2
    assert year.stderr.startswith("Error: --known-at 1066-10-14T23:59:59.999999+08:00 is not")


# --- 3. a write to a ledger that is not there makes none ------------------------------------


def test_a_write_to_a_mistyped_db_makes_no_ledger_there(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    note = ("complaint", "note", "--complaint", "C-1", "--text", "x", "--db", typo)
    for env in ({}, {"ONERULER_TOKEN": "a-token-of-another-ledger"}):
        result = bare(*note, env=env)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == f"Error: there is no ledger at {typo}; {NO_LEDGER_FIX}\n"
        assert not typo.exists()
    ingest = bare("ingest", SAMPLE, "--db", typo, env={"ONERULER_TOKEN": "t"})
    assert ingest.exit_code == 2
    assert ingest.stderr == f"Error: there is no ledger at {typo}; {NO_LEDGER_FIX}\n"
    someone = bare("staff", "set-password", "s-001", "--password-stdin", "--db", typo,
                   input=PASSWORD + "\n")  # fmt: skip
    assert someone.exit_code == 2
    assert someone.stderr == f"Error: there is no ledger at {typo}; {NO_LEDGER_FIX}\n"
    assert not typo.exists()


def test_a_write_to_an_empty_file_leaves_it_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    result = bare(*VACATE, "--db", empty, env={"ONERULER_TOKEN": "t"})
    assert result.exit_code == 2
    assert result.stderr == f"Error: {empty} holds no oneruler ledger; {NO_LEDGER_FIX}\n"
    assert empty.stat().st_size == 0


def test_the_holder_still_begins_a_ledger_and_loads_it(tmp_path: Path) -> None:
    """README: set the admin's password on a new ledger, log in, ingest."""
    db = tmp_path / "small.db"
    first = bare("staff", "set-password", "admin", "--password-stdin", "--db", db,
                 input=PASSWORD + "\n")  # fmt: skip
    assert first.exit_code == 0, first.output
    login = bare("login", "admin", "--password-stdin", "--db", db, input=PASSWORD + "\n")
    assert login.exit_code == 0, login.output
    token = login.stdout.strip()
    loaded = bare("ingest", SAMPLE, "--db", db, env={"ONERULER_TOKEN": token})
    assert loaded.exit_code == 0, loaded.output


# --- 4. finance's worklist for a staff member who is finance --------------------------------


def test_a_worklist_for_someone_not_enrolled_or_not_finance_is_refused(sample_db: str) -> None:
    before = stored(sample_db)
    unknown = oneruler("payout", "list", "--ready", "--for", "nobody", "--db", sample_db)
    refused(unknown, sample_db, before, 1,
            "unknown staff nobody: check the staff id, or enroll them first.")  # fmt: skip
    clerk = oneruler("payout", "list", "--ready", "--for", "s-001", "--db", sample_db)
    refused(clerk, sample_db, before, 1,
            "s-001 is clerk staff and may not confirm a payout; give a finance officer's "
            "staff id with --for.")  # fmt: skip
    admin = oneruler("payout", "list", "--for", "admin", "--db", sample_db)
    assert (admin.exit_code, admin.stderr.split(";")[0]) == (
        1, "Error: admin is admin staff and may not confirm a payout"
    )  # fmt: skip
    finance = oneruler("payout", "list", "--ready", "--for", "s-040", "--db", sample_db)
    assert finance.exit_code == 0, finance.output


# --- 5. a filter naming something unknown is refused as show refuses it ----------------------


def test_filters_naming_something_unknown_are_refused_as_show_refuses(sample_db: str) -> None:
    before = stored(sample_db)
    show = oneruler("household", "show", "XC-9999", "--db", sample_db)
    refused(show, sample_db, before, 1,
            "unknown household XC-9999: check the code, or register it first.")  # fmt: skip
    payouts = oneruler("payout", "list", "--household", "XC-9999", "--db", sample_db)
    refused(payouts, sample_db, before, 1,
            "unknown household XC-9999: check the code, or register it first.")  # fmt: skip
    assignee = oneruler("complaint", "list", "--assignee", "nobody", "--db", sample_db)
    refused(assignee, sample_db, before, 1,
            "unknown staff nobody: check the staff id, or enroll them first.")  # fmt: skip
    disclosure = oneruler("report", "disclosure", "--group", "G99", "--db", sample_db)
    refused(disclosure, sample_db, before, 1, "unknown group G99: use one of G01, G02.")
    search = oneruler("household", "search", "", "--group", "G99", "--db", sample_db)
    refused(search, sample_db, before, 1, "unknown group G99: use one of G01, G02.")
    # Known ones still list, and an empty one says what was looked for.
    assert oneruler("complaint", "list", "--assignee", "s-020", "--db", sample_db).exit_code == 0
    none = oneruler("household", "search", "", "--group", "G02", "--status", "paid",
                    "--db", sample_db)  # fmt: skip
    assert (none.exit_code, none.stdout) == (0, "no paid household found in group G02\n")
    nobody = oneruler("household", "search", "龚某", "--group", "G01", "--db", sample_db)
    assert (nobody.exit_code, nobody.stdout) == (0, "no household found for 龚某 in group G01\n")
    said = oneruler("household", "search", "龚某", "--group", "G01", "--lang", "zh",
                    "--db", sample_db)  # fmt: skip
    assert said.stdout == "工作组 G01 中没有找到“龚某”相符的住户。\n"
    said = oneruler("household", "search", "", "--group", "G02", "--status", "paid",
                    "--lang", "zh", "--db", sample_db)  # fmt: skip
    assert said.stdout == "工作组 G02 中没有找到已付清的住户。\n"


# --- 6. an ID number is searched in the form it is kept in -----------------------------------


def test_an_id_number_is_found_however_its_check_x_and_digits_are_typed(store_url: str) -> None:
    assert oneruler("ingest", SAMPLE, "--db", store_url).exit_code == 0
    registered = oneruler(
        "household", "register", "--household", "XC-0353", "--group", "G01", "--village",
        "一村", "--head", "王五", "--id-number", "２１１４８１１９６５１１１８３５３ｘ",
        "--db", store_url, "--actor", "admin", "--at", AT, "--id", "reg-353",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    typings = ("21148119651118353x", "21148119651118353X", " 21148119651118353x ",
               "２１１４８１１９６５１１１８３５３ｘ")  # fmt: skip
    for typed in typings:
        found = oneruler("household", "search", typed, "--db", store_url, "--json")
        assert found.exit_code == 0, found.output
        assert '"household": "XC-0353"' in found.stdout, typed


# --- 7. an amount is refused for its real reason ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--amount", "1.234"), '--amount has more than two decimals (got "1.234"); give at '
                                'most two, such as "356800.00".'),
        (("--amount", "1" * 26), f'--amount has more than 15 digits before the decimal point '
                                 f'(got "{"1" * 26}"); check the figure.'),
        (("--amount", "-0"), '--amount must not have a minus sign (got "-0"); write zero '
                             "without one."),
        (("--amount", "1e5"), '--amount must be a decimal string such as "356800.00" '
                              '(got "1e5").'),
    ],
)  # fmt: skip
def test_an_amount_is_refused_for_its_real_reason(
    sample_db: str, args: tuple[str, ...], message: str
) -> None:
    before = stored(sample_db)
    request = ("payout", "request", "--household", "XC-0002", "--payout", "P-0009", *args)
    refused(oneruler(*request, "--db", sample_db), sample_db, before, 2, message)


def test_an_area_names_the_option_and_the_structure(sample_db: str) -> None:
    before = stored(sample_db)
    survey = ("survey", "record", "--household", "XC-0002", "--residents", "2", "--area",
              "brick_concrete=1.1234567", "--land-area", "20", "--reason", "re")  # fmt: skip
    refused(oneruler(*survey, "--db", sample_db), sample_db, before, 2,
            '--area brick_concrete has more than six decimals (got "1.1234567"); give at '
            'most six, such as "120.50".')  # fmt: skip


# --- 8. a --db that is not a file ------------------------------------------------------------


def test_a_named_pipe_as_db_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.db"
    os.mkfifo(pipe)
    said = f"Error: {pipe} is a named pipe, not a ledger file; give a ledger file with --db.\n"
    for args in (("household", "show", "XC-0001"), ("verify",), VACATE):
        result = bare(*args, "--db", pipe, env={"ONERULER_TOKEN": "t"})
        assert (result.exit_code, result.stderr) == (2, said), args


def test_a_device_as_db_is_refused(tmp_path: Path) -> None:
    result = bare("household", "show", "XC-0001", "--db", os.devnull)
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {os.devnull} is a device, not a ledger file; give a ledger file with --db.\n"
    )  # fmt: skip
