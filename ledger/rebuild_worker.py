"""A second process that folds aggregates in a long rebuild, while the rebuilding
process folds others and writes them all in its one transaction
(ReadModels._fold, ledger/read_models.py).

The worker is `python -m ledger.rebuild_worker`, started with the store's settings in
its environment and, as msgpack on its standard input, the model to fold (a read
model that folds aggregate by aggregate) and the stored events the rebuilding
process read in stored order before the fold (what the models take in first: the
policy versions, the complaints about each household, ...). It takes those in, then
reads the folded model's events from the highest aggregate id down (up to the
rebuild's last position), in one read transaction, folds each aggregate exactly as
the rebuilding process does, and sends every write the models made of it
(ReadModels.fold_from_the_end) as msgpack records on its standard output: a
statement as [text] the first time it is used (numbered in the order sent), an
aggregate as [its id (16 bytes), its events, [[statement number, [parameters, ...]],
...]]; then "done". Meanwhile the rebuilding process folds from the lowest id up,
and stops the worker where the two meet: the work is shared in whatever proportion
the two processes' speeds give, on any ledger and machine. The worker writes nothing
to the store: the rebuilding process makes its writes, so an interrupted rebuild
still leaves the read models as they were. It knows no read model."""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from uuid import UUID

import msgpack

from ledger.application import Ledger
from ledger.collector import collected_between_units
from ledger.read_models import ReadModels
from ledger.rebuild_client import DONE, SETTINGS


def main() -> int:
    request = msgpack.unpackb(sys.stdin.buffer.read(), raw=False)
    ledger = Ledger(env=json.loads(os.environ[SETTINGS]))
    try:
        read_models = ReadModels(ledger.recorder, ledger.mapper, prepare=False)
        out = sys.stdout.buffer
        packer = msgpack.Packer()
        numbers: dict[str, int] = {}

        def send(aggregate: UUID, events: int, writes: list[tuple[bool, str, Any]]) -> None:
            coded = []
            for many, statement, parameters in writes:
                number = numbers.get(statement)
                if number is None:
                    number = numbers[statement] = len(numbers)
                    out.write(packer.pack((statement,)))
                coded.append((number, parameters if many else [parameters]))
            out.write(packer.pack((aggregate.bytes, events, coded)))

        with (
            collected_between_units() as collector,
            read_models.store.projection_transaction(commit=False) as c,
        ):
            read_models.fold_from_the_end(
                c,
                request["model"],
                request["upto"],
                request["read"],
                send,
                collector.between_units,
            )
        out.write(packer.pack(DONE))
        out.flush()
        return 0
    except Exception as e:  # reported to the rebuilding process, which folds the rest
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        ledger.close()


if __name__ == "__main__":
    sys.exit(main())
