"""`oneruler witness key generate` and `oneruler witness serve`: the witness as a real
process over HTTP, fed a real ledger's growing log and forgeries of it by the same key;
two processes on one state folder; and killed with SIGKILL at random moments."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from ledger.checkpoint import Checkpoint, sign_note
from ledger.cosignature import Cosignature, parse_cosigner_verifier
from tests.unit.test_cosignature import c2sp_cosignature_times
from tests.witnessing import (
    OFFICE,
    ORIGIN,
    Log,
    WitnessProcess,
    growing_log,
    new_witness,
    write_keys,
)
from witness.client import WitnessEndpoint, WitnessError, cosign, request_body

ROOT = Path(__file__).resolve().parents[2]
_, WITNESS_KEY, WITNESS_SIGNER_TEXT, WITNESS_VKEY = new_witness("audit.xingcheng.example")
ORIGIN_HASH = hashlib.sha256(ORIGIN.encode()).hexdigest()


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    lines = (ROOT / "docs/examples/xingcheng-small.jsonl").read_text(encoding="utf-8")
    return growing_log(tmp_path_factory.mktemp("ledger"), lines.splitlines())


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


# --- witness key generate --------------------------------------------------------


def test_key_generate_writes_a_cosignature_v1_pair(tmp_path: Path) -> None:
    code, output = run(
        "witness", "key", "generate", "audit.xingcheng.example", "--dir", str(tmp_path)
    )
    assert code == 0, output
    private, public = (
        tmp_path / "audit.xingcheng.example.key",
        tmp_path / "audit.xingcheng.example.pub",
    )
    vkey = public.read_text().strip()
    assert output == (
        f"wrote {private} (the witness's private key: keep it secret) and {public} "
        f"(its public key, for auditors):\n{vkey}\n"
    )
    assert private.stat().st_mode & 0o777 == 0o600
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert parse_cosigner_verifier(vkey).name == "audit.xingcheng.example"
    code, output = run(
        "witness", "key", "generate", "audit.xingcheng.example", "--dir", str(tmp_path)
    )
    assert code == 2
    assert "already exists and a key is never overwritten" in output


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a/b", "cannot contain '/' or '\\' or start with '.'"),
        ("two words", "contains a space or control character"),
    ],
)
def test_key_generate_refuses_a_bad_name(tmp_path: Path, name: str, message: str) -> None:
    code, output = run("witness", "key", "generate", name, "--dir", str(tmp_path))
    assert code == 2
    assert message in output
    assert list(tmp_path.iterdir()) == []


# --- witness serve: what it refuses to start with ---------------------------------


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return write_keys(tmp_path, WITNESS_SIGNER_TEXT)


def serve_args(state: Path, key: Path, office: Path, *more: str) -> list[str]:
    return [
        "witness", "serve", "--state", str(state), "--key", str(key),
        "--log", f"{ORIGIN}={office}", *more,
    ]  # fmt: skip


def test_serve_refuses_a_missing_state_folder(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    code, output = run(*serve_args(tmp_path / "nowhere", *keys))
    assert code == 2
    assert output == (
        f"Error: the state folder {tmp_path / 'nowhere'} does not exist; create it (an empty "
        "folder for a new witness), or give the folder that holds this witness's state.\n"
    )


def test_serve_refuses_a_log_key_as_its_own_and_a_witness_key_as_a_log_key(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    key, office = keys
    office_key = tmp_path / "office.key"
    office_key.write_text(OFFICE.text + "\n")
    code, output = run(*serve_args(tmp_path, office_key, office))
    assert code == 2
    assert "is a log's signing key (type 0x01), not a witness key (type 0x04)" in output
    witness_pub = tmp_path / "witness.pub"
    witness_pub.write_text(WITNESS_VKEY + "\n")
    code, output = run(*serve_args(tmp_path, key, witness_pub))
    assert code == 2
    assert "is not an Ed25519 key (its algorithm byte is not 0x01)" in output


@pytest.mark.parametrize("option", ["oneruler/x", "=office.pub", "oneruler/x="])
def test_serve_refuses_a_log_option_not_of_the_form_origin_equals_file(
    tmp_path: Path, keys: tuple[Path, Path], option: str
) -> None:
    code, output = run(
        "witness", "serve", "--state", str(tmp_path), "--key", str(keys[0]), "--log", option
    )
    assert code == 2
    assert f"--log {option!r} is not ORIGIN=VKEYFILE" in output


def test_serve_needs_a_log_and_a_readable_key(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    code, output = run("witness", "serve", "--state", str(tmp_path), "--key", str(keys[0]))
    assert code == 2
    assert "Missing option '--log'" in output
    code, output = run(*serve_args(tmp_path, tmp_path / "none.key", keys[1]))
    assert code == 2
    assert f"{tmp_path / 'none.key'} does not exist; give the file that holds a witness's" in output


def test_serve_refuses_a_port_in_use(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = run(*serve_args(tmp_path, *keys, "--port", str(port)))
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in output


# --- the witness over HTTP -----------------------------------------------------------


class Server(WitnessProcess):
    """`oneruler witness serve` in a process of its own, witnessing the test log."""

    def __init__(self, state: Path, keys: tuple[Path, Path], port: int = 0) -> None:
        key, office = keys
        super().__init__(state, key, [f"{ORIGIN}={office}"], port)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


@pytest.fixture
def server(state: Path, keys: tuple[Path, Path]) -> Iterator[Server]:
    running = Server(state, keys)
    yield running
    running.stop()


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers["Content-Type"], e.read().decode()


def post(
    server: Server, old: int, note: str, proof: list[bytes] | None = None
) -> tuple[int, str, str]:
    return http("POST", server.url + "/add-checkpoint", request_body(old, proof or [], note))


def test_every_status_over_http(server: Server, log: Log) -> None:
    first, later = log.checkpoints[4], log.checkpoints[12]
    status, content_type, body = post(server, 0, first.note)
    assert (status, content_type) == (200, "text/plain; charset=utf-8")
    assert c2sp_cosignature_times(first.note + body, WITNESS_VKEY)
    # 409: exactly the content type of the protocol, and the size alone
    assert post(server, 0, later.note) == (409, "text/x.tlog.size", f"{first.size}\n")
    proof = log.proof(first.size, later.size)
    assert post(server, first.size, later.note, proof)[0] == 200
    # 422: a fork at the witness's size; a proof that does not verify
    fork = log.forge(first.size, later.size, seed=7)
    assert post(server, later.size, fork.head.note)[0] == 422
    assert post(server, later.size, log.head.note, [bytes(32)])[0] == 422
    # 400: an old size beyond the checkpoint; a body that is not a request; too large
    assert post(server, later.size, first.note)[0] == 400
    assert http("POST", server.url + "/add-checkpoint", b"hello")[0] == 400
    assert http("POST", server.url + "/add-checkpoint", b"x" * 70_000)[0] == 400
    # 403: not signed by the log's key; 404: a log this witness does not know
    unsigned = log.head.note.split("\n\n")[0] + "\n\n" + "\u2014 xingcheng-office AAAAAAAA\n"
    assert post(server, later.size, unsigned)[0] == 403
    stranger = sign_note(Checkpoint("other.example/log", 1, bytes(32)).body(), OFFICE)
    assert post(server, 0, stranger)[0] == 404
    assert http("GET", server.url + "/add-checkpoint")[0] == 405
    # the monitoring URL: the last checkpoint cosigned, with both signatures
    status, _, held = http("GET", f"{server.url}/{ORIGIN_HASH}/checkpoint")
    assert status == 200 and held.startswith(later.note)
    assert c2sp_cosignature_times(held, WITNESS_VKEY)
    assert http("GET", f"{server.url}/{'0' * 64}/checkpoint")[0] == 404


def test_a_damaged_state_answers_500_and_cosigns_nothing(
    server: Server, state: Path, log: Log
) -> None:
    first = log.checkpoints[4]
    assert post(server, 0, first.note)[0] == 200
    (path,) = state.glob("*.json")
    path.write_text("{")
    assert post(server, first.size, log.head.note, log.proof(first.size, log.head.size)) == (
        500,
        "text/plain; charset=utf-8",
        "The witness cannot read or write its state; it cosigns nothing until its operator "
        "restores it.\n",
    )
    assert path.read_text() == "{"
    assert http("GET", f"{server.url}/{ORIGIN_HASH}/checkpoint")[0] == 500
    assert f"the state file {path} is damaged" in (state.parent / "serve.log").read_text()


def test_the_log_side_client_catches_up_from_409_and_verifies_the_cosignature(
    server: Server, log: Log
) -> None:
    endpoint = WitnessEndpoint(server.url, WITNESS_KEY)
    start, middle, end = log.checkpoints[2], log.checkpoints[15], log.head
    assert cosign(endpoint, start.note, lambda old: log.proof(old, start.size)).timestamp > 0
    # The client thinks the witness is new (old 0); the witness says 409 and its size.
    found = cosign(endpoint, middle.note, lambda old: log.proof(old, middle.size))
    assert c2sp_cosignature_times(middle.note + found.line, WITNESS_VKEY) == [found.timestamp]
    with pytest.raises(WitnessError) as refused:
        cosign(endpoint, log.forge(middle.size, end.size, 3).head.note, lambda old: [bytes(32)])
    assert refused.value.status == 422
    assert "refused the checkpoint (422: The consistency proof from size" in str(refused.value)
    with pytest.raises(WitnessError, match=r"has already cosigned size .* larger than"):
        cosign(endpoint, start.note, lambda old: [], old_size=start.size)
    other = WitnessEndpoint(server.url, new_witness("someone.else")[1])
    with pytest.raises(WitnessError, match="answered with no timestamped cosignature by its key"):
        cosign(other, end.note, lambda old: log.proof(old, end.size), old_size=middle.size)


def at_once(requests: list[tuple[Server, int, str, list[bytes]]]) -> list[int]:
    """Each request's status, sent from threads released at the same moment."""
    statuses = [0] * len(requests)
    barrier = threading.Barrier(len(requests))

    def send(i: int) -> None:
        barrier.wait()
        statuses[i] = post(*requests[i])[0]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_two_processes_on_one_state_folder_cosign_one_of_two_racing_forks(
    state: Path, keys: tuple[Path, Path], log: Log
) -> None:
    servers = [Server(state, keys), Server(state, keys)]
    try:
        head: Log = log
        assert post(servers[0], 0, head.head.note)[0] == 200
        for race in range(12):
            size = head.head.size
            forks = [
                head.forge(size, size + 1 + race % 3, seed=1000 + 2 * race + i) for i in (0, 1)
            ]
            answers = at_once(
                [
                    (servers[i], size, forks[i].head.note, forks[i].proof(size, forks[i].head.size))
                    for i in (0, 1)
                ]
            )
            assert sorted(answers) == [200, 409], answers
            winner = next(i for i, status in enumerate(answers) if status == 200)
            for each in servers:
                _, _, held = http("GET", f"{each.url}/{ORIGIN_HASH}/checkpoint")
                assert held.startswith(forks[winner].head.note)
            head = forks[winner]
    finally:
        for each in servers:
            each.stop()


# --- kill -9 ---------------------------------------------------------------------------

KILLS = 10


def test_kill_9_and_restart_never_cosign_two_checkpoints_of_one_size(
    state: Path, keys: tuple[Path, Path], log: Log
) -> None:
    """A client feeds the witness the ledger's checkpoints in order, forgeries of the
    size the witness holds (by the office's own key), and old checkpoints, while the
    witness is killed with SIGKILL at random moments and restarted on its state. From
    every cosignature the client received: one root per size, the ledger's, and times
    that never go back."""
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    servers = [Server(state, keys)]
    endpoint = WitnessEndpoint(servers[0].url, WITNESS_KEY)
    done = threading.Event()
    # How many requests the witness has answered: each of its lives answers a few
    # before it is killed, however slow the machine (a kill after a random time alone
    # could leave a loaded machine's witness no time to answer anything).
    answered = [0]

    def killer() -> None:
        pace = random.Random(seed + 1)
        try:
            for _ in range(KILLS):
                wanted, waited = answered[0] + pace.randint(2, 12), time.monotonic()
                while answered[0] < wanted and time.monotonic() - waited < 30:
                    time.sleep(0.002)
                time.sleep(pace.uniform(0.0, 0.02))  # then at a random moment, mid-request too
                servers[-1].kill()
                servers.append(Server(state, keys, port=servers[0].port))
        finally:
            done.set()

    thread = threading.Thread(target=killer)
    thread.start()
    received: list[tuple[int, bytes, Cosignature]] = []
    outcomes: Counter[str] = Counter()
    believed, after_restart = 0, False

    def enough() -> bool:
        """What the checks below need to have been tried: a few sizes cosigned and a
        forgery refused (after the last kill, the client goes on until they are)."""
        sizes = {size for size, _, _ in received}
        return len(sizes) >= 3 and outcomes["forgery 422"] > 0

    deadline = time.monotonic() + 120
    try:
        while not (done.is_set() and enough()) and time.monotonic() < deadline:
            action = (
                "forgery"
                if after_restart
                else rng.choices(["next", "again", "forgery", "rollback"], [6, 40, 40, 14])[0]
            )
            later = [c for c in log.checkpoints if c.size > believed]
            target_log = log
            if action == "next" and later:
                target = later[0]
            elif action == "forgery" and believed > log.checkpoints[0].size:
                earlier = max(c.size for c in log.checkpoints if c.size < believed)
                target_log = log.forge(earlier, believed, seed=rng.getrandbits(32))
                target = target_log.head
            elif action == "rollback" and believed > log.checkpoints[0].size:
                target = rng.choice([c for c in log.checkpoints if c.size < believed])
            else:
                action, target = "again", log.at(believed) if believed else log.checkpoints[0]
            try:
                found = cosign(
                    endpoint,
                    target.note,
                    lambda old, t=target_log, n=target.size: t.proof(old, n),
                    old_size=believed,
                    timeout=5,
                )
            except WitnessError as e:
                outcomes[f"{action} {e.status}"] += 1
                answered[0] += e.status is not None
                # No answer: killed, or not yet back. The first request it answers next
                # is a forgery of the size it held: the moment a lost state would show.
                after_restart = e.status is None
                if after_restart:
                    time.sleep(0.01)
                continue
            after_restart = False
            answered[0] += 1
            outcomes[f"{action} 200"] += 1
            received.append((target.size, target.root, found))
            believed = max(believed, target.size)
    finally:
        thread.join()
        final = http("GET", f"{servers[-1].url}/{ORIGIN_HASH}/checkpoint")
        servers[-1].stop()
    context = f"seed {seed}, outcomes {dict(outcomes)}"
    roots: dict[int, set[bytes]] = {}
    for size, root, _ in received:
        roots.setdefault(size, set()).add(root)
    forked = sorted(size for size, found in roots.items() if found != {log.root(size)})
    assert forked == [], f"cosigned other roots at sizes {forked}: {context}"
    assert outcomes["forgery 200"] == 0 and outcomes["forgery 422"] > 0, context
    assert sum(n for k, n in outcomes.items() if k.endswith("None")) > 0, context
    assert len(roots) >= 3, context
    times = [found.timestamp for _, _, found in received]
    assert times == sorted(times), context
    for size, _, found in received:
        note = log.at(size).note
        assert c2sp_cosignature_times(note + found.line, WITNESS_VKEY) == [found.timestamp]
    # The witness remembers at least the last cosignature it sent, and nothing else.
    assert final[0] == 200, context
    held = final[2]
    held_size = int(held.split("\n")[1])
    assert held_size >= believed, context
    assert held.startswith(next(c.note for c in log.checkpoints if c.size == held_size)), context
