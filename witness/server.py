"""The witness over HTTP: a Starlette application served by uvicorn on a socket it is given."""

from __future__ import annotations

import logging
import socket

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from witness.protocol import MAX_REQUEST_BYTES, Answer, Witness
from witness.state import StateError

# uvicorn configures this logger, so refusals go where its own messages go.
log = logging.getLogger("uvicorn.error")

_TOO_LARGE = Answer(400, f"Malformed request: it is larger than {MAX_REQUEST_BYTES} bytes.\n")
_NO_STATE = Answer(
    500,
    "The witness cannot read or write its state; it cosigns nothing until "
    "its operator restores it.\n",
)


def _response(answer: Answer) -> Response:
    # The content type goes in as a header, not a media type, so that Starlette does not
    # add a charset: tlog-witness clients compare `text/x.tlog.size` exactly.
    return Response(
        answer.body.encode("utf-8"),
        status_code=answer.status,
        headers={"content-type": answer.content_type},
    )


async def _body(request: Request) -> bytes | None:
    """The request body, or None if it is larger than any add-checkpoint request."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return None
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_REQUEST_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def make_app(witness: Witness) -> Starlette:
    """The witness's routes: POST /add-checkpoint and GET /<origin hash>/checkpoint."""

    async def add_checkpoint(request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return _response(_TOO_LARGE)
        # Verifying, signing and fsyncing block, and the log's lock may wait for another
        # request: all of it runs in a worker thread, off the event loop.
        try:
            answer = await run_in_threadpool(witness.add_checkpoint, body)
        except StateError as e:
            # Fail closed, and say why where the operator looks.
            log.error("add-checkpoint cannot go on: %s", e)
            return _response(_NO_STATE)
        if answer.status == 200:
            log.info("add-checkpoint: %s", answer.summary)
        elif answer.status != 409:
            log.info("add-checkpoint refused (%d): %s", answer.status, answer.body.strip())
        return _response(answer)

    async def checkpoint(request: Request) -> Response:
        try:
            answer = await run_in_threadpool(witness.latest, request.path_params["hashed"])
        except StateError as e:
            log.error("checkpoint cannot be shown: %s", e)
            return _response(_NO_STATE)
        return _response(answer)

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/{hashed}/checkpoint", checkpoint, methods=["GET"]),
        ]
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one. Bound before the server starts, so
    the address can be printed once connections are already being accepted."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def serve(witness: Witness, sock: socket.socket) -> None:
    """Serve until interrupted (SIGINT or SIGTERM end it gracefully)."""
    import uvicorn

    config = uvicorn.Config(
        make_app(witness),
        log_level="info",
        # What matters is logged above, on standard error; the access log would go to
        # standard output, where the address is printed.
        access_log=False,
        # An idle or slow client must not hold a connection for long.
        timeout_keep_alive=5,
        # Requests past this many at once are answered 503, not queued without end.
        limit_concurrency=64,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])
