"""How `oneruler serve` talks TCP: each connection with TCP_NODELAY, so that a
response's second piece is not held back for the client's delayed acknowledgement
(44 ms for every request after the first on a kept-alive connection, measured before);
and a server settles its start-up objects out of the collector's sight."""

from __future__ import annotations

import contextlib
import gc
import http.client
import socket
import threading

import uvicorn

from cli.serve import _bind
from tests.web.conftest import load_sample
from web.app import create_app
from web.office import Settings
from web.serving import PROTOCOL, settle


def test_every_connection_of_the_server_has_tcp_nodelay(tmp_path: object) -> None:
    db = f"{tmp_path}/ledger.db"
    load_sample(db)
    # Bound as `oneruler serve` binds it: a socket of its own, which asyncio does not
    # set TCP_NODELAY on by itself.
    sock = _bind("127.0.0.1", 0)
    config = uvicorn.Config(create_app(db, Settings()), log_level="warning", http=PROTOCOL,
                            loop="asyncio")  # fmt: skip
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not running.started:
            assert thread.is_alive(), "the server did not start"
            threading.Event().wait(0.05)
        port = sock.getsockname()[1]
        with contextlib.closing(
            http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        ) as client:
            for _ in range(2):  # kept alive: the second request on the same connection
                client.request("GET", "/public/policies")
                answer = client.getresponse()
                assert answer.status == 200 and answer.read()
            connections = list(running.server_state.connections)
            assert len(connections) == 1
            sock = connections[0].transport.get_extra_info("socket")  # type: ignore[attr-defined]
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        running.should_exit = True
        thread.join(timeout=30)


def test_a_settled_process_has_frozen_its_objects() -> None:
    try:
        settle()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_requests_are_answered_in_the_order_they_came(tmp_path: object) -> None:
    """The ledger's work is one request at a time, in the order the requests came: a
    request never waits more turns than there were requests before it (with a lock
    that many threads wait on, some waited many turns: a long tail)."""
    import asyncio
    import time

    from ledger.store import open_ledger
    from web.office import Office

    office = Office(open_ledger(f"sqlite:///{tmp_path}/ledger.db"))
    done: list[int] = []

    def work(i: int) -> int:
        time.sleep(0.001)
        done.append(i)
        return i

    async def burst() -> list[int]:
        return await asyncio.gather(*(office.serve(lambda i=i: work(i)) for i in range(60)))

    try:
        assert asyncio.run(burst()) == list(range(60))
        assert done == list(range(60))
    finally:
        office.close()
