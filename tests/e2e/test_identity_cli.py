"""Every write made by an authenticated staff member (specs/identity.md), through the
command line: the tried list of issue 15 refused, each bad credential refused, login,
logout and set-password, staff over time, a reused command id, and no secret anywhere
in the store, its log, a bundle or the output."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from ledger.identity import Identity
from ledger.store import open_ledger, parse_postgres_url
from ledger.transcoder import construct_transcoder
from tests.conftest import SAMPLE
from tests.credentials import PASSWORD, token_for

ENV = {"ONERULER_DB": None, "ONERULER_ACTOR": None, "ONERULER_TOKEN": None}
AT = "2018-03-20T10:00:00+08:00"
SHA = "ab" * 32
NO_CREDENTIAL = (
    "Error: no credential: log in with oneruler login STAFF and give the token it prints in "
    "ONERULER_TOKEN or --token-file FILE (on a terminal, the command asks for your password "
    "instead).\n"
)


def oneruler(
    *args: Any, token: str | None = None, input: str | None = None, **env: str | None
) -> Result:
    """A run of the command line with no credential but the token given."""
    return CliRunner().invoke(
        cli, [str(a) for a in args], input=input, env={**ENV, "ONERULER_TOKEN": token, **env}
    )


def stored(db: str) -> int:
    ledger = open_ledger(db)
    try:
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def refused(result: Result, db: str, before: int, code: int, message: str) -> None:
    """The exit status, one sentence on standard error, nothing else, nothing appended."""
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", message), result.output
    assert stored(db) == before


def ingest_as_admin(db: str, *lines: dict[str, Any]) -> None:
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    result = oneruler("ingest", "-", "--db", db, "--json", token=token_for(db), input=text)
    assert json.loads(result.stdout)["rejected"] == 0, result.stdout


def line(command_id: str, cmd: str, actor: str, **fields: Any) -> dict[str, Any]:
    return {"id": command_id, "cmd": cmd, "actor": actor, "at": AT, **fields}


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The sample programme, entered by the admin; then XC-0002's file completed and a
    payout P-0002 requested by its clerk s-001, and a complaint about supervisor s-020."""
    path = str(tmp_path / "ledger.db")
    result = oneruler("ingest", SAMPLE, "--db", path, token=token_for(path))
    assert result.exit_code == 0, result.output
    kinds = ("id_card", "hukou", "property_certificate", "survey_form", "valuation_report",
             "agreement", "bank_account")  # fmt: skip
    ingest_as_admin(
        path,
        *(line(f"doc-{k}", "attach_document", "s-001", household="XC-0002", kind=k,
               sha256=SHA, filename=f"{k}.pdf") for k in kinds),
        line("pay-2", "request_payout", "s-001", payout="P-0002", household="XC-0002",
             amount="370000.00"),
        line("c-9", "file_complaint", "s-030", complaint="C-0009", channel="visit",
             about={"staff": "s-020"}, summary="复核时收受好处 (took a favour)"),
    )  # fmt: skip
    return path


# --- the tried list of issue 15 -----------------------------------------------------------


def test_a_clerk_who_requested_a_payout_cannot_confirm_it_by_typing_a_finance_id(
    db: str,
) -> None:
    before = stored(db)
    confirm = ("payout", "confirm", "--payout", "P-0002", "--bank-reference", "FAKE-1", "--db", db)
    refused(oneruler(*confirm, ONERULER_ACTOR="s-040"), db, before, 2, NO_CREDENTIAL)
    clerk = token_for(db, "s-001")
    refused(
        oneruler(*confirm, "--actor", "s-040", token=clerk),
        db,
        before,
        1,
        "Error: you are logged in as s-001 and may not enter a command as s-040: leave out "
        "the actor, or log in as s-040.\n",
    )
    refused(
        oneruler(*confirm, token=clerk),
        db,
        before,
        1,
        "Error: s-001 is clerk staff and may not confirm a payout; only finance staff may.\n",
    )
    confirmed = oneruler(*confirm, token=token_for(db, "s-040"))
    assert (confirmed.exit_code, confirmed.stderr) == (0, "")


def test_nobody_enrolls_themselves_as_finance_through_the_admin_without_its_password(
    db: str,
) -> None:
    before = stored(db)
    enroll = ("staff", "enroll", "--staff", "mallory", "--name", "M", "--role", "finance")
    refused(oneruler(*enroll, "--actor", "admin", "--db", db), db, before, 2, NO_CREDENTIAL)
    # The admin has no password until the holder of the database sets one.
    login = oneruler("login", "admin", "--password-stdin", "--db", db, input="anything at all\n")
    refused(
        login,
        db,
        before,
        2,
        "Error: wrong staff id or password for admin; check both, or ask an administrator to "
        "set your password (oneruler staff set-password admin).\n",
    )
    confirm = ("payout", "confirm", "--payout", "P-0002", "--bank-reference", "X", "--db", db)
    refused(oneruler(*confirm, "--actor", "mallory"), db, before, 2, NO_CREDENTIAL)
    refused(
        oneruler(*confirm, "--actor", "mallory", token="oneruler_made-up"),
        db,
        before,
        2,
        "Error: the token is not one this ledger issued (mistyped, or from another ledger); "
        "log in (oneruler login STAFF) and give the token it prints.\n",
    )


def test_a_supervisor_does_not_resolve_a_complaint_about_himself(db: str) -> None:
    before = stored(db)
    supervisor = token_for(db, "s-020")
    for args, to_do in (
        (("resolve", "--finding", "unsubstantiated", "--outcome", "查无此事"), "resolve"),
        (("acknowledge",), "acknowledge"),
    ):
        refused(
            oneruler("complaint", args[0], "--complaint", "C-0009", *args[1:], "--db", db,
                     token=supervisor),
            db,
            before,
            1,
            f"Error: complaint C-0009 is about s-020, who may not {to_do} it: nobody handles "
            "a complaint about themselves; someone else must.\n",
        )  # fmt: skip
    ingest_as_admin(db, line("sup-2", "enroll_staff", "admin", staff="s-021", name="周督",
                             role="supervisor"))  # fmt: skip
    resolved = oneruler(
        "complaint", "resolve", "--complaint", "C-0009", "--finding", "unsubstantiated",
        "--outcome", "查无此事", "--db", db, token=token_for(db, "s-021"),
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved.output


def test_staff_are_suspended_reinstated_given_another_role_and_moved(db: str) -> None:
    admin = token_for(db)
    clerk = token_for(db, "s-001")

    def staff(*args: str, token: str = admin) -> Result:
        return oneruler("staff", *args, "--db", db, token=token)

    before = stored(db)
    refused(
        staff("suspend", "--staff", "s-002", "--reason", "x", token=clerk),
        db,
        before,
        1,
        "Error: s-001 is clerk staff and may not suspend staff; only admin staff may.\n",
    )
    assert staff("suspend", "--staff", "s-001", "--reason", "调查", "--at", AT).exit_code == 0
    attach = ("document", "attach", "--household", "XC-0001", "--kind", "other:photo",
              "--file", __file__, "--db", db)  # fmt: skip
    before = stored(db)
    # The token the suspension ended says why (before: "log in again", which could not
    # work while suspended).
    refused(
        oneruler(*attach, token=clerk),
        db,
        before,
        2,
        f"Error: s-001 is suspended (since {AT}: 调查) and may not enter commands until "
        "reinstated.\n",
    )
    # A new token (a password reset would give one) enters nothing while suspended.
    refused(
        oneruler(*attach, token=token_for(db, "s-001")),
        db,
        before,
        2,
        f"Error: s-001 is suspended (since {AT}: 调查) and may not enter commands until "
        "reinstated.\n",
    )
    # The admin enters her work from before the suspension; after it, she did not act.
    ingest_as_admin(
        db, line("late-1", "attach_document", "s-001", household="XC-0001", kind="other:photo",
                 sha256=SHA, filename="p.jpg", at="2018-03-19T10:00:00+08:00"),
    )  # fmt: skip
    late = {**line("late-2", "attach_document", "s-001", household="XC-0001", kind="map",
                   sha256=SHA, filename="m.jpg"), "at": "2018-03-20T11:00:00+08:00"}  # fmt: skip
    result = oneruler("ingest", "-", "--db", db, "--json", token=admin, input=json.dumps(late))
    assert json.loads(result.stdout)["rejections"][0]["reason"] == (
        f"s-001 was suspended on {AT} (调查) and may not act at 2018-03-20T11:00:00+08:00; "
        "they act again once reinstated."
    )
    later = "2018-03-21T10:00:00+08:00"
    assert staff("reinstate", "--staff", "s-001", "--reason", "查清", "--at", later).exit_code == 0
    moved = staff("transfer", "--staff", "s-001", "--group", "G02", "--reason", "支援", "--at",
                  "2018-03-22T10:00:00+08:00")  # fmt: skip
    assert moved.exit_code == 0, moved.output
    again = token_for(db, "s-001")
    for household, code in (("XC-0001", 1), ("XC-0003", 0)):
        result = oneruler("document", "attach", "--household", household, "--kind", "other:photo2",
                          "--file", __file__, "--db", db,
                          "--at", "2018-03-23T10:00:00+08:00", token=again)  # fmt: skip
        assert result.exit_code == code, result.output
    role = staff("change-role", "--staff", "s-001", "--role", "finance", "--reason", "调任",
                 "--at", "2018-03-24T10:00:00+08:00")  # fmt: skip
    assert role.exit_code == 0, role.output
    refused(
        staff("suspend", "--staff", "admin", "--reason", "x"),
        db,
        stored(db),
        1,
        "Error: admin is the built-in administrator: it has no record to change, and is "
        "never suspended; name an enrolled staff member.\n",
    )


def _moment(db: str, staff: str) -> str:
    ledger = open_ledger(db)
    try:
        with ledger.ledger_recorder.log_transaction(commit=False) as c:
            c.execute("SELECT max(revoked_at) FROM staff_tokens WHERE staff = ?", [staff])
            revoked = c.fetchone()[0]
    finally:
        ledger.close()
    shown = datetime.fromisoformat(revoked).astimezone(timezone_8())
    return shown.isoformat(timespec="seconds")


def timezone_8() -> Any:
    from domain.values import LEDGER_TZ

    return LEDGER_TZ


def test_a_command_id_used_again_for_another_command_is_refused_naming_it(db: str) -> None:
    hotline = token_for(db, "s-030")
    add = ("complaint", "add", "--complaint", "C-0009", "--id", "note-1", "--at", AT, "--db", db)
    assert oneruler(*add, "--text", "first", token=hotline).exit_code == 0
    before = stored(db)
    same = oneruler(*add, "--text", "first", token=hotline)
    assert (same.exit_code, same.stdout) == (0, "skipped add_to_complaint note-1: a command of "
                                                "this id was already applied\n")  # fmt: skip
    refused(
        oneruler(*add, "--text", "something else", token=hotline),
        db,
        before,
        1,
        "Error: command id note-1 was already applied to a different command; an id names "
        "one command forever: give this one a new id.\n",
    )
    first = line("note-1", "add_to_complaint", "s-030", complaint="C-0009", text="first")
    reordered = dict(reversed(list(first.items())))  # the same command, keys in another order
    other = {**first, "text": "changed"}
    text = "\n".join(json.dumps(x, ensure_ascii=False) for x in (reordered, other)) + "\n"
    result = oneruler("ingest", "-", "--db", db, "--json", token=token_for(db), input=text)
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "applied": 0, "skipped": 1, "rejected": 1,
        "rejections": [{"line": 2, "id": "note-1", "reason":
                        "command id note-1 was already applied to a different command; an id "
                        "names one command forever: give this one a new id."}],
    }  # fmt: skip
    assert stored(db) == before


# --- credentials -----------------------------------------------------------------------------


def test_each_bad_credential_is_refused_with_how_to_log_in(db: str, tmp_path: Path) -> None:
    vacated = ("household", "vacated", "--household", "XC-0002", "--db", db)
    before = stored(db)
    refused(oneruler(*vacated), db, before, 2, NO_CREDENTIAL)
    refused(oneruler(*vacated, "--actor", "s-001"), db, before, 2, NO_CREDENTIAL)
    past = datetime.now(UTC) - timedelta(hours=13)
    ledger = open_ledger(db, clock=lambda: past)
    try:
        expired, expires_at = Identity(ledger).issue_token("s-001")
    finally:
        ledger.close()
    shown = expires_at.astimezone(timezone_8()).isoformat(timespec="seconds")
    refused(
        oneruler(*vacated, token=expired),
        db,
        before,
        2,
        f"Error: the token of s-001 expired on {shown}; log in again (oneruler login s-001).\n",
    )
    ended = token_for(db, "s-001")
    assert oneruler("logout", "--db", db, token=ended).stdout == (
        "logged out s-001: the token no longer works.\n"
    )
    assert oneruler(*vacated, token=ended).stderr.startswith("Error: the token of s-001 was ended")
    other = token_for(db, "s-002")
    refused(
        oneruler(*vacated, "--actor", "s-001", token=other),
        db,
        before,
        1,
        "Error: you are logged in as s-002 and may not enter a command as s-001: leave out the "
        "actor, or log in as s-001.\n",
    )
    missing = tmp_path / "no-such-token"
    refused(
        oneruler(*vacated, "--token-file", missing),
        db,
        before,
        2,
        f"Error: cannot read the token file {missing} (No such file or directory); give the "
        "file you saved the token of oneruler login to.\n",
    )
    (tmp_path / "token").write_text(token_for(db, "s-001") + "\n")
    by_file = oneruler(*vacated, "--token-file", tmp_path / "token", "--at", AT)
    assert by_file.exit_code == 0, by_file.output


def test_set_password_login_and_a_write_on_a_terminal(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = oneruler(
        "staff", "set-password", "admin", "--password-stdin", "--db", db, input=PASSWORD + "\n"
    )
    assert (holder.exit_code, holder.stdout) == (
        0,
        "set the password of admin (as the holder of the database); any tokens of admin ended.\n",
    )
    login = oneruler("login", "admin", "--password-stdin", "--json", "--db", db,
                     input=PASSWORD + "\n")  # fmt: skip
    assert login.exit_code == 0, login.output
    document = json.loads(login.stdout)
    assert list(document) == ["token", "staff", "role", "expires_at"]
    assert (document["staff"], document["role"]) == ("admin", "admin")
    admin = document["token"]
    before = stored(db)
    refused(
        oneruler("staff", "set-password", "s-001", "--password-stdin", "--db", db,
                 input="too short\n", token=admin),
        db,
        before,
        2,
        "Error: the password has 9 characters; give at least 10 (a few words make a long one "
        "that is easy to remember).\n",
    )  # fmt: skip
    refused(
        oneruler("staff", "set-password", "s-001", "--password-stdin", "--db", db,
                 input="a clerk's long passphrase\n"),
        db,
        before,
        2,
        NO_CREDENTIAL,
    )  # fmt: skip
    set_clerk = oneruler("staff", "set-password", "s-001", "--password-stdin", "--db", db,
                         input="a clerk's long passphrase\n", token=admin)  # fmt: skip
    assert set_clerk.stdout == (
        "set the password of s-001 (by admin); any tokens of s-001 ended.\n"
    )
    # With --json, the API's answer to a command: the Account event, never the password.
    again = oneruler("staff", "set-password", "s-001", "--password-stdin", "--json", "--db", db,
                     input="another long passphrase\n", token=admin)  # fmt: skip
    answer = json.loads(again.stdout)
    assert answer["applied"] is True and answer["id"].startswith("password-")
    assert answer["events"] == [
        {
            "type": "Account.PasswordReset",
            "originator": answer["events"][0]["originator"],
            "version": 2,
        }
    ]
    assert "passphrase" not in again.output
    set_clerk = oneruler("staff", "set-password", "s-001", "--password-stdin", "--db", db,
                         input="a clerk's long passphrase\n", token=admin)  # fmt: skip
    assert set_clerk.exit_code == 0
    # On a terminal, a write asks for the actor's password instead of a token.
    monkeypatch.setattr("cli.credentials.on_terminal", lambda: True)
    attach = ("document", "attach", "--household", "XC-0001", "--kind", "other:photo",
              "--file", __file__, "--at", AT, "--db", db)  # fmt: skip
    wrong = oneruler(*attach, "--actor", "s-001", input="not hers\n")
    assert (wrong.exit_code, wrong.stderr.splitlines()[-1]) == (
        2,
        "Error: wrong staff id or password for s-001; check both, or ask an administrator to "
        "set your password (oneruler staff set-password s-001).",
    )
    right = oneruler(*attach, input="s-001\na clerk's long passphrase\n")
    assert right.exit_code == 0, right.output
    assert "a clerk's long passphrase" not in right.output


def test_a_staff_member_ingests_only_their_own_lines(db: str) -> None:
    own = line("own-1", "attach_document", "s-002", household="XC-0003", kind="other:photo",
               sha256=SHA, filename="p.jpg")  # fmt: skip
    theirs = line("not-own-1", "attach_document", "s-001", household="XC-0001", kind="other:photo",
                  sha256=SHA, filename="p.jpg")  # fmt: skip
    text = f"{json.dumps(own)}\n{json.dumps(theirs)}\n"
    result = oneruler("ingest", "-", "--db", db, "--json", token=token_for(db, "s-002"),
                      input=text)  # fmt: skip
    assert json.loads(result.stdout) == {
        "applied": 1, "skipped": 0, "rejected": 1,
        "rejections": [{"line": 2, "id": "not-own-1", "reason":
                        "the line's actor is s-001, but s-002 is logged in: only the built-in "
                        "admin enters other staff's lines; log in as s-001, or as admin."}],
    }  # fmt: skip
    history = oneruler("household", "history", "XC-0003", "--db", db, "--json")
    (attached,) = [e for e in json.loads(history.stdout)["events"] if e["command"] == "own-1"]
    assert (attached["actor"], attached["entered_by"]) == ("s-002", "s-002")


# --- no secret anywhere -------------------------------------------------------------------


def tables(url: str) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Every table of the store and its rows."""
    if url.startswith("postgresql"):
        server = parse_postgres_url(url)
        with psycopg.connect(
            host=server.host, port=server.port, dbname=server.dbname, user=server.user,
            password=server.password or None,
        ) as conn:  # fmt: skip
            names = [row[0] for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [server.schema])]  # fmt: skip
            for name in names:
                yield name, conn.execute(f'SELECT * FROM "{server.schema}"."{name}"').fetchall()
        return
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        names = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for name in names:
            yield name, conn.execute(f'SELECT * FROM "{name}"').fetchall()


def test_no_secret_in_the_store_the_log_a_bundle_or_the_output(
    store_url: str, tmp_path: Path
) -> None:
    outputs: list[str] = []

    def run(*args: Any, input: str | None = None, token: str | None = None) -> Result:
        result = oneruler(*args, "--db", store_url, input=input, token=token)
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout + result.stderr)
        return result

    admin_password, clerk_password = "the admin's passphrase 1", "the clerk's passphrase 2"
    run("ingest", SAMPLE, token=token_for(store_url))
    run("staff", "set-password", "admin", "--password-stdin", input=admin_password + "\n")
    login = CliRunner().invoke(
        cli, ["login", "admin", "--password-stdin", "--db", store_url],
        input=admin_password + "\n", env=ENV,
    )  # fmt: skip
    admin = login.stdout.strip()
    assert admin.startswith("oneruler_") and admin not in login.stderr
    outputs.append(login.stderr)
    run("staff", "set-password", "s-001", "--password-stdin", input=clerk_password + "\n",
        token=admin)  # fmt: skip
    clerk_login = CliRunner().invoke(
        cli, ["login", "s-001", "--password-stdin", "--json", "--db", store_url],
        input=clerk_password + "\n", env=ENV,
    )  # fmt: skip
    clerk = json.loads(clerk_login.stdout)["token"]
    outputs.append(clerk_login.stderr)
    failed = oneruler("login", "s-001", "--password-stdin", "--db", store_url, input="wrong one\n")
    outputs.append(failed.stdout + failed.stderr)
    run("document", "attach", "--household", "XC-0001", "--kind", "other:photo",
        "--file", __file__, "--at", AT, token=clerk)  # fmt: skip
    run("group", "create", "--group", "G03", "--name", "三组", "--at", AT, token=admin)
    assert (
        oneruler("key", "generate", "ledger.example.gov.cn/office", "--dir", tmp_path).exit_code
        == 0
    )
    run("checkpoint", "--key", tmp_path / "office.key")
    bundle = run("prove", "XC-0001", "-o", "-").stdout
    run("household", "history", "XC-0001", "--json")
    run("report", "consistency", "--json")
    run("verify")
    run("logout", token=clerk)

    secrets = [admin_password, clerk_password, admin, clerk]
    transcoder = construct_transcoder()
    searched: set[str] = set()
    for name, rows in tables(store_url):
        searched.add(name)
        for row in rows:
            for value in row:
                texts = [str(value)]
                if isinstance(value, bytes | memoryview):
                    raw = bytes(value)
                    texts.append(raw.decode("utf-8", "replace"))
                    if name in ("stored_events", "oneruler_events"):
                        texts.append(repr(transcoder.decode(raw)))
                for text in texts:
                    for secret in secrets:
                        assert secret not in text, (name, secret)
    events = "oneruler_events" if store_url.startswith("postgresql") else "stored_events"
    assert {events, "merkle_leaves", "staff_credentials", "staff_tokens", "login_failures",
            "applied_commands", "checkpoints"} <= searched  # fmt: skip
    for text in [bundle, *outputs]:
        for secret in secrets:
            assert secret not in text
    if store_url.startswith("sqlite"):
        path = Path(store_url.removeprefix("sqlite:///"))
        for file in (path, Path(f"{path}-wal")):
            if file.exists():
                data = file.read_bytes()
                assert not any(secret.encode() in data for secret in secrets)


# --- report consistency ---------------------------------------------------------------


def test_report_consistency_lists_approvals_and_money_acts_entered_for_someone_else(
    db: str,
) -> None:
    ingest_as_admin(db, line("appr-1", "approve_deviation", "s-020", household="XC-0003",
                             amount="400000.00", reason="危房加固补助"),
                    line("refu-1", "refuse_deviation", "s-020", household="XC-0003",
                         amount="400000.00", reason="复核后不予批准",
                         at="2018-03-21T10:00:00+08:00"))  # fmt: skip
    confirmed = oneruler("payout", "confirm", "--payout", "P-0002", "--bank-reference", "B-2",
                         "--at", AT, "--db", db, token=token_for(db, "s-040"))  # fmt: skip
    assert confirmed.exit_code == 0, confirmed.output  # entered by its actor: not listed
    report = oneruler("report", "consistency", "--json", "--db", db)
    acts = json.loads(report.stdout)["entered_for_others"]
    for act in acts:
        assert datetime.fromisoformat(act.pop("recorded_at")).utcoffset() is not None
    assert acts == [
        {"act": "approve_deviation", "household": "XC-0002", "complaint": None,
         "what": "deviation to 370000.00", "actor": "s-020", "entered_by": "admin",
         "occurred_at": "2018-03-11T14:30:00+08:00", "command": "xc-0032a"},
        {"act": "confirm_payout", "household": "XC-0001", "complaint": None,
         "what": "payout P-0001", "actor": "s-040", "entered_by": "admin",
         "occurred_at": "2018-03-12T16:00:00+08:00", "command": "xc-0031"},
        {"act": "resolve_complaint", "household": None, "complaint": "C-0001",
         "what": "finding substantiated", "actor": "s-020", "entered_by": "admin",
         "occurred_at": "2018-03-13T17:00:00+08:00", "command": "xc-0036"},
        {"act": "approve_deviation", "household": "XC-0003", "complaint": None,
         "what": "deviation to 400000.00", "actor": "s-020", "entered_by": "admin",
         "occurred_at": AT, "command": "appr-1"},
        {"act": "refuse_deviation", "household": "XC-0003", "complaint": None,
         "what": "deviation to 400000.00 refused", "actor": "s-020", "entered_by": "admin",
         "occurred_at": "2018-03-21T10:00:00+08:00", "command": "refu-1"},
    ]  # fmt: skip
    earlier = oneruler("report", "consistency", "--json", "--as-of", "2018-03-12", "--db", db)
    assert [a["act"] for a in json.loads(earlier.stdout)["entered_for_others"]] == [
        "approve_deviation",
        "confirm_payout",
    ]
    human = oneruler("report", "consistency", "--db", db).stdout.splitlines()
    at = human.index("approvals and money acts entered on someone else's behalf: 5")
    assert human[at + 1].split() == [
        "act", "household", "complaint", "what", "by", "entered", "by", "at", "recorded",
    ]  # fmt: skip
    assert human[at + 4].split()[:8] == [
        "confirm_payout", "XC-0001", "-", "payout", "P-0001", "s-040", "admin",
        "2018-03-12T16:00:00+08:00",
    ]  # fmt: skip


def test_a_complaint_about_a_transferred_staff_member_counts_against_their_group_then(
    db: str,
) -> None:
    def groups() -> dict[str, list[str]]:
        listed = json.loads(oneruler("complaint", "list", "--json", "--db", db).stdout)
        return {c["complaint"]: c["groups"] for c in listed["complaints"]}

    about_clerk = {"channel": "hotline", "about": {"staff": "s-001"}, "summary": "态度差 (rude)"}
    ingest_as_admin(
        db,
        line("c-10", "file_complaint", "s-030", complaint="C-0010", **about_clerk,
             at="2018-03-20T12:00:00+08:00"),
        line("move-1", "transfer_staff", "admin", staff="s-001", group="G02",
             reason="支援二组", at="2018-03-21T09:00:00+08:00"),
        line("c-11", "file_complaint", "s-030", complaint="C-0011", **about_clerk,
             at="2018-03-22T09:00:00+08:00"),
        # Entered after the move, about something before it: the group she was in then.
        line("c-12", "file_complaint", "s-030", complaint="C-0012", **about_clerk,
             at="2018-03-20T13:00:00+08:00"),
    )  # fmt: skip
    followed = groups()
    assert [followed[c] for c in ("C-0010", "C-0011", "C-0012")] == [["G01"], ["G02"], ["G01"]]
    rebuilt = oneruler("projections", "rebuild", "--db", db)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert groups() == followed
