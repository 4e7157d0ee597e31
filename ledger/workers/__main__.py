"""`python -m ledger.workers NAME`: run one worker (launcher.py says how it is spoken
with). The one main() of every second process: it reads its launch and request,
opens the ledger if the worker needs one, runs the worker's serve(), sends its result,
and says why it failed, if it did."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Protocol

from ledger.workers.launcher import ENVIRONMENT, Channel, Launch

# Each worker's module, imported only when it is the one run (the read-ahead starts
# with little to import).
WORKERS = {
    "follower": "ledger.workers.follower",
    "rebuild": "ledger.workers.rebuild",
    "verify": "ledger.workers.verify",
    "readahead": "ledger.workers.readahead",
}


class Serve(Protocol):
    """A worker's side: given the ledger (None for a worker that opens none), its
    request and its channel, do the work; what it returns is sent as its result."""

    def __call__(self, ledger: Any, request: Any, channel: Channel) -> Any: ...


def main(argv: list[str]) -> int:
    ledger: Any = None
    try:
        module = importlib.import_module(WORKERS[argv[0]])
        launch = Launch.from_environment(os.environ[ENVIRONMENT])
        channel = Channel(sys.stdin.buffer, sys.stdout.buffer)
        request = channel.request()
        if module.OPENS_LEDGER:
            from ledger.application import Ledger

            assert launch.store is not None
            ledger = Ledger(env=dict(launch.store), settings=launch.settings)
        serve: Serve = module.serve
        channel.done(serve(ledger, request, channel))
        return 0
    except Exception as e:  # said to the starting process, which does the work itself
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        if ledger is not None:
            ledger.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
