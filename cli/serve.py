"""`oneruler serve`: the office's web application (specs/web.md, docs/web.md) on
uvicorn."""

from __future__ import annotations

import os
import signal
import socket
from typing import TYPE_CHECKING

import click

from cli.options import BadInput, db_option, translate_errors
from ledger.store import display_url, resolve_url

if TYPE_CHECKING:
    import uvicorn


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="The port to listen on (0: any free port, printed at start).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes, each answering requests on its own (as many as the machine has cores).",
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Mark the session cookie Secure: behind a TLS reverse proxy (docs/web.md).",
)
@translate_errors
def serve(db: str | None, host: str, port: int, workers: int, secure_cookies: bool) -> None:
    """Serve the ledger's pages and its JSON API (/api/v1) over HTTP until stopped
    (Ctrl-C or SIGTERM: requests in flight finish first). TLS is the reverse proxy's
    job (docs/web.md). --workers N: N processes, on either store."""
    import uvicorn

    from web.app import DB_ENV, create_app
    from web.office import Settings
    from web.serving import PROTOCOL, settle

    url = resolve_url(db)
    settings = Settings(secure_cookies=secure_cookies)
    # Opened here first, so that a missing or foreign ledger is one sentence at once.
    app = create_app(url, settings)
    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    click.echo(f"serving {display_url(url)} on http://{shown}:{bound_port}/", nl=True)
    common = {
        "log_level": "info",
        "access_log": False,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 20,
        "server_header": False,
        "proxy_headers": True,
        "http": PROTOCOL,
    }
    if workers == 1:
        server = uvicorn.Server(uvicorn.Config(app, **common))  # type: ignore[arg-type]
        settle()
        stop.hand_to(server)
        server.run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    app.state.office.close()
    os.environ[DB_ENV] = url
    if secure_cookies:
        os.environ["ONERULER_SECURE_COOKIES"] = "1"
    config = uvicorn.Config(
        "web.app:from_environment",
        factory=True,
        workers=workers,
        **common,  # type: ignore[arg-type]
    )
    # The workers share the socket bound above (no moment when the port is free); the
    # supervisor takes SIGTERM over when it is made, so a stop asked before is seen here.
    supervisor = Multiprocess(config, sockets=[sock])
    if not stop.asked:
        supervisor.run()


class _Stop:
    """SIGTERM before uvicorn takes the signal over, and after it gives it back. A stop
    asked for is a clean exit (status 0): never a death by the signal, never a signal
    ignored. It is noted, and once a server is handed over, the server is asked to stop
    (it does when it has started). Nothing is raised from the handler: an exception
    raised where the signal lands (a weak reference's callback in a collection, the
    event loop) can be swallowed or leave the server hanging. uvicorn stops gracefully
    on SIGTERM (requests in flight finish), then raises the signal again to this
    handler, which then has nothing left to do."""

    def __init__(self) -> None:
        self.asked = False
        self.server: uvicorn.Server | None = None

    def __call__(self, *_: object) -> None:
        self.asked = True
        if self.server is not None:
            self.server.should_exit = True

    def hand_to(self, server: uvicorn.Server) -> None:
        self.server = server
        if self.asked:
            server.should_exit = True


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise BadInput(
            f"cannot listen on {host}:{port} ({e.strerror}); give another --port or --host."
        ) from None
    return sock
