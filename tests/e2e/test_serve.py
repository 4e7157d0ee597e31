"""`oneruler serve` as an office runs it: it prints where it listens, answers, and stops
cleanly on SIGTERM (exit 0), with one process or several; a missing ledger is one
sentence."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from ledger.identity import Identity
from ledger.store import display_url, open_ledger
from tests.web.conftest import load_sample

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str) -> tuple[int, str]:
    try:
        with DIRECT.open(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode("utf-8")


def start(db: str, *options: str, shown: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """`oneruler serve` on db and a free port, in a session of its own (so that
    `stopped` can kill it, workers and all); the server and the address it printed."""
    server = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--db", db, "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.startswith(f"serving {shown or db} on http://127.0.0.1:"), line
    return server, line.split(" on ", 1)[1].strip().rstrip("/")


def stopped(server: subprocess.Popen[str]) -> tuple[str, str]:
    """What the server wrote once it stopped; killed if it does not within a minute (the
    test fails, and leaves no server behind: each is started in a session of its own)."""
    try:
        return server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its workers
        server.communicate()
        raise


def test_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    load_sample(db)
    server, base = start(db)
    try:
        status, page = get(f"{base}/login")
        assert status == 200 and "登录" in page
        status, body = get(f"{base}/api/v1/households/XC-0001")
        assert status == 401 and '"error"' in body
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = stopped(server)
    assert server.returncode == 0, errors
    assert "Traceback" not in errors


def test_serve_refuses_a_missing_ledger_in_one_sentence(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert f"there is no ledger at {tmp_path / 'none.db'}" in result.output


def test_serve_runs_several_workers_on_sqlite(tmp_path: Path) -> None:
    """Two processes serve one SQLite ledger (the store takes their writes in turn);
    each answers, and both stop cleanly on SIGTERM."""
    db = str(tmp_path / "ledger.db")
    load_sample(db)
    server, base = start(db, "--workers", "2")
    try:
        # The address is printed before the workers start: until they answer, wait (a
        # connection is refused, or reset as the socket passes to them).
        for _ in range(200):
            try:
                status, page = get(f"{base}/login")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200 and "登录" in page
        for _ in range(10):  # on fresh connections, shared out between the workers
            assert get(f"{base}/public/policies")[0] == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = stopped(server)
    assert server.returncode == 0, errors
    assert "Traceback" not in errors
    assert errors.count("Application startup complete") == 2


def test_a_sigterm_while_the_workers_start_stops_it_cleanly(tmp_path: Path) -> None:
    """A stop asked for at once (the address printed, the workers not yet started) is
    a clean exit, not a signal ignored and a server left running."""
    db = str(tmp_path / "ledger.db")
    load_sample(db)
    for workers in ("1", "2"):
        server, _ = start(db, "--workers", workers)
        server.send_signal(signal.SIGTERM)
        _, errors = stopped(server)
        assert server.returncode == 0, errors
        assert "Traceback" not in errors


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_command_in_flight_when_the_stop_comes_is_answered_and_kept(
    store_url: str, workers: str
) -> None:
    """On either store, with one process or several: a command whose request has begun
    (its head and half its body sent) when SIGTERM comes is still answered, 201, and its
    event is in the ledger after the server has stopped (exit 0)."""
    sample_url = store_url
    load_sample(sample_url)
    ledger = open_ledger(sample_url)
    try:
        token, _ = Identity(ledger).issue_token("s-001")
        before = ledger.recorder.max_notification_id()
    finally:
        ledger.close()
    server, base = start(sample_url, "--workers", workers, shown=display_url(sample_url))
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps(
        {
            "id": "in-flight",
            "cmd": "record_vacated",
            "at": "2018-03-20T10:00:00+08:00",
            "household": "XC-0002",
        }
    ).encode()
    try:
        ready = 0
        for _ in range(300):  # until the workers answer, several times over
            try:
                ready = ready + 1 if get(f"{base}/login")[0] == 200 else 0
            except OSError:
                ready = 0
            if ready == 5:
                break
            time.sleep(0.1)
        assert ready == 5
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.putrequest("POST", "/api/v1/commands")
        connection.putheader("Authorization", f"Bearer {token}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body[:20])
        # The worker parses a request's head as its bytes arrive (its event loop is idle
        # here): a second is a wide margin for the request to have begun.
        time.sleep(1.0)
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        connection.send(body[20:])
        answer = connection.getresponse()
        assert answer.status == 201, answer.read()
        assert json.loads(answer.read())["applied"] is True
        connection.close()
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = stopped(server)
    assert server.returncode == 0, errors
    assert "Traceback" not in errors
    ledger = open_ledger(sample_url)
    try:
        assert ledger.recorder.max_notification_id() == (before or 0) + 1
    finally:
        ledger.close()


def test_a_body_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """On a real server: a body that declares more than the API reads, a chunked one
    that goes past the limit, and any body sent without a token are answered while the
    client still holds most of the body back (before, the server read a body whole and
    then measured it: these requests waited for bytes never sent)."""
    from web.api import MAX_BODY

    db = str(tmp_path / "ledger.db")
    load_sample(db)
    ledger = open_ledger(db)
    try:
        token, _ = Identity(ledger).issue_token("s-001")
    finally:
        ledger.close()
    server, base = start(db)
    host, port = base.removeprefix("http://").split(":")

    def answer(head: str, body: bytes) -> int:
        """Send the head and the first part of a body, hold the rest back; the status."""
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(head.encode() + b"\r\n" + body)
            status = connection.makefile("rb").readline()  # times out if it waits
            return int(status.split()[1])

    bearer = f"Authorization: Bearer {token}\r\n"
    try:
        declared = f"Content-Length: {50 * MAX_BODY}\r\n"
        post = "POST /api/v1/commands HTTP/1.1\r\nHost: x\r\n"
        assert answer(post + bearer + declared, b'{"id": ') == 400
        assert answer(post + declared, b'{"id": ') == 401  # no token: not read at all
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        chunked = "Transfer-Encoding: chunked\r\n"
        assert answer(post + bearer + chunked, chunk * (MAX_BODY // 65536 + 2)) == 400
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = stopped(server)
    assert server.returncode == 0, errors
