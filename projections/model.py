"""What a read model is: one class in one module of this package, with tables of its
own and one handler per domain event class it reads; the runner (ledger/read_models.py)
finds every such class here, feeds it events in stored order and writes what it
keeps, in batches (a page when following, a pass or a run of aggregates when
rebuilding)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import singledispatchmethod
from typing import Any, ClassVar, Protocol

from domain.values import LEDGER_TZ

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """A business time as whole microseconds since the epoch: sortable and exact."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_LOCAL_EPOCH = EPOCH.astimezone(LEDGER_TZ)


def moment(at: int) -> datetime:
    """A time kept as microseconds since the epoch, in the ledger's zone."""
    return _LOCAL_EPOCH + timedelta(microseconds=at)


class Cursor(Protocol):
    """What a read model is given to read and write its tables with ('?' parameters,
    rows as tuples): a store's cursor, or one that keeps the writes for later."""

    def execute(self, statement: str, parameters: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, statement: str, rows: Iterable[Sequence[Any]], /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class ReadModel:
    """The base of every read model.

    A model handles typed domain events, one handler per event class, registered on
    `handle` (functools.singledispatchmethod, as in eventsourcing's projections),
    each given the event and its position (notification id). Which topics a model
    reads follows from its handlers. Handlers keep what changed in memory; `flush`
    writes it at the end of a batch. Within a batch, models are called in the order
    of their dependencies (`after`): for each event every model that handles it,
    then each model's flush; so a model reads, in memory or in the tables, what the
    models it comes after have taken in, and consumes what they changed.
    """

    # Its tables and indexes (CREATE ... IF NOT EXISTS): emptied by a rebuild.
    tables: ClassVar[tuple[str, ...]] = ()
    # The models it reads or whose changes it consumes: given to its constructor,
    # in this order, and always called before it.
    after: ClassVar[tuple[type[ReadModel], ...]] = ()
    # A rebuild folds this model aggregate by aggregate: the events of this class
    # (an aggregate's base event class) are read together for each aggregate, once
    # the model's other events were read in stored order. None: stored order only.
    folds: ClassVar[type | None] = None
    # What it keeps of an event does not depend on the order of other aggregates'
    # events: a rebuild may then give it the events of another model's fold as that
    # model folds them, aggregate by aggregate, instead of reading them (and decoding
    # them) a second time in stored order. (A model that keys its rows by aggregate,
    # by position or by an id of the event's own, and upserts, rides; one that counts
    # in business-time order across aggregates does not.)
    rides_folds: ClassVar[bool] = False

    def __init__(self) -> None:
        self.c: Cursor  # set as each batch begins
        self.rebuilding = False  # between start_rebuild and finish_rebuild

    @property
    def name(self) -> str:
        return type(self).__module__.rpartition(".")[2]

    @singledispatchmethod
    def handle(self, event: object, position: int) -> None:
        """Take in one event (each model registers one handler per event class)."""

    def begin(self, c: Cursor) -> None:
        """A batch starts: its reads and writes go through c."""
        self.c = c

    def flush(self) -> None:
        """Write what the batch changed (and keep it where the models after this one
        look for it, until the batch ends)."""

    def end(self) -> None:
        """The batch is written: let go of what it changed (so that collecting garbage
        between batches does not walk it, nor keep it for longer)."""

    def forget(self) -> None:
        """Drop what is kept in memory between batches: a batch failed, or another
        process moved the read models on."""

    def start_rebuild(self) -> None:
        """A rebuild starts (the tables are empty)."""
        self.rebuilding = True

    def finish_rebuild(self) -> None:
        """Every event was taken in: write whatever was kept for the end."""
        self.rebuilding = False

    def compared(self, table: str) -> str:
        """A SELECT of the table's rows as a rebuild and following must agree on
        them (the property tests compare every model's tables this way)."""
        return f"SELECT * FROM {table}"

    @classmethod
    def handlers(cls) -> dict[type, Callable[..., None]]:
        """Each concrete event class (one with a TOPIC) this model handles, and the
        function that handles it (a handler for a base class covers its subclasses)."""
        declared = next(vars(k)["handle"] for k in cls.__mro__ if "handle" in vars(k))
        dispatcher = declared.dispatcher
        found: dict[type, Callable[..., None]] = {}
        for registered in dispatcher.registry:
            if registered is object:
                continue
            for event_class in _with_subclasses(registered):
                if "TOPIC" in vars(event_class):
                    found[event_class] = dispatcher.dispatch(event_class)
        return found

    @classmethod
    def table_names(cls) -> list[str]:
        return [
            statement.split("EXISTS ", 1)[1].split(" ", 1)[0]
            for statement in cls.tables
            if statement.startswith("CREATE TABLE")
        ]


def _with_subclasses(cls: type) -> list[type]:
    found = [cls]
    subclass: type
    for subclass in cls.__subclasses__():
        found.extend(_with_subclasses(subclass))
    return found


def registered() -> list[type[ReadModel]]:
    """Every read model of this package (each module defining a subclass of
    ReadModel), in an order where each comes after the models it names in `after`
    (otherwise by module name): adding a read model is adding a module."""
    import projections

    found: dict[str, type[ReadModel]] = {}
    for module in pkgutil.iter_modules(projections.__path__):
        imported = importlib.import_module(f"projections.{module.name}")
        for value in vars(imported).values():
            if (
                isinstance(value, type)
                and issubclass(value, ReadModel)
                and value is not ReadModel
                and value.__module__ == imported.__name__
            ):
                found[value.__module__] = value
    return in_dependency_order(found[name] for name in sorted(found))


def in_dependency_order(models: Iterable[type[ReadModel]]) -> list[type[ReadModel]]:
    ordered: list[type[ReadModel]] = []

    def place(model: type[ReadModel], seen: tuple[type[ReadModel], ...]) -> None:
        if model in ordered:
            return
        if model in seen:
            cycle = " -> ".join(m.__name__ for m in (*seen, model))
            raise TypeError(f"read models depend on each other in a circle: {cycle}")
        for before in model.after:
            place(before, (*seen, model))
        ordered.append(model)

    for model in models:
        place(model, ())
    return ordered
