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
