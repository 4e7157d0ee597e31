"""How the read models are given events: the handlers of each event class, the
writes of a page kept to be made later (DeferredWrites), and a rebuild's plan of
steps (which models read their events in stored order, which one folds aggregate by
aggregate). Used by the runner, ledger/read_models.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from projections.model import ReadModel

Handlers = dict[type, tuple[Callable[[Any, int], None], ...]]


class DeferredWrites:
    """A read-model cursor whose reads (SELECT) are made at once and whose writes are
    kept, in order, to be made later in another transaction (ReadModels._apply_page),
    or in another process (ledger/workers/rebuild.py)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._writes: list[tuple[bool, str, Any]] = []

    def execute(self, statement: str, parameters: Sequence[Any] = ()) -> None:
        if statement.lstrip()[:6].upper() == "SELECT":
            self._cursor.execute(statement, parameters)
        else:
            self._writes.append((False, statement, parameters))

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        self._writes.append((True, statement, list(rows)))

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()  # type: ignore[no-any-return]

    def take(self) -> list[tuple[bool, str, Any]]:
        """The writes kept so far (no longer kept)."""
        writes, self._writes = self._writes, []
        return writes

    def make(self, c: Any) -> None:
        """Make the kept writes, in the order they were asked for."""
        for many, statement, parameters in self.take():
            if many:
                c.executemany(statement, parameters)
            else:
                c.execute(statement, parameters)


def handlers_of(
    models: Iterable[ReadModel], only: Callable[[ReadModel, type], bool] | None = None
) -> Handlers:
    """For each event class, the handlers of these models (those `only` keeps), in the
    models' order."""
    table: dict[type, list[Callable[[Any, int], None]]] = {}
    for model in models:
        for event_class, handler in type(model).handlers().items():
            if only is None or only(model, event_class):
                table.setdefault(event_class, []).append(handler.__get__(model))
    return {event_class: tuple(found) for event_class, found in table.items()}


def topics_of(handlers: Handlers) -> list[str]:
    return sorted(str(vars(event_class)["TOPIC"]) for event_class in handlers)


@dataclass
class Step:
    """A step of a rebuild: the events of some models read in stored order (for a
    model that folds, its events outside the fold), then perhaps one model folded
    aggregate by aggregate."""

    stored: Handlers
    folding: ReadModel | None
    folded: Handlers


def plan(models: Sequence[ReadModel]) -> list[Step]:
    """A rebuild's steps. Each model joins the first pass in which every model it comes
    after is complete, or is read in the same pass and folds nothing; a model that
    folds is complete once folded, after its pass. So a model that reads a folded
    model's tables comes after the fold, and the models a fold's consumers look up
    (read in the same pass, before the fold) are complete by then."""
    steps: list[Step] = []
    complete: set[ReadModel] = set()
    remaining = list(models)
    by_class = {type(model): model for model in models}
    while remaining:
        joined: list[ReadModel] = []
        folding: ReadModel | None = None
        for model in remaining:
            before = [by_class[cls] for cls in type(model).after]
            if not all(m in complete or (m in joined and m is not folding) for m in before):
                continue
            if model.folds is not None:
                if folding is not None:
                    continue  # one fold a step
                folding = model
            joined.append(model)
        remaining = [model for model in remaining if model not in joined]
        folded = handlers_of([folding], _folded_events) if folding is not None else {}
        steps.append(Step(handlers_of(joined, _stored_order_events), folding, folded))
        complete.update(joined)
    return steps


def _folded_events(model: ReadModel, event_class: type) -> bool:
    return model.folds is not None and issubclass(event_class, model.folds)


def _stored_order_events(model: ReadModel, event_class: type) -> bool:
    """A model that folds reads its other events in stored order, before its fold."""
    return not _folded_events(model, event_class)
