"""The unit of work a command runs in: the aggregates and events of one transaction,
what the use cases load through it, and the run of one command, reached by its type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Recorded, Stamp
from domain.complaint import Complaint
from domain.errors import AlreadyExists, DomainError, NotFound, PermissionDenied, RuleViolation
from domain.household import Household
from domain.ids import complaint_id, household_id, policy_id, register_id, staff_id
from domain.policy import PolicyVersion
from domain.programme import Policy, Staff
from domain.register import Register
from domain.roles import BUILTIN_ADMIN, BUILTIN_ADMIN_ACTOR, Actor
from domain.standard import BUILDING
from ledger.commands.declaration import Command, declaration_of, digest
from ledger.session import Session

A = TypeVar("A", bound=Aggregate)


class Store(Protocol):
    """What a unit of work needs of the ledger (ledger/application.py, Ledger)."""

    clock: Callable[[], datetime]
    # Policy versions parsed once, by (policy, version).
    parsed_policies: dict[tuple[str, int], PolicyVersion]

    def load(self, aggregate_id: UUID) -> Aggregate | None: ...


class UnitOfWork:
    """The aggregates and events of one transaction. A command's events join the
    batch only when the whole command succeeded; a refused command leaves every
    aggregate as it found it (the domain checks before it records)."""

    def __init__(self, ledger: Store) -> None:
        self.ledger = ledger
        self.aggregates: dict[UUID, Aggregate] = {}
        self.events: list[Recorded] = []
        # Each applied command's id, with the digest of its canonical form.
        self.command_ids: list[tuple[str, bytes | None]] = []
        # Ids read in bulk before the batch ran and found to have no events.
        self.absent: set[UUID] = set()
        # Written with the events, in their transaction (ledger/identity_tables.py):
        # passwords' new hashes, and the staff whose tokens end.
        self.credentials: list[tuple[str, str]] = []
        self.revoked: list[str] = []
        # Callers' contacts of complaints filed: (complaint, name, phone, salt as hex).
        self.contacts: list[tuple[str, str | None, str | None, str]] = []
        self._touched: list[Aggregate] = []

    def run(self, command: Command, session: Session, *, for_others: bool = False) -> None:
        """Run one command's use case, entered by the session's staff member; raise
        its refusal, having staged nothing. The actor is the one who entered it
        (or, where the command names none, is taken to be); for_others: the
        built-in admin may enter other staff's commands (bulk entry, ingest)."""
        self._touched = []
        actor = command.actor or session.staff
        if actor != session.staff and not (for_others and session.staff == BUILTIN_ADMIN):
            raise PermissionDenied(_not_yours(session.staff, actor, for_others))
        stamp = Stamp(actor, command.at, command.id, self.ledger.clock(), session.staff)
        if command.at > stamp.recorded_at:
            raise RuleViolation(
                f"at {command.at.isoformat()} is in the future; "
                "business time cannot be later than now."
            )
        self.check_may_enter(session.staff)
        handler = declaration_of(command.body).handler
        assert handler is not None, f"{command.cmd} has no use case (@handles)"
        self._apply(handler, self, stamp, command.body)
        self._keep(command.id, digest(command, actor))

    def stage(
        self, command_id: str, command_digest: bytes | None, use_case: Callable[[], None]
    ) -> None:
        """Run a use case that is not a declared command (setting a password) and keep
        what it recorded, or raise its refusal having kept nothing."""
        self._touched = []
        self._apply(use_case)
        self._keep(command_id, command_digest)

    def _apply(self, use_case: Callable[..., None], *args: object) -> None:
        try:
            use_case(*args)
        except DomainError:
            leaked = [a for a in self._touched if a.pending_events]
            if leaked:  # pragma: no cover - would be a domain method recording before checking
                raise RuntimeError(
                    f"a refused command left events pending on {leaked[0]!r}"
                ) from None
            raise

    def _keep(self, command_id: str, command_digest: bytes | None) -> None:
        for aggregate in self._touched:
            self.aggregates[aggregate.id] = aggregate
            self.events.extend(aggregate.collect_events())  # type: ignore[arg-type]
        self.command_ids.append((command_id, command_digest))

    # --- loading -------------------------------------------------------------------

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

    def household(self, code: str) -> Household:
        return self.get(
            Household, household_id(code), f"unknown household {code}: register it first."
        )

    def complaint(self, code: str) -> Complaint:
        return self.get(Complaint, complaint_id(code), f"unknown complaint {code}: file it first.")

    def policy_version(self, policy: str, version: int) -> PolicyVersion:
        key = (policy, version)
        parsed = self.ledger.parsed_policies.get(key)
        if parsed is None:
            aggregate = self.get(
                Policy, policy_id(policy), f"unknown policy {policy}: publish it first."
            )
            parsed = self.ledger.parsed_policies[key] = aggregate.version_of(version)
        return parsed

    def household_policy(self, household: Household) -> PolicyVersion:
        """The policy version of the household's current valuation."""
        valuation = household.check_valued()
        return self.policy_version(valuation.policy, valuation.policy_version)

    def register(self, stamp: Stamp | None = None) -> Register | None:
        """The programme's register (villages, policies); with a stamp, opened by it
        if the ledger has none yet; without, None if it has none."""
        aggregate = self.aggregates.get(register_id())
        if aggregate is None and self.exists(register_id()):
            aggregate = self.get(Register, register_id(), "no register")
        if aggregate is None:
            if stamp is None:
                return None
            aggregate = Register.open(stamp)
            self.aggregates[aggregate.id] = aggregate
        self._touched.append(aggregate)
        assert isinstance(aggregate, Register)
        return aggregate

    def priced_structures(self) -> set[str]:
        """The structure types (brick_concrete, ...) that some version of a published
        policy prices by a building:* rate."""
        register = self.register()
        structures: set[str] = set()
        for code in register.policies if register is not None else ():
            policy = self.get(Policy, policy_id(code), f"unknown policy {code}.")
            for version in range(1, policy.latest_version + 1):
                rates = self.policy_version(code, version).rates
                structures.update(r.removeprefix(BUILDING) for r in rates if r.startswith(BUILDING))
        return structures

    def document_kinds(self) -> set[str]:
        """The documents some version of a published policy requires."""
        register = self.register()
        kinds: set[str] = set()
        for code in register.policies if register is not None else ():
            policy = self.get(Policy, policy_id(code), f"unknown policy {code}.")
            for version in range(1, policy.latest_version + 1):
                kinds.update(self.policy_version(code, version).required_documents)
        return kinds

    def open_complaints(self, household: Household, at: datetime) -> list[str]:
        """The complaints about the household that were open at a business time."""
        return [code for code in household.complaints if self.complaint(code).is_open_at(at)]

    # --- who acts, who enters -------------------------------------------------------------

    def staff(self, code: str) -> Staff:
        """An enrolled staff member (not the built-in admin, which has no record)."""
        if code == BUILTIN_ADMIN:
            raise RuleViolation(
                "admin is the built-in administrator: it has no record to change, and is "
                "never suspended; name an enrolled staff member."
            )
        return self.get(Staff, staff_id(code), f"unknown staff {code}: enroll them first.")

    def check_may_enter(self, enterer: str) -> None:
        """Whether the staff member who enters a command may, now: enrolled and not
        suspended (the built-in admin always may)."""
        if enterer == BUILTIN_ADMIN:
            return
        self.get(
            Staff, staff_id(enterer), f"unknown staff {enterer}: enroll them before they enter."
        ).check_may_enter()

    def revoke_tokens(self, staff: str) -> None:
        """End every token of the staff member, in the transaction of the events."""
        self.revoked.append(staff)

    def actor(self, actor: str, at: datetime) -> Actor:
        """A staff member as the rules see them at a business time."""
        if actor == BUILTIN_ADMIN:
            return BUILTIN_ADMIN_ACTOR
        staff = self.get(
            Staff, staff_id(actor), f"unknown staff {actor}: enroll them before they act."
        )
        return staff.as_actor(at)

    def check_may(self, stamp: Stamp, body: object, household_group: str | None = None) -> None:
        """Whether the command's actor may run it (its declared permission), for a
        household of household_group where it acts for one."""
        actor = self.actor(stamp.actor, stamp.at)
        actor.check_may(declaration_of(body).may, household_group)


def _not_yours(enterer: str, actor: str, for_others: bool) -> str:
    if for_others:
        return (
            f"the line's actor is {actor}, but {enterer} is logged in: only the built-in "
            f"admin enters other staff's lines; log in as {actor}, or as admin."
        )
    return (
        f"you are logged in as {enterer} and may not enter a command as {actor}: "
        f"leave out the actor, or log in as {actor}."
    )
