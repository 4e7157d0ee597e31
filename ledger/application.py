"""The ledger application: commands run one at a time or many to a transaction,
each applied whole or not at all, through the use cases declared with them
(ledger/commands/); the aggregates they load; and the ledger's reads and upkeep."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Transcoder

# Imported for its events' topics: a process that reads the log (the read models catching
# up, in `household show`) must resolve an Account event without having set a password.
from domain import account as _account  # noqa: F401
from domain.base import Recorded
from domain.errors import DomainError, NotFound
from domain.household import Household
from domain.ids import complaint_id, household_id, policy_id
from domain.payout import PayoutIndex
from domain.policy import PolicyVersion
from domain.programme import Policy
from ledger import library
from ledger.checkpoint import Signer, StoredCheckpoint, Verifier
from ledger.commands import Command, UnitOfWork, declaration_of, references
from ledger.commands.declaration import ThenReads, check_same
from ledger.identity_tables import WithEvents
from ledger.log.store import MapperCodec
from ledger.read_models import ReadModels
from ledger.recording import is_ledger_recorder
from ledger.session import Session
from ledger.settings import DEFAULT, Settings
from ledger.transcoder import construct_transcoder
from ledger.workers.launcher import Launch, can_share

if TYPE_CHECKING:
    from ledger.log.notes import Receipt, Transition
    from ledger.postgres import LedgerPostgresRecorder
    from ledger.recorder import LedgerSQLiteRecorder

# The ledger's recorder, of either store (the PostgreSQL one is imported only for a
# postgresql:// store: psycopg alone costs every command a tenth of its start-up).
LedgerRecorder: TypeAlias = "LedgerSQLiteRecorder | LedgerPostgresRecorder"

Clock = Callable[[], datetime]


class ConflictError(DomainError):
    """Someone else changed what this command read before it could be saved."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def _replay(events: Iterable[Any]) -> Aggregate | None:
    """An aggregate from its events, in order. The events' own mutate() replays them;
    the library's repository does the same but spends most of its time in isinstance
    checks against typing Protocols."""
    aggregate: Aggregate | None = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class Ledger(Application[UUID]):
    """The renewal programme's ledger."""

    name = "oneruler"
    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "APPLICATION_RECORDER_TOPIC": "ledger.recorder:LedgerSQLiteRecorder",
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock = utc_now,
        settings: Settings = DEFAULT,
    ) -> None:
        library.check_version()
        # The ledger's tuning (ledger/settings.py), given to all that needs it.
        self.settings = settings
        super().__init__(env)
        # The store's settings as given, for another process to open the same store.
        self.store_env: dict[str, str] = dict(env or {})
        self.clock = clock
        # Policy versions parsed once, by (policy, version): every valuation needs one.
        self.parsed_policies: dict[tuple[str, int], PolicyVersion] = {}
        # Aggregates known as of the last commit, for long runs of commands (ingest).
        self._cache: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.cache_size = 0
        self._read_models: ReadModels | None = None
        # Whether the read models are given the events this process commits; not
        # while another process keeps them (ledger/workers/follower.py).
        self.offering = True
        if is_ledger_recorder(self.recorder):
            # The log's own events (its map heads) are encoded as every event is.
            self.ledger_recorder.log.codec = MapperCodec(self.mapper)

    def construct_recorder(self) -> ApplicationRecorder:
        # The recorder the library makes finds the ledger's settings on its datastore.
        library.give_settings(self.factory, self.settings)
        return super().construct_recorder()

    @property
    def sharable_settings(self) -> Launch | None:
        """What a second process needs to open the same store with the same settings;
        None where none can (an in-memory SQLite)."""
        return Launch(self.store_env, self.settings) if can_share(self.store_env) else None

    @property
    def read_models(self) -> ReadModels:
        """The read models, created on first use."""
        if self._read_models is None:
            self._read_models = ReadModels(self.recorder, self.mapper, settings=self.settings)
            self._read_models.second_process = self.sharable_settings
        return self._read_models

    def folding_read_models(self) -> ReadModels:
        """The read models as a rebuild's second process uses them (ledger/workers/
        rebuild.py): their tables not prepared, since it must not wait for the write
        lock the rebuilding process holds."""
        return ReadModels(self.recorder, self.mapper, prepare=False, settings=self.settings)

    def construct_transcoder(self) -> Transcoder:
        return construct_transcoder()

    @property
    def ledger_recorder(self) -> LedgerRecorder:
        assert is_ledger_recorder(self.recorder)
        return cast("LedgerRecorder", self.recorder)

    # --- running commands --------------------------------------------------

    def execute(self, command: Command, session: Session) -> list[Recorded] | None:
        """Run one command, entered by the session's staff member (who must be its
        actor), in its own transaction; raise its refusal. None: this command was
        already applied under its id, and nothing was done again; the id applied to
        another command is refused (CommandIdReused)."""
        applied = self.applied_commands([command.id])
        if command.id in applied:
            check_same(command, command.actor or session.staff, applied[command.id])
            return None
        uow = UnitOfWork(self)
        # Every aggregate the command names, in one read (not one each as it asks).
        self.prefetch(uow, [command])
        uow.run(command, session)
        self.commit(uow)
        return uow.events

    def execute_batch(
        self, commands: Sequence[Command], session: Session
    ) -> list[DomainError | None]:
        """Run many commands in one transaction, each whole or not at all, entered by
        the session's staff member (the built-in admin may enter other staff's);
        return each command's refusal, or None where it was applied."""
        uow = UnitOfWork(self)
        self.prefetch(uow, commands)
        outcomes: list[DomainError | None] = []
        for command in commands:
            try:
                uow.run(command, session, for_others=True)
            except DomainError as refusal:
                # Kept without its traceback, which holds this frame, and so the list
                # it is kept in and the whole batch, in a reference cycle.
                outcomes.append(refusal.with_traceback(None))
            else:
                outcomes.append(None)
        self.commit(uow)
        return outcomes

    def commit(self, uow: UnitOfWork) -> None:
        if not uow.events:
            return
        try:
            # EventStore.put is what Application.save does for events, without its
            # per-event isinstance checks against typing Protocols.
            identity = (
                WithEvents(self.clock(), uow.credentials, uow.revoked, uow.contacts)
                if uow.credentials or uow.revoked or uow.contacts
                else None
            )
            recordings = self.events.put(uow.events, command_ids=uow.command_ids, identity=identity)
        except IntegrityError:
            self._cache.clear()
            self.parsed_policies.clear()
            raise ConflictError(
                "the ledger was changed by someone else while this ran; "
                "nothing was appended: re-read and retry."
            ) from None
        if self._read_models is not None and self.offering:
            self._read_models.offer(recordings)
        if self.cache_size:
            for aggregate_id, aggregate in uow.aggregates.items():
                if isinstance(aggregate, PayoutIndex):
                    # Read once more at most (by the confirmation, in bulk): keeping it
                    # would push out a household, which is read again and again.
                    continue
                self._cache[aggregate_id] = aggregate
                self._cache.move_to_end(aggregate_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def check_writable(self) -> None:
        """Refuse at once (ReadOnlyStore, one sentence) what would write to a ledger
        opened read-only: a write fails only as it is made, after a password was asked
        for."""
        self.ledger_recorder.check_writable()

    def applied_commands(self, ids: Sequence[str]) -> dict[str, bytes | None]:
        """Which of these command ids were applied, each with its command's digest."""
        return self.ledger_recorder.applied_commands(ids)

    # --- loading -------------------------------------------------------------

    def prefetch(self, uow: UnitOfWork, commands: Sequence[Command]) -> None:
        """Read every aggregate the batch names and the cache lacks in one query, and
        note those that do not exist yet: one read for the batch instead of one per
        aggregate. Read outside the write, as load() is: a conflict still fails the
        commit (and ingest runs the batch again)."""
        named: set[UUID] = set()
        following: list[tuple[ThenReads, object]] = []
        for command in commands:
            named.update(references(command))
            then_reads = declaration_of(command.body).then_reads
            if then_reads is not None:
                following.append((then_reads, command.body))
        self._read_into(uow, named)

        # What those lead to (a confirmation's household, found through its payout).
        def known(aggregate_id: UUID) -> Aggregate | None:
            return uow.aggregates.get(aggregate_id) or self._cache.get(aggregate_id)

        later: set[UUID] = set()
        for then_reads, body in following:
            later.update(then_reads(body, known))
        self._read_into(uow, later)

    def _read_into(self, uow: UnitOfWork, named: set[UUID]) -> None:
        wanted = [i for i in named if i not in self._cache and i not in uow.aggregates]
        if not wanted:
            return
        found = self.ledger_recorder.select_events_of(wanted)
        for aggregate_id, stored_events in found.items():
            aggregate = _replay(map(self.mapper.to_domain_event, stored_events))
            assert aggregate is not None
            uow.aggregates[aggregate_id] = aggregate
        uow.absent.update(i for i in wanted if i not in found)

    def load(self, aggregate_id: UUID, *, fresh: bool = False) -> Aggregate | None:
        """An aggregate as stored; unless fresh, as this process last wrote it if it
        keeps it (an ingest does: another process's write is then found as a
        conflict at commit)."""
        cached = None if fresh else self._cache.get(aggregate_id)
        if cached is not None:
            self._cache.move_to_end(aggregate_id)
            return cached
        return _replay(self.events.get(aggregate_id))

    # --- reading -------------------------------------------------------------

    def events_of(self, aggregate_id: UUID) -> list[Recorded]:
        return list(self.events.get(aggregate_id))  # type: ignore[arg-type]

    def household_record(self, code: str) -> tuple[list[Recorded], list[Recorded]]:
        """The household's own events, and those of the complaints attached to it."""
        own = self.events_of(household_id(code))
        if not own:
            raise NotFound(f"unknown household {code}: check the code, or register it first.")
        attached: list[Recorded] = []
        for event in own:
            if isinstance(event, Household.ComplaintAttached):
                attached.extend(self.events_of(complaint_id(event.complaint)))
        return own, attached

    # --- maintenance -------------------------------------------------------------

    def sign_checkpoint(
        self, signers: Sequence[Signer], *, origin: str | None = None
    ) -> StoredCheckpoint:
        """Extend the log to the store's end, append its map head, and record a
        checkpoint signed by every key (docs/integrity.md)."""
        from ledger.log import keys  # only where a key signs: every command opens the ledger

        return keys.make_checkpoint(self.ledger_recorder, signers, origin=origin, now=self.clock())

    def add_cosignatures(self, checkpoint_id: int, lines: Sequence[str]) -> StoredCheckpoint:
        """Keep witnesses' cosignature lines on a stored checkpoint's note."""
        from ledger.log import witnessed

        return witnessed.record_cosignatures(self.ledger_recorder, checkpoint_id, lines)

    def record_key_transition(self, old: Signer, new: Verifier) -> Transition:
        """Append the log's move from its current key `old` to `new`, signed by `old`."""
        from ledger.log import keys

        return keys.record_transition(self.ledger_recorder, old, new, self.clock())

    def receipt(
        self, signers: Sequence[Signer], kind: str, code: str, version: int | None = None
    ) -> Receipt:
        """The log's signed promise that its next checkpoint includes a record's event."""
        from ledger.log import keys

        return keys.make_receipt(self.ledger_recorder, signers, kind, code, version, self.clock())

    def rebuild_read_models(
        self, progress_to: Callable[[int], None] | None = None
    ) -> tuple[int, list[str]]:
        """Build every read model again from the first event; return how many events
        were read, and what went wrong on the way that the result does not show (a
        second process that failed, and so on)."""
        done = self.read_models.rebuild(progress_to)
        return done, list(self.read_models.notes)

    def policy_version_of(self, policy: str, version: int) -> PolicyVersion:
        key = (policy, version)
        parsed = self.parsed_policies.get(key)
        if parsed is None:
            parsed = self.parsed_policies[key] = self.policy(policy).version_of(version)
        return parsed

    def policy(self, code: str) -> Policy:
        aggregate = self.load(policy_id(code))
        if not isinstance(aggregate, Policy):
            raise NotFound(f"unknown policy {code}: check the id, or publish it first.")
        return aggregate

    def all_events(self, batch: int = 1000) -> Iterator[Recorded]:
        start = 0
        while True:
            notifications = self.recorder.select_notifications(
                start, batch, inclusive_of_start=False
            )
            if not notifications:
                return
            for notification in notifications:
                yield self.mapper.to_domain_event(notification)  # type: ignore[misc]
            start = notifications[-1].id
