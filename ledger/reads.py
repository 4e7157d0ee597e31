"""The read facade: every read that presentation (the CLI, and the web application)
makes of a ledger, in one place. Presentation calls these methods and gets plain
data (the documents of the specs' JSON shapes) or domain values; it never holds a
cursor, a recorder or the read models' machinery, so a page and its `--json` read
the same thing the same way."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.complaint import contact_digest
from domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from domain.ids import complaint_id, group_id, household_id, payout_id
from domain.policy import DEFAULT_ACKNOWLEDGE_DAYS, DEFAULT_RESOLVE_DAYS, PolicyVersion
from domain.programme import Policy
from domain.roles import BUILTIN_ADMIN, SEES_CALLERS
from domain.ruler import mask_id_number, mask_name
from domain.values import LEDGER_TZ, one_line, parse_code
from ledger import identity_tables
from ledger.application import Ledger
from ledger.checkpoint import Signer, Verifier
from ledger.commands.unit_of_work import UnitOfWork
from ledger.documents import Documents
from ledger.log import store as log_store
from ledger.log import verification
from projections import complaint_records, consistency, household_rows, household_search, on_behalf
from projections import complaints as complaints_rm
from projections import dispute as dispute_rm
from projections import history as history_view
from projections import households as households_rm
from projections import payouts as payouts_rm
from projections import programme as programme_rm
from projections import progress as progress_rm
from projections.model import micros

if TYPE_CHECKING:
    from ledger.cosignature import CosignerVerifier
    from ledger.log.bundle import HouseholdProof
    from ledger.log.notes import Receipt
    from ledger.log.recorded import RecordBounds


# The aggregate each kind of record a receipt or a printable names.
_RECORD_IDS = {"household": household_id, "complaint": complaint_id, "payout": payout_id}


def asked(code: str, kind: str) -> str:
    """A code asked about, read as a command's code is: in its normal form, so that
    ＸＣ-０００１ finds XC-0001, and refused if it holds a character that does not show."""
    return parse_code(code, kind)


_UNKNOWN_HOUSEHOLD = "unknown household {}: check the code, or register it first."


def _role_of(c: Any, staff: str) -> str:
    """The staff member's role now; an id that is not enrolled is refused, as a
    command naming it is."""
    role = BUILTIN_ADMIN if staff == BUILTIN_ADMIN else programme_rm.staff_role(c, staff)
    if role is None:
        raise NotFound(f"unknown staff {staff}: check the staff id, or enroll them first.")
    return role


def _check_group(c: Any, group: str) -> None:
    """Refuse a work group that was never created, naming those that were."""
    if not programme_rm.has_group(c, group):
        known = ", ".join(g for g, _ in programme_rm.groups(c))
        raise NotFound(f"unknown group {group}: use one of {known or '(none yet)'}.")


def _deadline_days(c: Any) -> tuple[int, int]:
    """The days to acknowledge and to resolve a complaint: the latest policy's, else 2
    and 15 (DOMAIN.md)."""
    policy = programme_rm.latest_policy(c)
    if policy is None:
        return DEFAULT_ACKNOWLEDGE_DAYS, DEFAULT_RESOLVE_DAYS
    return policy.acknowledge_days, policy.resolve_days


def _refusal(
    uow: UnitOfWork, payout: str, household_code: str, at: datetime, confirmer: str | None
) -> str | None:
    """Why a confirmation of the payout at `at` would be refused (None: it would pass),
    by the rules the confirmation itself runs (ledger/commands/payouts.py)."""
    try:
        household = uow.household(household_code)
        policy = uow.household_policy(household)
        household.check_payable(
            payout,
            at,
            policy.required_documents,
            uow.open_complaints(household, at),
            policy.block_payout_on_open_complaint,
            confirmer=confirmer,
        )
    except DomainError as refusal:
        return str(refusal)
    return None


class Reads:
    """What can be read of one open ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        # Policy versions as read: a published version never changes.
        self._policies: dict[tuple[str, int], PolicyVersion] = {}
        self._kept_documents: Documents | None = None

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
                raise NotFound(_UNKNOWN_HOUSEHOLD.format(code))
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

    def search_households(
        self,
        q: str,
        group: str | None = None,
        status: str | None = None,
        limit: int = household_search.MOST,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """Households found by code, head's name or the head's full ID number (`household
        search --json`, `GET /api/v1/households?q=`): `{"households": [{"household",
        "group", "village", "head", "status"}]}`, in code order, at most 100. q empty
        lists the group's households. status as of as_of (default: now)."""
        one_line(q, "the search text")
        if status is not None and status not in household_search.STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(household_search.STATUSES)}, not {status}."
            )
        group = asked(group, "group") if group is not None else None
        when = as_of if as_of is not None else self.now().astimezone(LEDGER_TZ)
        with self._ledger.read_models.reading() as c:
            if group is not None:
                _check_group(c, group)
            found = household_search.search(c, q, group, status, when, limit)
        return {"households": found}

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

    # --- staff --------------------------------------------------------------------

    def check_confirmer(self, staff: str) -> str:
        """staff, if a payout list may be drawn up as confirmed by them: an enrolled
        finance officer (only finance confirms a payout)."""
        staff = asked(staff, "staff")
        with self._ledger.read_models.reading() as c:
            role = _role_of(c, staff)
        if role != "finance":
            raise PermissionDenied(
                f"{staff} is {role} staff and may not confirm a payout; give a finance "
                "officer's staff id with --for."
            )
        return staff

    def staff_group(self, staff: str) -> str | None:
        """The work group a staff member belongs to now (None: none, or unknown)."""
        with self._ledger.read_models.reading() as c:
            return programme_rm.current_group(c, staff)

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
            return progress_rm.reports(c, days)

    def first_business_day(self) -> datetime | None:
        """The business time of the first household's first step (None: none yet)."""
        with self._ledger.read_models.reading() as c:
            return progress_rm.first_day(c)

    def last_business_day(self) -> datetime | None:
        """The business time of the latest change to the bulletin's figures (None: none
        yet): the day a bulletin reports when none is asked for."""
        with self._ledger.read_models.reading() as c:
            return progress_rm.last_day(c)

    def group_names(self) -> dict[str, str]:
        """Each work group's name, by id."""
        with self._ledger.read_models.reading() as c:
            return dict(programme_rm.groups(c))

    def complaints(self, now: datetime, household: str | None = None) -> list[dict[str, Any]]:
        """Every complaint (about `household`, if given) with its deadlines (from the
        latest policy, else 2 and 15 days) and what is overdue at `now`, oldest first."""
        with self._ledger.read_models.reading() as c:
            entries = complaints_rm.register(c, now, *_deadline_days(c), household)
            assigned = complaint_records.assignees(c, [e["complaint"] for e in entries])
        return [{**e, "assignee": assigned.get(e["complaint"])} for e in entries]

    def complaint_list(
        self,
        now: datetime | None = None,
        *,
        open: bool = False,
        overdue: bool = False,
        due_soon: bool = False,
        assignee: str | None = None,
        household: str | None = None,
    ) -> dict[str, Any]:
        """`complaint list --json` and `GET /api/v1/complaints` with the same filters:
        `{"as_of", "complaints": [...]}`, oldest first; each filter given narrows the
        list (open: not resolved; overdue: past a deadline; due_soon: a deadline within
        a day; assignee: assigned to that staff member; household: about it)."""
        when = now if now is not None else self.now().astimezone(LEDGER_TZ)
        if household is not None:
            household = asked(household, "household")
        entries = self.complaints(when, household)
        if open:
            entries = [e for e in entries if e["status"] == "open"]
        if overdue:
            entries = [e for e in entries if e["overdue"]]
        if due_soon:
            entries = [e for e in entries if e["due_soon"]]
        if assignee is not None:
            assignee = asked(assignee, "assignee")
            with self._ledger.read_models.reading() as c:
                _role_of(c, assignee)
            entries = [e for e in entries if e["assignee"] == assignee]
        return {"as_of": when.isoformat(), "complaints": entries}

    def complaint(
        self, code: str, now: datetime | None = None, *, role: str | None = None
    ) -> dict[str, Any]:
        """One complaint's full record (`complaint show --json`): its register entry
        (deadlines, what is overdue or due soon at `now`, default the ledger's clock),
        assignee, acknowledgement, notes, resolutions, reopenings, every event, and the
        caller, in full only for a role of SEES_CALLERS (admin, hotline, supervisor),
        else masked (None: masked)."""
        code = asked(code, "complaint")
        when = now if now is not None else self.now().astimezone(LEDGER_TZ)
        with self._ledger.read_models.reading() as c:
            row = complaints_rm.load_by_code(c, code)
            found = complaint_records.record(c, code)
            if row is None or found is None:
                raise NotFound(f"unknown complaint {code}: check the id (complaint list).")
            entry = complaints_rm.entry(row, when, *_deadline_days(c))
        assignee, caller, events = found
        return {
            **entry,
            "assignee": assignee,
            **complaint_records.drawn_out(events, entry["status"] == "resolved"),
            "record": events,
            "caller": self._caller(code, caller, role in SEES_CALLERS),
        }

    def _caller(self, code: str, digest: str | None, in_full: bool) -> dict[str, Any] | None:
        """The caller's name and telephone, and whether they are the contact given at
        filing (their salted digest is the one its event records)."""
        if digest is None:
            return None
        recorder = self._ledger.ledger_recorder
        with recorder.log_transaction(commit=False) as c:
            kept = identity_tables.contact_of(c, recorder.log.dialect, code)
        if kept is None:
            return {"name": None, "phone": None, "verified": False}
        name, phone, salt = kept
        verified = contact_digest(bytes.fromhex(salt), name, phone) == digest
        if not in_full:
            name = mask_name(name) if name else name
            phone = mask_id_number(phone)
        return {"name": name, "phone": phone, "verified": verified}

    # --- payouts -------------------------------------------------------------------

    def ready_payouts(self, for_staff: str | None = None) -> dict[str, Any]:
        """Finance's worklist (`payout list --ready --json`, `GET /api/v1/payouts?ready=
        true`): `{"payouts": [{"payout", "household", "amount", "requested_by",
        "requested_at"}]}`, only the payouts a confirmation would pass now, by the
        domain's own rules (Household.check_payable); for_staff: confirmed by this
        staff member (who never confirms a payout they requested)."""
        keys = ("payout", "household", "amount", "requested_by", "requested_at")
        return {
            "payouts": [
                {k: p[k] for k in keys} for p in self._unpaid(for_staff) if p["status"] == "ready"
            ]
        }

    def paid_payouts(self) -> dict[str, Any]:
        """The payouts confirmed, in the order they were paid (`payout list --paid`):
        each with who confirmed it, when, and the bank's reference."""
        with self._ledger.read_models.reading() as c:
            return {"payouts": payouts_rm.paid(c)}

    def payouts(self, for_staff: str | None = None, household: str | None = None) -> dict[str, Any]:
        """Every payout not yet paid (of one household, if given), oldest request
        first, each `ready` or `blocked` with `why` (the sentence a confirmation now
        would be refused with), then every payout paid (`paid`): `payout list --json`."""
        household = asked(household, "household") if household is not None else None
        if household is not None:
            with self._ledger.read_models.reading() as c:
                if households_rm.load_by_code(c, household) is None:
                    raise NotFound(_UNKNOWN_HOUSEHOLD.format(household))
        entries = self._unpaid(for_staff, household)
        with self._ledger.read_models.reading() as c:
            done = payouts_rm.paid(c, household)
        entries.extend({**p, "status": "paid", "why": None} for p in done)
        return {"payouts": entries}

    def _unpaid(self, for_staff: str | None, household: str | None = None) -> list[dict[str, Any]]:
        """The payouts not yet paid, each judged now: ready, or blocked and why."""
        with self._ledger.read_models.reading() as c:
            waiting = payouts_rm.unpaid(c, household)
        at = self.now()
        uow = UnitOfWork(self._ledger)
        entries = []
        for p in waiting:
            why = _refusal(uow, p["payout"], p["household"], at, for_staff)
            entries.append({**p, "status": "ready" if why is None else "blocked", "why": why})
        return entries

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
            acts = on_behalf.entered_for_others(c, micros(as_of))
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

    def published_policies(self) -> list[dict[str, Any]]:
        """Every published version of every policy, as published, by policy and version."""
        with self._ledger.read_models.reading() as c:
            return [json.loads(text) for text in programme_rm.policy_documents(c)]

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

    # --- printables: where an event stands in the log -------------------------------

    def in_log(self, kind: str, code: str, version: int) -> dict[str, Any]:
        """Where version `version` of record `kind` `code` (household, complaint, payout)
        stands in the transparency log: `{"index": leaf index or None (not logged yet),
        "checkpoint": the first checkpoint that includes it ({"size", "root",
        "created_at", "note"}) or None (none does yet)}`."""
        code = asked(code, kind)
        recorder = self._ledger.ledger_recorder
        log = recorder.log
        d = log.dialect
        with recorder.log_transaction(commit=False) as c:
            c.execute(
                d.sql(
                    f"SELECT {d.notification_id} FROM {d.events_table} "
                    "WHERE originator_id = ? AND originator_version = ?"
                ),
                [d.originator_param(_RECORD_IDS[kind](code)), version],
            )
            row = c.fetchone()
            if row is None:
                raise NotFound(f"there is no version {version} of {kind} {code} in the ledger.")
            leaves = log.leaves_of(c, [int(row[0])])
            checkpoints = log.checkpoints(c) if leaves else []
        if not leaves:
            return {"index": None, "checkpoint": None}
        index = next(iter(leaves.values()))[0]
        first = next((cp for cp in checkpoints if cp.size > index), None)
        return {
            "index": index,
            "checkpoint": None
            if first is None
            else {
                "size": first.size,
                "root": first.root.hex(),
                "created_at": first.created_at,
                "note": first.note,
            },
        }

    def receipt(
        self, signers: Sequence[Signer], kind: str, code: str, version: int | None = None
    ) -> Receipt:
        """The receipt `oneruler receipt` gives: the log's signed promise that its next
        checkpoint includes a record's event (the given or latest version)."""
        return self._ledger.receipt(signers, kind, asked(code, kind), version)

    # --- the households' scanned documents -------------------------------------------

    def document(self, digest: str, household: str) -> bytes | None:
        """A scanned document's bytes, by its SHA-256, if it was uploaded for this
        household (None: not kept here for it)."""
        return self._documents().content(digest, asked(household, "household"))

    def documents_kept(self, digests: Sequence[str], household: str) -> set[str]:
        """Which of these SHA-256 digests have their file kept in the ledger's database,
        uploaded for this household."""
        return self._documents().kept(digests, asked(household, "household"))

    def _documents(self) -> Documents:
        if self._kept_documents is None:
            self._kept_documents = Documents(self._ledger)
        return self._kept_documents
