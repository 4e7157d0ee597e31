"""Load on the office's web application: N concurrent clients mixing household pages,
searches, the bulletin and command posts, against `oneruler serve` on a bench ledger.

    python benchmarks/web_load.py DB [--households N] [--clients 50] [--seconds 60]
        [--pause SECONDS] [--workers W] [--processes P] [--json]

DB is a ledger written by `oneruler bench` (its programme: households XC-0000001 …,
hotline staff hot-1 … hot-4). The script starts `oneruler serve --db DB --port 0` (with
`--workers W`), gives each client two tokens of a hotline officer, one for the API and
one for pages (a page session, with its idle timeout; issued by the identity service
into the ledger's own tables, as a login would, without the Argon2 wait), runs the
clients for the given time in P processes of threads (each client one persistent
HTTP/1.1 connection, one request at a time, read lean: see Connection), then stops the
server with SIGTERM. Without --pause a client sends its next request as soon as the
last is answered: the server's most, and a latency that is mostly waiting in line
(50 clients at R requests/s wait about 50/R s each). With --pause S a client thinks
between requests, for a time drawn from an exponential distribution of mean S, as
people at their desks do: the latency of a server that is not saturated. A ledger
with no checkpoint is given one first (a key made for the run), so that the public
checkpoint is served. It prints the seconds from the server's launch to its first
answer; per kind of request and in all, the count, the median and p99 latency as the
client saw it; the requests per second, every error (a status other than the expected
one), and where the machine's CPU went meanwhile.

The mix (weights): a household's API document 35, its page 10, a search 15, the group
report 10, the public bulletin page 10, the public checkpoint 5, a command post 15 (a
complaint filed by the client's hotline officer about a random household: each
appends events, the Merkle leaves and the read models' rows, like any command).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

KINDS: dict[str, int] = {
    "household": 35,
    "household_page": 10,
    "search": 15,
    "report": 10,
    "bulletin": 10,
    "checkpoint": 5,
    "command": 15,
}


def start_server(db: str, workers: int) -> tuple[subprocess.Popen[str], str, int, float]:
    """`oneruler serve` on a free port; its host and port, read from what it prints,
    and the seconds from its launch to its first answer (specs/web.md: under 2 s)."""
    program = Path(sys.executable).parent / "oneruler"
    command = [str(program), "serve", "--db", db, "--host", "127.0.0.1", "--port", "0"]
    if workers > 1:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert server.stdout is not None
    started = time.monotonic()
    for line in server.stdout:
        found = re.search(r"http://([\d.]+):(\d+)", line)
        if found:
            threading.Thread(target=server.stdout.read, daemon=True).start()  # drain
            host, port = found.group(1), int(found.group(2))
            first = _wait_until_answering(host, port)
            return server, host, port, first - started
        if time.monotonic() - started > 60:
            break
    server.kill()
    raise SystemExit(f"oneruler serve did not print its address; it said: {line.strip()}")


def _wait_until_answering(host: str, port: int) -> float:
    """Until every worker could answer: the address is printed before they start. The
    moment (time.monotonic) of the first answer."""
    answered, first = 0, 0.0
    for _ in range(600):
        connection = Connection(host, port)
        try:
            connection.request("GET", "/checkpoint", {}, None)
            answered += 1
            first = first or time.monotonic()
            if answered >= 20:
                return first
        except (OSError, ValueError):
            answered, first = 0, 0.0
        finally:
            connection.close()
        time.sleep(0.05)
    raise SystemExit(f"oneruler serve on {host}:{port} does not answer")


def issue_tokens(db: str, staff: list[str], count: int) -> list[tuple[str, str, str]]:
    """Two tokens for each client, of the given staff members in turn: one as the
    API's login gives (no idle timeout), one as the login page gives (a page session,
    which ends when idle, and so notes its last use): (api token, page token, staff)."""
    from datetime import timedelta

    from ledger.identity import Identity
    from ledger.store import open_ledger

    ledger = open_ledger(db)
    try:
        identity = Identity(ledger)
        chosen = [staff[i % len(staff)] for i in range(count)]
        idle = timedelta(minutes=30)
        return [
            (identity.issue_token(m)[0], identity.issue_token(m, idle=idle)[0], m) for m in chosen
        ]
    finally:
        ledger.close()


def ensure_checkpoint(db: str) -> None:
    """A checkpoint on the ledger, signed with a key made for the run, if it has none."""
    import tempfile

    from ledger.reads import Reads
    from ledger.store import open_ledger

    ledger = open_ledger(db)
    try:
        if Reads(ledger).latest_checkpoint() is not None:
            return
    finally:
        ledger.close()
    program = str(Path(sys.executable).parent / "oneruler")
    with tempfile.TemporaryDirectory() as keys:
        name = "bench.example/web-load"
        subprocess.run([program, "key", "generate", name, "--dir", keys], check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([program, "checkpoint", "--key", f"{keys}/web-load.key", "--db", db],
                       check=True, capture_output=True)  # fmt: skip


def _request(
    kind: str, rng: random.Random, households: int, staff: str
) -> tuple[str, str, bytes | None, int]:
    code = (
        f"XC-{rng.randint(1, households):07d}"
        if households >= 10_000
        else f"XC-{rng.randint(1, households):04d}"
    )
    if kind == "household":
        return "GET", f"/api/v1/households/{code}", None, 200
    if kind == "household_page":
        return "GET", f"/households/{code}", None, 200
    if kind == "search":
        return "GET", f"/api/v1/households?q={code[:-2]}", None, 200
    if kind == "report":
        return "GET", "/api/v1/reports/groups", None, 200
    if kind == "bulletin":
        return "GET", "/public/bulletin", None, 200
    if kind == "checkpoint":
        return "GET", "/checkpoint", None, 200
    line = {
        "id": f"load-{uuid.uuid4().hex}",
        "cmd": "file_complaint",
        "actor": staff,
        "at": "2018-03-29T10:00:00+08:00",
        "complaint": f"C-L{uuid.uuid4().hex[:12].upper()}",
        "channel": "hotline",
        "about": {"household": code},
        "summary": "压力测试 (load test)",
    }
    return "POST", "/api/v1/commands", json.dumps(line, ensure_ascii=False).encode(), 201


class Connection:
    """One kept-alive HTTP/1.1 connection, as lean as a client can be: the request
    written in one piece, the response read by its Content-Length (every response of
    the mix has one). http.client parses each response's head as an e-mail message:
    with 50 clients on the server's own machine, that was a good part of a core taken
    from the server being measured."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.host = f"{host}:{port}".encode()
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.answered = False

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
        """Send one request, read its whole response; its status. Unanswered when the
        connection was closed before any of the response came; another OSError when
        it failed otherwise; ValueError for a response it cannot read."""
        self.answered = False
        try:
            return self._request(method, path, headers, body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as closed:
            if self.answered:
                raise
            raise Unanswered(str(closed)) from closed

    def _request(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=60)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self.host]
        lines += [f"{name}: {value}".encode() for name, value in headers.items()]
        if body is not None:
            lines.append(b"Content-Length: %d" % len(body))
        self.sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + (body or b""))
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        length = _content_length(head)
        while len(self.buffer) < length:
            self._receive()
        self.buffer = self.buffer[length:]
        if b"\r\nconnection: close" in head.lower():
            self.close()
        return status

    def _receive(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        self.answered = True
        self.buffer += data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


class Unanswered(ConnectionError):
    """The server closed the connection before any of the response came: a kept-alive
    connection it had closed after its idle timeout, which the request never reached."""


def _content_length(head: bytes) -> int:
    found = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    if found is None:
        raise ValueError("a response without Content-Length: " + head[:200].decode("latin-1"))
    return int(found.group(1))


def client(
    host: str,
    port: int,
    token: str,
    page_token: str,
    staff: str,
    households: int,
    until: float,
    seed: int,
    pause: float,
    out: list[tuple[str, float, int]],
) -> None:
    """One client: one connection, one request after another until `until`, with a
    think time of mean `pause` seconds between them (0: none)."""
    rng = random.Random(seed)
    if pause:
        time.sleep(rng.uniform(0, pause))  # the clients do not all start at once
    kinds, weights = list(KINDS), list(KINDS.values())
    connection = Connection(host, port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    page_headers = {"Cookie": f"oneruler_session={page_token}"}
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        method, path, body, expected = _request(kind, rng, households, staff)
        started = time.perf_counter()
        for attempt in (1, 2):
            reused = connection.sock is not None
            try:
                status = connection.request(
                    method, path, page_headers if kind == "household_page" else headers, body
                )
                break
            except Unanswered:
                connection.close()
                status = 0
                # A kept-alive connection the server closed after its idle timeout
                # (5 s) is opened again and the request sent again, as browsers do;
                # nothing of it had reached the server.
                if attempt == 2 or not reused:
                    break
            except (OSError, ValueError):  # failed, timed out, or not HTTP: an error
                connection.close()
                status = 0
                break
        elapsed = time.perf_counter() - started
        out.append((kind, elapsed, status if status != expected else -1))
        if pause:
            time.sleep(min(rng.expovariate(1 / pause), max(0.0, until - time.monotonic())))
    connection.close()


def run_process(args: tuple[Any, ...]) -> tuple[list[tuple[str, float, int]], float]:
    """One process of clients: their samples, and the CPU seconds the process used."""
    host, port, tokens, households, until, seed, pause = args
    out: list[tuple[str, float, int]] = []
    before = _own_cpu()
    threads = [
        threading.Thread(
            target=client,
            args=(
                host,
                port,
                token,
                page_token,
                member,
                households,
                until,
                seed * 1000 + i,
                pause,
                out,
            ),
        )
        for i, (token, page_token, member) in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out, _own_cpu() - before


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process and its descendants (the server and its
    workers), from /proc."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick

    def descends(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    return sum(seconds for pid, seconds in used.items() if descends(pid))


def _machine_cpu() -> tuple[float, float]:
    """The machine's CPU seconds so far: busy, and in all (every core), from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and waiting for I/O
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:8]) - idle) / tick, sum(ticks[:8]) / tick


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def summary(samples: list[tuple[str, float, int]], seconds: float) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for kind in [*KINDS, "all"]:
        chosen = sorted(s[1] for s in samples if kind in ("all", s[0]))
        if not chosen:
            continue
        figures[kind] = {
            "requests": len(chosen),
            "median_ms": round(statistics.median(chosen) * 1000, 2),
            "p99_ms": round(percentile(chosen, 0.99) * 1000, 2),
        }
    reads = sorted(s[1] for s in samples if s[0] != "command")
    figures["reads_p99_ms"] = round(percentile(reads, 0.99) * 1000, 2) if reads else None
    figures["requests_per_second"] = round(len(samples) / seconds, 1)
    errors: dict[str, int] = {}
    for kind, _, status in samples:
        if status != -1:
            errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1
    figures["errors"] = errors
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db")
    parser.add_argument("--households", type=int, required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    staff = [f"hot-{i}" for i in range(1, 5)]
    tokens = issue_tokens(options.db, staff, options.clients)
    ensure_checkpoint(options.db)
    server, host, port, start_seconds = start_server(options.db, options.workers)
    try:
        until = time.monotonic() + options.seconds
        shares = [tokens[p :: options.processes] for p in range(options.processes)]
        jobs = [
            (host, port, share, options.households, until, p, options.pause)
            for p, share in enumerate(shares)
        ]
        started = time.monotonic()
        server_before, machine_before = _tree_cpu(server.pid), _machine_cpu()
        with multiprocessing.get_context("fork").Pool(options.processes) as pool:
            results = pool.map(run_process, jobs)
        seconds = time.monotonic() - started
        server_cpu = _tree_cpu(server.pid) - server_before
        busy, overall = (a - b for a, b in zip(_machine_cpu(), machine_before, strict=True))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    samples = [s for result, _ in results for s in result]
    clients_cpu = sum(cpu for _, cpu in results)
    figures = {
        "db": options.db if "@" not in options.db else options.db.split("@")[-1],
        "households": options.households,
        "clients": options.clients,
        "workers": options.workers,
        "pause": options.pause,
        "seconds": round(seconds, 1),
        "start_seconds": round(start_seconds, 2),
        **summary(samples, seconds),
        # Where the machine's time went (CPU seconds over the run): the server (all its
        # processes), the clients, and the rest (the database server, anything else).
        "cpu_seconds": {
            "server": round(server_cpu, 1),
            "clients": round(clients_cpu, 1),
            "other": round(busy - server_cpu - clients_cpu, 1),
            "idle": round(overall - busy, 1),
        },
    }
    if options.json:
        print(json.dumps(figures, ensure_ascii=False))
        return
    for kind, value in figures.items():
        print(f"{kind}: {value}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
