"""How uvicorn talks TCP for the office: every connection with TCP_NODELAY.

A response is written in two pieces (its head, then its body). Without TCP_NODELAY the
kernel holds the second piece back until the client acknowledges the first, and a
client that delays its acknowledgements (Linux: up to 40 ms) makes every request after
the first on a kept-alive connection wait for it: 2 ms of work answered in 44 ms.
asyncio sets the option itself only on sockets it created with the TCP protocol number;
`oneruler serve` binds its own socket, and uvicorn's workers share one bound without it,
so the option is set here, on each connection, whoever bound the socket.

And a server process settles before it serves (`settle`): what it loaded at start (the
ledger, its caches, Jinja2, the libraries) is moved out of the garbage collector's
sight. Otherwise each full collection walks all of it again, some 20 to 40 ms in which
no request is answered, every few seconds under load."""

from __future__ import annotations

import asyncio
import gc
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

# uvicorn's `http` setting, as an import string its worker processes can load.
PROTOCOL = "web.serving:NoDelayH11Protocol"


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]


def settle() -> None:
    """Collect once, then freeze what survives (gc.freeze): a long-lived server's
    start-up objects are not scanned by later collections; they are still freed by
    reference counting if they ever go."""
    gc.collect()
    gc.freeze()
