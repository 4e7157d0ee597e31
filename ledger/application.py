"""The ledger application: one short method per use case, each loading what it
needs, asking the domain, and staging the events; commands run one at a time or
many to a transaction, each applied whole or not at all."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Transcoder

from domain.base import Recorded, Stamp
from domain.complaint import Complaint
from domain.errors import AlreadyExists, DomainError, NotFound, RuleViolation
from domain.household import Household
from domain.ids import complaint_id, group_id, household_id, payout_id, policy_id, staff_id
from domain.payout import PayoutIndex
from domain.policy import PolicyVersion
from domain.programme import Policy, Staff, WorkGroup
from domain.roles import BUILTIN_ADMIN, BUILTIN_ADMIN_ACTOR, Actor
from ledger import commands as c
from ledger.checkpoint import Signer, StoredCheckpoint, Verifier
from ledger.follower import can_follow
from ledger.log.store import MapperCodec
from ledger.projector import Projector
from ledger.recorder import LedgerRecorder, is_ledger_recorder
from ledger.transcoder import construct_transcoder

if TYPE_CHECKING:
    from ledger.log.notes import Receipt, Transition

A = TypeVar("A", bound=Aggregate)
Clock = Callable[[], datetime]


class ConflictError(DomainError):
    """Someone else changed what this command read before it could be saved."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    """The aggregates and events of one transaction. A command's events join the
    batch only when the whole command succeeded; a refused command leaves every
    aggregate as it found it (the domain checks before it records)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.aggregates: dict[UUID, Aggregate] = {}
        self.events: list[Recorded] = []
        self.command_ids: list[str] = []
        # Ids read in bulk before the batch ran and found to have no events.
        self.absent: set[UUID] = set()
        self._touched: list[Aggregate] = []

    def _load(self, aggregate_id: UUID) -> Aggregate | None:
        return None if aggregate_id in self.absent else self.ledger.load(aggregate_id)

    def get(self, cls: type[A], aggregate_id: UUID, missing: str) -> A:
        aggregate = self.aggregates.get(aggregate_id)
        if aggregate is None:
            aggregate = self._load(aggregate_id)
            if aggregate is None:
                raise NotFound(missing)
            self.aggregates[aggregate_id] = aggregate
        if not isinstance(aggregate, cls):  # pragma: no cover - ids are namespaced by kind
            raise NotFound(missing)
        self._touched.append(aggregate)
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.aggregates or self._load(aggregate_id) is not None

    def check_absent(self, aggregate_id: UUID, message: str) -> None:
        if self.exists(aggregate_id):
            raise AlreadyExists(message)

    def add(self, aggregate: Aggregate) -> None:
        self._touched.append(aggregate)

    def run(self, command: c.Command, handler: Callable[[UnitOfWork, Stamp, Any], None]) -> None:
        self._touched = []
        stamp = Stamp(command.actor, command.at, command.id, self.ledger.clock())
        try:
            if command.at > stamp.recorded_at:
                raise RuleViolation(
                    f"at {command.at.isoformat()} is in the future; "
                    "business time cannot be later than now."
                )
            handler(self, stamp, command.body)
        except DomainError:
            leaked = [a for a in self._touched if a.pending_events]
            if leaked:  # pragma: no cover - would be a domain method recording before checking
                raise RuntimeError(
                    f"a refused command left events pending on {leaked[0]!r}"
                ) from None
            raise
        for aggregate in self._touched:
            self.aggregates[aggregate.id] = aggregate
            self.events.extend(aggregate.collect_events())  # type: ignore[arg-type]
        self.command_ids.append(command.id)


# The fields of a command that name an aggregate, and the kind of id each names.
_REFERENCES: tuple[tuple[str, Callable[[str], UUID]], ...] = (
    ("household", household_id),
    ("group", group_id),
    ("staff", staff_id),
    ("leader", staff_id),
    ("policy", policy_id),
    ("payout", payout_id),
    ("complaint", complaint_id),
)


_FIELDS_OF: dict[type, tuple[tuple[str, Callable[[str], UUID]], ...]] = {}


def _references_of(body: type) -> tuple[tuple[str, Callable[[str], UUID]], ...]:
    """Which of _REFERENCES a kind of command has."""
    fields = _FIELDS_OF.get(body)
    if fields is None:
        fields = _FIELDS_OF[body] = tuple(
            (name, kind) for name, kind in _REFERENCES if name in body.__annotations__
        )
    return fields


def references(command: c.Command) -> list[UUID]:
    """The aggregates a command will read or create (a superset: it costs one row)."""
    ids = [] if command.actor == BUILTIN_ADMIN else [staff_id(command.actor)]
    body = command.body
    for name, kind in _references_of(type(body)):
        code = getattr(body, name)
        if code is not None and code != BUILTIN_ADMIN:
            ids.append(kind(code))
    if isinstance(body, c.PublishPolicy):
        ids.append(policy_id(body.parsed.policy))
    elif isinstance(body, c.FileComplaint):
        ids.extend(
            kind(code)
            for name, kind in _REFERENCES
            if (code := body.about.get(name)) is not None and code != BUILTIN_ADMIN
        )
    elif isinstance(body, c.SignAgreement) and body.deviation is not None:
        ids.append(staff_id(body.deviation.approved_by))
    return ids


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

    def __init__(self, env: dict[str, str] | None = None, clock: Clock = utc_now) -> None:
        super().__init__(env)
        # The store's settings as given, for another process to open the same store.
        self.settings: dict[str, str] = dict(env or {})
        self.clock = clock
        self._policies: dict[tuple[str, int], PolicyVersion] = {}
        # Aggregates known as of the last commit, for long runs of commands (ingest).
        self._cache: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.cache_size = 0
        self._projector: Projector | None = None
        # Whether the read models are given the events this process commits; not
        # while another process keeps them (ledger/follower.py).
        self.offering = True
        if is_ledger_recorder(self.recorder):
            # The log's own events (its map heads) are encoded as every event is.
            self.ledger_recorder.log.codec = MapperCodec(self.mapper)

    @property
    def sharable_settings(self) -> dict[str, str] | None:
        """The store's settings, for a second process to open the same store; None
        where none can (an in-memory SQLite)."""
        return self.settings if can_follow(self.settings) else None

    @property
    def projector(self) -> Projector:
        """The read models, created on first use."""
        if self._projector is None:
            self._projector = Projector(self.recorder, self.mapper)
            self._projector.second_process = self.sharable_settings
        return self._projector

    def construct_transcoder(self) -> Transcoder:
        return construct_transcoder()

    @property
    def ledger_recorder(self) -> LedgerRecorder:
        assert is_ledger_recorder(self.recorder)
        return cast("LedgerRecorder", self.recorder)

    # --- running commands --------------------------------------------------

    def execute(self, command: c.Command) -> list[Recorded] | None:
        """Run one command in its own transaction; raise its refusal. None: a
        command of this id was already applied, and nothing was done again."""
        if self.applied_commands([command.id]):
            return None
        uow = UnitOfWork(self)
        uow.run(command, self.handler(command))
        self.commit(uow)
        return uow.events

    def execute_batch(self, commands: Sequence[c.Command]) -> list[DomainError | None]:
        """Run many commands in one transaction, each whole or not at all; return
        each command's refusal, or None where it was applied."""
        uow = UnitOfWork(self)
        self.prefetch(uow, commands)
        outcomes: list[DomainError | None] = []
        for command in commands:
            try:
                uow.run(command, self.handler(command))
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
            recordings = self.events.put(uow.events, command_ids=uow.command_ids)
        except IntegrityError:
            self._cache.clear()
            self._policies.clear()
            raise ConflictError(
                "the ledger was changed by someone else while this ran; "
                "nothing was appended: re-read and retry."
            ) from None
        if self._projector is not None and self.offering:
            self._projector.offer(recordings)
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

    def handler(self, command: c.Command) -> Callable[[UnitOfWork, Stamp, Any], None]:
        return getattr(self, command.cmd)  # type: ignore[no-any-return]

    def applied_commands(self, ids: Sequence[str]) -> set[str]:
        return self.ledger_recorder.applied_commands(ids)

    # --- loading -------------------------------------------------------------

    def prefetch(self, uow: UnitOfWork, commands: Sequence[c.Command]) -> None:
        """Read every aggregate the batch names and the cache lacks in one query, and
        note those that do not exist yet: one read for the batch instead of one per
        aggregate. Read outside the write, as load() is: a conflict still fails the
        commit (and ingest runs the batch again)."""
        named: set[UUID] = set()
        for command in commands:
            named.update(references(command))
        self._read_into(uow, named)
        # A payout's confirmation names the payout; its household is found through it.
        households = set()
        for command in commands:
            if isinstance(command.body, c.ConfirmPayout):
                index = uow.aggregates.get(payout_id(command.body.payout)) or self._cache.get(
                    payout_id(command.body.payout)
                )
                if isinstance(index, PayoutIndex):
                    households.add(household_id(index.household))
        self._read_into(uow, households)

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

    def load(self, aggregate_id: UUID) -> Aggregate | None:
        cached = self._cache.get(aggregate_id)
        if cached is not None:
            self._cache.move_to_end(aggregate_id)
            return cached
        return _replay(self.events.get(aggregate_id))

    def policy_version(self, uow: UnitOfWork, policy: str, version: int) -> PolicyVersion:
        key = (policy, version)
        parsed = self._policies.get(key)
        if parsed is None:
            aggregate = uow.get(
                Policy, policy_id(policy), f"unknown policy {policy}: publish it first."
            )
            parsed = self._policies[key] = aggregate.version_of(version)
        return parsed

    def actor(self, uow: UnitOfWork, stamp: Stamp) -> Actor:
        if stamp.actor == BUILTIN_ADMIN:
            return BUILTIN_ADMIN_ACTOR
        staff = uow.get(
            Staff,
            staff_id(stamp.actor),
            f"unknown staff {stamp.actor}: enroll them before they act.",
        )
        return staff.as_actor(stamp.at)

    @staticmethod
    def household(uow: UnitOfWork, code: str) -> Household:
        return uow.get(
            Household, household_id(code), f"unknown household {code}: register it first."
        )

    @staticmethod
    def complaint(uow: UnitOfWork, code: str) -> Complaint:
        return uow.get(Complaint, complaint_id(code), f"unknown complaint {code}: file it first.")

    def household_policy(self, uow: UnitOfWork, household: Household) -> PolicyVersion:
        valuation = household.check_valued()
        return self.policy_version(uow, valuation.policy, valuation.policy_version)

    def open_complaints(self, uow: UnitOfWork, household: Household, at: datetime) -> list[str]:
        """The complaints about the household that were open at a business time."""
        return [code for code in household.complaints if self.complaint(uow, code).is_open_at(at)]

    # --- use cases: the programme's set-up --------------------------------

    def enroll_staff(self, uow: UnitOfWork, stamp: Stamp, cmd: c.EnrollStaff) -> None:
        self.actor(uow, stamp).check_may("enroll staff")
        if cmd.staff == BUILTIN_ADMIN:
            raise AlreadyExists(
                "admin is the built-in administrator; enroll staff under other ids."
            )
        uow.check_absent(staff_id(cmd.staff), f"staff {cmd.staff} is already enrolled.")
        if cmd.group is not None:
            group = uow.get(
                WorkGroup, group_id(cmd.group), f"unknown group {cmd.group}: create it first."
            )
            group.check_exists_by(stamp.at)
        uow.add(Staff.enroll(stamp, cmd.staff, cmd.name, cmd.role, cmd.group))

    def create_group(self, uow: UnitOfWork, stamp: Stamp, cmd: c.CreateGroup) -> None:
        self.actor(uow, stamp).check_may("create a group")
        uow.check_absent(group_id(cmd.group), f"group {cmd.group} already exists.")
        if cmd.leader is not None:
            uow.get(
                Staff, staff_id(cmd.leader), f"unknown staff {cmd.leader}: enroll the leader first."
            )
        uow.add(WorkGroup.create(stamp, cmd.group, cmd.name, cmd.leader))

    def publish_policy(self, uow: UnitOfWork, stamp: Stamp, cmd: c.PublishPolicy) -> None:
        self.actor(uow, stamp).check_may("publish a policy")
        code = cmd.parsed.policy
        if uow.exists(policy_id(code)):
            uow.get(Policy, policy_id(code), f"unknown policy {code}.").publish(stamp, cmd.document)
        else:
            uow.add(Policy.publish_first(stamp, cmd.document))

    def register_household(self, uow: UnitOfWork, stamp: Stamp, cmd: c.RegisterHousehold) -> None:
        self.actor(uow, stamp).check_may("register a household")
        uow.check_absent(
            household_id(cmd.household), f"household {cmd.household} is already registered."
        )
        group = uow.get(
            WorkGroup, group_id(cmd.group), f"unknown group {cmd.group}: create it first."
        )
        group.check_exists_by(stamp.at)
        uow.add(
            Household.register(
                stamp, cmd.household, cmd.group, cmd.village, cmd.head, cmd.id_number, cmd.address
            )
        )

    # --- use cases: a household's way -------------------------------------

    def record_survey(self, uow: UnitOfWork, stamp: Stamp, cmd: c.RecordSurvey) -> None:
        household = self.household(uow, cmd.household)
        self.actor(uow, stamp).check_may("record a survey", household.group)
        household.record_survey(
            stamp, cmd.residents, cmd.building_area_m2, cmd.land_area_m2, cmd.notes, cmd.reason
        )

    def record_valuation(self, uow: UnitOfWork, stamp: Stamp, cmd: c.RecordValuation) -> None:
        household = self.household(uow, cmd.household)
        self.actor(uow, stamp).check_may("record a valuation", household.group)
        policy = self.policy_version(uow, cmd.policy, cmd.policy_version)
        published = uow.get(Policy, policy_id(cmd.policy), f"unknown policy {cmd.policy}.")
        published.check_published_by(cmd.policy_version, stamp.at)
        household.record_valuation(stamp, cmd.valuation, policy, cmd.items, cmd.reviews)

    def sign_agreement(self, uow: UnitOfWork, stamp: Stamp, cmd: c.SignAgreement) -> None:
        household = self.household(uow, cmd.household)
        self.actor(uow, stamp).check_may("record an agreement", household.group)
        approver = None
        if cmd.deviation is not None:
            approver = self.actor(
                uow, Stamp(cmd.deviation.approved_by, stamp.at, stamp.command, stamp.recorded_at)
            )
        policy = self.household_policy(uow, household)
        household.sign_agreement(
            stamp, cmd.agreement, cmd.method, cmd.amount, policy, cmd.deviation, approver
        )

    def approve_deviation(self, uow: UnitOfWork, stamp: Stamp, cmd: c.ApproveDeviation) -> None:
        household = self.household(uow, cmd.household)
        self.actor(uow, stamp).check_may("approve a deviation")
        household.approve_deviation(stamp, cmd.amount, cmd.reason)

    def void_agreement(self, uow: UnitOfWork, stamp: Stamp, cmd: c.VoidAgreement) -> None:
        household = self.household(uow, cmd.household)
        self.actor(uow, stamp).check_may("void an agreement", household.group)
        household.void_agreement(stamp, cmd.agreement, cmd.reason)

    def attach_document(self, uow: UnitOfWork, stamp: Stamp, cmd: c.AttachDocument) -> None:
        household = self.household(uow, cmd.household)
        self.actor(uow, stamp).check_may("attach a document", household.group)
        household.attach_document(stamp, cmd.kind, cmd.sha256, cmd.filename)

    def record_vacated(self, uow: UnitOfWork, stamp: Stamp, cmd: c.RecordVacated) -> None:
        household = self.household(uow, cmd.household)
        self.actor(uow, stamp).check_may("record vacating", household.group)
        household.record_vacated(stamp)

    def request_payout(self, uow: UnitOfWork, stamp: Stamp, cmd: c.RequestPayout) -> None:
        household = self.household(uow, cmd.household)
        self.actor(uow, stamp).check_may("request a payout", household.group)
        household.check_agreement_in_force()
        uow.check_absent(
            payout_id(cmd.payout), f"payout {cmd.payout} already exists; use a new id."
        )
        policy = self.household_policy(uow, household)
        household.request_payout(
            stamp,
            cmd.payout,
            cmd.amount,
            policy.required_documents,
            self.open_complaints(uow, household, stamp.at),
            policy.block_payout_on_open_complaint,
        )
        uow.add(PayoutIndex.index(stamp, cmd.payout, household.code))

    def confirm_payout(self, uow: UnitOfWork, stamp: Stamp, cmd: c.ConfirmPayout) -> None:
        self.actor(uow, stamp).check_may("confirm a payout")
        index = uow.get(
            PayoutIndex, payout_id(cmd.payout), f"unknown payout {cmd.payout}: request it first."
        )
        household = self.household(uow, index.household)
        policy = self.household_policy(uow, household)
        household.confirm_payout(
            stamp,
            cmd.payout,
            cmd.bank_reference,
            policy.required_documents,
            self.open_complaints(uow, household, stamp.at),
            policy.block_payout_on_open_complaint,
        )

    # --- use cases: the oversight hotline ---------------------------------

    def file_complaint(self, uow: UnitOfWork, stamp: Stamp, cmd: c.FileComplaint) -> None:
        self.actor(uow, stamp).check_may("file a complaint")
        uow.check_absent(complaint_id(cmd.complaint), f"complaint {cmd.complaint} already exists.")
        household = None
        for subject, code in cmd.about.items():
            if subject == "household":
                household = self.household(uow, code)
            elif subject == "group":
                uow.get(
                    WorkGroup, group_id(code), f"unknown group {code}: check the complaint's about."
                )
            elif subject == "staff" and code != BUILTIN_ADMIN:
                uow.get(
                    Staff, staff_id(code), f"unknown staff {code}: check the complaint's about."
                )
            elif subject == "policy":
                uow.get(
                    Policy, policy_id(code), f"unknown policy {code}: check the complaint's about."
                )
        uow.add(Complaint.file(stamp, cmd.complaint, cmd.channel, cmd.about, cmd.summary))
        if household is not None:
            household.attach_complaint(stamp, cmd.complaint)

    def acknowledge_complaint(
        self, uow: UnitOfWork, stamp: Stamp, cmd: c.AcknowledgeComplaint
    ) -> None:
        self.actor(uow, stamp).check_may("acknowledge a complaint")
        self.complaint(uow, cmd.complaint).acknowledge(stamp, cmd.note)

    def add_to_complaint(self, uow: UnitOfWork, stamp: Stamp, cmd: c.AddToComplaint) -> None:
        self.actor(uow, stamp).check_may("add to a complaint")
        self.complaint(uow, cmd.complaint).add_note(stamp, cmd.text)

    def resolve_complaint(self, uow: UnitOfWork, stamp: Stamp, cmd: c.ResolveComplaint) -> None:
        self.actor(uow, stamp).check_may("resolve a complaint")
        self.complaint(uow, cmd.complaint).resolve(stamp, cmd.finding, cmd.outcome)

    def reopen_complaint(self, uow: UnitOfWork, stamp: Stamp, cmd: c.ReopenComplaint) -> None:
        self.actor(uow, stamp).check_may("reopen a complaint")
        self.complaint(uow, cmd.complaint).reopen(stamp, cmd.reason)

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
        done = self.projector.rebuild(progress_to)
        return done, list(self.projector.notes)

    def policy_version_of(self, policy: str, version: int) -> PolicyVersion:
        key = (policy, version)
        parsed = self._policies.get(key)
        if parsed is None:
            parsed = self._policies[key] = self.policy(policy).version_of(version)
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
