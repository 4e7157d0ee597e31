"""The read facade: every read that presentation (the CLI, and the web application)
makes of a ledger, in one place. Presentation calls these methods and gets plain
data (the documents of the specs' JSON shapes) or domain values; it never holds a
cursor, a recorder or the read models' machinery, so a page and its `--json` read
the same thing the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.errors import NotFound
from domain.ids import group_id
from domain.policy import DEFAULT_ACKNOWLEDGE_DAYS, DEFAULT_RESOLVE_DAYS, PolicyVersion
from domain.programme import Policy
from domain.values import parse_code
from ledger import on_behalf
from ledger.application import Ledger
from ledger.checkpoint import Verifier
from ledger.log import store as log_store
from ledger.log import verification
from projections import complaints as complaints_rm
from projections import consistency, household_rows
from projections import dispute as dispute_rm
from projections import history as history_view
from projections import households as households_rm
from projections import programme as programme_rm
from projections import progress as progress_rm

if TYPE_CHECKING:
    from ledger.cosignature import CosignerVerifier
    from ledger.log.bundle import HouseholdProof
    from ledger.log.recorded import RecordBounds


def asked(code: str, kind: str) -> str:
    """A code asked about, read as a command's code is: in its normal form, so that
    ＸＣ-０００１ finds XC-0001, and refused if it holds a character that does not show."""
    return parse_code(code, kind)


class Reads:
    """What can be read of one open ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        # Policy versions as read: a published version never changes.
        self._policies: dict[tuple[str, int], PolicyVersion] = {}

    def now(self) -> datetime:
        """The ledger's clock: what "now" means for reads that default to it."""
        return self._ledger.clock()

    # --- households ------------------------------------------------------------

    def known_position(self, known_at: datetime | None) -> int | None:
        """The position of the last event the ledger had recorded by known_at (None:
        no limit, everything recorded)."""
        if known_at is None:
            return None
        from ledger.known import known_position

        return known_position(self._ledger, known_at)

    def household(
        self, code: str, as_of: datetime, known_at: datetime | None = None
    ) -> dict[str, Any]:
        """The `household show --json` document (specs/cli.md), as of a business time;
        known_at: as the ledger knew it then (only what it had recorded by then)."""
        code = asked(code, "household")
        limit = self.known_position(known_at)
        with self._ledger.read_models.reading() as c:
            row = households_rm.load_by_code(c, code)
            if row is None:
                raise NotFound(f"unknown household {code}: check the code, or register it first.")
            row.timeline = household_rows.known(row.timeline, limit)
            if not row.timeline:
                assert known_at is not None
                raise NotFound(
                    f"{code} was not yet recorded at {known_at.isoformat()}; give a later "
                    "--known-at."
                )
            document = households_rm.show(
                row, self._policy_lookup(c), as_of, programme_rm.latest_policy(c)
            )
        if document is None:
            raise NotFound(
                f"{code} was not yet registered at {as_of.isoformat()}; give a later --as-of."
            )
        return document

    def _policy_lookup(self, c: Any) -> households_rm.PolicyLookup:
        def lookup(policy: str, version: int) -> PolicyVersion | None:
            found = self._policies.get((policy, version))
            if found is None:
                found = programme_rm.policy_version(c, policy, version)
                if found is not None:
                    self._policies[policy, version] = found
            return found

        return lookup

    def household_history(
        self, code: str, as_of: datetime | None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        """The `household history --json` document: every event of the household and
        of the complaints about it, in business-time order, up to as_of (None: all);
        known_at: only those the ledger had recorded by then."""
        code = asked(code, "household")
        own, attached = self._ledger.household_record(code)
        if known_at is not None:
            own = [e for e in own if e.recorded_at <= known_at]
            attached = [e for e in attached if e.recorded_at <= known_at]
        return {
            "household": code,
            "as_of": as_of.isoformat() if as_of else None,
            "events": history_view.history(own, attached, as_of),
        }

    # --- the bulletin and the registers ----------------------------------------

    def group_report(self, as_of: datetime, known_at: datetime | None = None) -> dict[str, Any]:
        """The daily bulletin's table as of a business time (`report groups --json`);
        known_at: as the ledger knew it then ("the bulletin as printed that evening")."""
        limit = self.known_position(known_at)
        with self._ledger.read_models.reading() as c:
            if limit is None:
                return progress_rm.report(c, as_of)
            document = progress_rm.report_known(c, as_of, limit, self._policy_lookup(c))
        from ledger.known import created_at_position

        def known_then(group: str) -> bool:
            created = created_at_position(self._ledger, group_id(group))
            return created is not None and created <= limit

        document["groups"] = [g for g in document["groups"] if known_then(g["group"])]
        return document

    def group_reports(self, days: Sequence[datetime]) -> list[dict[str, Any]]:
        """The same table as of each of several moments, in one read."""
        with self._ledger.read_models.reading() as c:
            return [progress_rm.report(c, day) for day in days]

    def first_business_day(self) -> datetime | None:
        """The business time of the first household's first step (None: none yet)."""
        with self._ledger.read_models.reading() as c:
            return progress_rm.first_day(c)

    def group_names(self) -> dict[str, str]:
        """Each work group's name, by id."""
        with self._ledger.read_models.reading() as c:
            return dict(programme_rm.groups(c))

    def complaints(self, now: datetime) -> list[dict[str, Any]]:
        """Every complaint with its deadlines (from the latest policy, else 2 and 15
        days) and what is overdue at `now`, oldest first."""
        with self._ledger.read_models.reading() as c:
            policy = programme_rm.latest_policy(c)
            acknowledge = policy.acknowledge_days if policy else DEFAULT_ACKNOWLEDGE_DAYS
            resolve = policy.resolve_days if policy else DEFAULT_RESOLVE_DAYS
            return complaints_rm.register(c, now, acknowledge, resolve)

    # --- one ruler ----------------------------------------------------------------

    def dispute(
        self,
        code: str,
        as_of: datetime,
        other_version: int | None = None,
        known_at: datetime | None = None,
    ) -> dict[str, Any]:
        """The `dispute --json` document (docs/ruler.md)."""
        code = asked(code, "household")
        limit = self.known_position(known_at)
        with self._ledger.read_models.reading() as c:
            return dispute_rm.dispute(c, code, as_of, other_version, limit)

    def consistency(self, as_of: datetime, known_at: datetime | None = None) -> dict[str, Any]:
        """The `report consistency --json` document (docs/ruler.md), with the
        approvals and money acts entered on someone else's behalf."""
        limit = self.known_position(known_at)
        with self._ledger.read_models.reading() as c:
            document = consistency.consistency(c, as_of, limit)
        acts = on_behalf.entered_for_others(self._ledger, as_of)
        if known_at is not None:
            acts = [a for a in acts if datetime.fromisoformat(a["recorded_at"]) <= known_at]
        document["entered_for_others"] = acts
        return document

    def disclosure(
        self, group: str | None, as_of: datetime, known_at: datetime | None = None
    ) -> dict[str, Any]:
        """The masked per-household compensation list (`report disclosure --json`)."""
        group = asked(group, "group") if group is not None else None
        limit = self.known_position(known_at)
        with self._ledger.read_models.reading() as c:
            return consistency.disclosure(c, group, as_of, limit)

    def late_entries(self, window_days: int | None = None) -> dict[str, Any]:
        """The `report late-entries --json` document: every event recorded more than
        the window (the latest policy's late_entry_days, default 3) after its business
        time, and every event that changed a figure of a bulletin already checkpointed,
        with its actor and who entered it."""
        from ledger.late import late_entries

        return late_entries(self._ledger, window_days)

    # --- policies -----------------------------------------------------------------

    def policy(self, code: str) -> Policy:
        """A published policy with every version, as published."""
        return self._ledger.policy(asked(code, "policy"))

    def policy_diff(self, code: str, old: int, new: int) -> dict[str, Any]:
        """The `policy show ID --diff A B --json` document."""
        code = asked(code, "policy")
        policy = self._ledger.policy(code)
        return consistency.policy_diff(code, policy.version_of(old), policy.version_of(new))

    # --- the transparency log -----------------------------------------------------

    def latest_checkpoint(self) -> tuple[int, str, str] | None:
        """The size, root (hex) and signed note of the latest checkpoint, for the
        bulletin to print: saved from a bulletin, the note is what `verify --against`
        checks, so no history before it can be rewritten unnoticed."""
        recorder = self._ledger.ledger_recorder
        with recorder.log_transaction(commit=False) as c:
            stored = recorder.log.latest_checkpoint(c)
        return (stored.size, stored.root.hex(), stored.note) if stored else None

    def log_size(self) -> int:
        """How many events the log holds."""
        recorder = self._ledger.ledger_recorder
        with recorder.log_transaction(commit=False) as c:
            return recorder.log.size(c)

    def events_stored(self) -> int:
        """The position of the last stored event (0: none)."""
        return self._ledger.recorder.max_notification_id() or 0

    def verify(
        self,
        against: str | None = None,
        pubkey: Verifier | None = None,
        progress: Callable[[int], None] | None = None,
        witnesses: Sequence[CosignerVerifier] = (),
        quorum: int | None = None,
    ) -> verification.Verification:
        """Recompute the whole log (specs/integrity.md, `verify`); with witnesses, a
        quorum of them must have cosigned the `against` checkpoint."""
        return verification.verify(
            self._ledger.ledger_recorder,
            against=against,
            pubkey=pubkey,
            progress=progress,
            second_process=self._ledger.sharable_settings,
            witnesses=witnesses,
            quorum=quorum,
        )

    def cosigned_sizes(self, keys: Sequence[CosignerVerifier]) -> dict[CosignerVerifier, int]:
        """The size of the latest stored checkpoint each witness cosigned."""
        from ledger.log import witnessed

        return witnessed.cosigned_sizes(self._ledger.ledger_recorder, keys)

    def record_bounds(
        self, witnesses: Sequence[CosignerVerifier] = (), quorum: int | None = None
    ) -> RecordBounds:
        """When each stored event was recorded at the earliest, by notification id: after
        the map head before it, and after the latest checkpoint without it that a quorum
        of the witnesses cosigned (ledger.log.recorded.RecordBounds; for `report
        late-entries`: `.late(where, notification_id, occurred_at, window)`)."""
        from ledger.log import recorded

        return recorded.record_bounds(self._ledger.ledger_recorder, witnesses, quorum)

    def consistency_proof(self, old: int, new: int) -> dict[str, Any]:
        """The `prove-consistency --json` document."""
        return log_store.consistency(self._ledger.ledger_recorder, old, new)

    def bundle(self, code: str, since: Sequence[int] = ()) -> tuple[HouseholdProof, dict[str, Any]]:
        """A household's audit bundle (docs/integrity.md), with the proof it carries;
        since: sizes of earlier checkpoints to carry consistency proofs from."""
        from ledger.log import bundle, proving  # for the bundle's command alone

        code = asked(code, "household")
        proof = proving.prove_household(self._ledger.ledger_recorder, code, since)
        return proof, bundle.bundle(proof)
