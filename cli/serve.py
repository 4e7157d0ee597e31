"""`oneruler serve`: the office's web application (specs/web.md, docs/web.md) on
uvicorn."""

from __future__ import annotations

import os
import signal
import socket

import click

from cli.options import BadInput, db_option, translate_errors
from ledger.store import display_url, resolve_url


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
    # uvicorn stops gracefully on SIGTERM (requests in flight finish), then raises the
    # signal again to whatever handled it before: here, nothing, so that a stop asked
    # for is a clean exit (status 0), not a death by the signal.
    signal.signal(signal.SIGTERM, lambda *_: None)
    if workers == 1:
        config = uvicorn.Config(app, **common)  # type: ignore[arg-type]
        settle()
        uvicorn.Server(config).run(sockets=[sock])
        return
    app.state.office.close()
    os.environ[DB_ENV] = url
    if secure_cookies:
        os.environ["ONERULER_SECURE_COOKIES"] = "1"
    sock.close()
    uvicorn.run(
        "web.app:from_environment",
        factory=True,
        host=host,
        port=bound_port,
        workers=workers,
        **common,  # type: ignore[arg-type]
    )


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
