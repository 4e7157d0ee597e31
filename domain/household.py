"""A household's compensation from registration to vacating, as one aggregate:
the consistency boundary for its survey, valuations, agreement, file and payouts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate

from domain import standard
from domain.base import Recorded, Stamp
from domain.errors import AlreadyExists, NotFound, PermissionDenied, RuleViolation
from domain.ids import household_id
from domain.policy import Entitlement, Item, PolicyVersion, check_items_fit, entitlement
from domain.roles import APPROVE_DEVIATION, Actor
from domain.standard import Approval, Deviation
from domain.values import ZERO, format_yuan

METHODS = ("monetary", "property_swap")


@dataclass(frozen=True, slots=True)
class Valuation:
    valuation: str
    policy: str
    policy_version: int
    items: tuple[Item, ...]
    reviews: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Agreement:
    agreement: str
    method: str
    amount: Decimal
    entitlement: Decimal
    valuation: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Payout:
    payout: str
    amount: Decimal
    requested_by: str
    requested_at: datetime
    # Who entered the request: the requester, or the admin entering it for them.
    request_entered_by: str
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_by is not None


class Household(Aggregate):
    TOPIC = "oneruler:Household"

    class Event(Recorded):
        """The base of this aggregate\'s events."""

    class Registered(Event, Aggregate.Created):
        TOPIC = "oneruler:Household.Registered"
        household: str
        group: str
        village: str
        head: str
        id_number: str | None
        address: str | None

    Created = Registered

    class Surveyed(Event):
        TOPIC = "oneruler:Household.Surveyed"
        residents: int
        building_area_m2: dict[str, Decimal]
        land_area_m2: Decimal
        notes: str | None
        reason: str | None

        def apply(self, household: Household) -> None:
            household.surveyed_at = self.occurred_at
            household.surveys += 1
            household.areas = dict(self.building_area_m2)

    class Valued(Event):
        TOPIC = "oneruler:Household.Valued"
        valuation: str
        policy: str
        policy_version: int
        items: list[dict[str, Any]]
        reviews: str | None
        # Building quantities other than the survey's: {"reason", "approved_by"}.
        quantity_deviation: dict[str, str] | None
        # Why a review leaves out items of the valuation it reviews.
        dropped_reason: str | None

        # 3: quantity_deviation and dropped_reason; a valuation recorded before them
        # had neither.
        class_version = 3

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["quantity_deviation"] = None
            state["dropped_reason"] = None

        def apply(self, household: Household) -> None:
            record = Valuation(
                valuation=self.valuation,
                policy=self.policy,
                policy_version=self.policy_version,
                items=tuple(Item.from_data(item) for item in self.items),
                reviews=self.reviews,
                at=self.occurred_at,
            )
            household.valuations[self.valuation] = record
            household.current_valuation = record

    class AgreementSigned(Event):
        TOPIC = "oneruler:Household.AgreementSigned"
        agreement: str
        method: str
        amount: Decimal
        entitlement: Decimal
        valuation: str
        policy: str
        policy_version: int
        deviation: dict[str, str] | None

        def apply(self, household: Household) -> None:
            household.agreement = Agreement(
                agreement=self.agreement,
                method=self.method,
                amount=self.amount,
                entitlement=self.entitlement,
                valuation=self.valuation,
                at=self.occurred_at,
            )
            household.agreement_numbers.append(self.agreement)

    class DeviationApproved(Event):
        """A supervisor's own approval of an amount other than the entitlement."""

        TOPIC = "oneruler:Household.DeviationApproved"
        amount: Decimal
        reason: str
        approval: str  # its id, which the agreement's deviation names

        # 3: approval; an approval recorded before it is named by its command's id.
        class_version = 3

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["approval"] = state["command"]

        def apply(self, household: Household) -> None:
            household.approvals.append(
                Approval(self.approval, self.actor, self.amount, self.reason, self.occurred_at)
            )

    class DeviationRefused(Event):
        """A supervisor's refusal of an amount other than the entitlement: no earlier
        approval of that amount allows signing for it any longer."""

        TOPIC = "oneruler:Household.DeviationRefused"
        amount: Decimal
        reason: str
        approval: str

        def apply(self, household: Household) -> None:
            household.approvals.append(
                Approval(
                    self.approval, self.actor, self.amount, self.reason, self.occurred_at, True
                )
            )

    class AgreementVoided(Event):
        TOPIC = "oneruler:Household.AgreementVoided"
        agreement: str
        reason: str

        def apply(self, household: Household) -> None:
            household.agreement = None
            household.voided_at = self.occurred_at

    class DocumentAttached(Event):
        TOPIC = "oneruler:Household.DocumentAttached"
        kind: str
        sha256: str
        filename: str
        size: int | None  # bytes; None where the file's size was not given

        # 3: size; a document attached before it had none.
        class_version = 3

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["size"] = None

        def apply(self, household: Household) -> None:
            household.documents.setdefault(self.kind, []).append((self.sha256, self.occurred_at))

    class ComplaintAttached(Event):
        TOPIC = "oneruler:Household.ComplaintAttached"
        complaint: str

        def apply(self, household: Household) -> None:
            household.complaints.append(self.complaint)

    class PayoutRequested(Event):
        TOPIC = "oneruler:Household.PayoutRequested"
        payout: str
        amount: Decimal
        agreement: str

        def apply(self, household: Household) -> None:
            household.payouts[self.payout] = Payout(
                payout=self.payout,
                amount=self.amount,
                requested_by=self.actor,
                requested_at=self.occurred_at,
                request_entered_by=self.entered_by,
            )

    class PayoutConfirmed(Event):
        TOPIC = "oneruler:Household.PayoutConfirmed"
        payout: str
        bank_reference: str

        def apply(self, household: Household) -> None:
            requested = household.payouts[self.payout]
            household.payouts[self.payout] = Payout(
                payout=requested.payout,
                amount=requested.amount,
                requested_by=requested.requested_by,
                requested_at=requested.requested_at,
                request_entered_by=requested.request_entered_by,
                confirmed_by=self.actor,
                confirmed_at=self.occurred_at,
            )

    class Vacated(Event):
        TOPIC = "oneruler:Household.Vacated"
        # Why it moved out before being paid in full, if it chose to (先补偿后搬迁).
        chose_early: str | None

        # 3: chose_early; a vacating recorded before it gave no reason.
        class_version = 3

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["chose_early"] = None

        def apply(self, household: Household) -> None:
            household.vacated_at = self.occurred_at

    def __init__(
        self,
        household: str,
        group: str,
        village: str,
        head: str,
        id_number: str | None,
        address: str | None,
        occurred_at: datetime,
    ) -> None:
        self.code = household
        self.group = group
        self.village = village
        self.registered_at = occurred_at
        self.surveyed_at: datetime | None = None
        self.surveys = 0
        self.areas: dict[str, Decimal] = {}  # the current survey's, by structure
        self.valuations: dict[str, Valuation] = {}
        self.current_valuation: Valuation | None = None
        self.agreement: Agreement | None = None
        self.agreement_numbers: list[str] = []
        self.voided_at: datetime | None = None
        self.approvals: list[Approval] = []  # approvals and refusals, in order
        self.documents: dict[str, list[tuple[str, datetime]]] = {}
        self.complaints: list[str] = []
        self.payouts: dict[str, Payout] = {}
        self.vacated_at: datetime | None = None

    # --- commands ----------------------------------------------------------

    @classmethod
    def register(
        cls,
        stamp: Stamp,
        household: str,
        group: str,
        village: str,
        head: str,
        id_number: str | None = None,
        address: str | None = None,
    ) -> Household:
        return cls._create(
            cls.Registered,
            id=household_id(household),
            household=household,
            group=group,
            village=village,
            head=head,
            id_number=id_number,
            address=address,
            **stamp.fields(),
        )

    def record_survey(
        self,
        stamp: Stamp,
        residents: int,
        building_area_m2: dict[str, Decimal],
        land_area_m2: Decimal,
        notes: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.check_no_agreement_in_force("correct the survey")
        if self.surveyed_at is None:
            self.check_not_before(stamp.at, self.registered_at, "its registration")
        else:
            self.check_not_before(stamp.at, self.surveyed_at, "the survey it corrects")
        if self.surveys and reason is None:
            raise RuleViolation(
                f"{self.code} was already surveyed; a correcting survey must give a reason."
            )
        self.trigger_event(
            self.Surveyed,
            residents=residents,
            building_area_m2=building_area_m2,
            land_area_m2=land_area_m2,
            notes=notes,
            reason=reason,
            **stamp.fields(),
        )

    def record_valuation(
        self,
        stamp: Stamp,
        valuation: str,
        policy: PolicyVersion,
        items: Sequence[Item],
        reviews: str | None = None,
        quantity_deviation: Deviation | None = None,
        approver: Actor | None = None,
        dropped_reason: str | None = None,
    ) -> None:
        if self.surveyed_at is None:
            raise RuleViolation(
                f"{self.code} has no survey yet; record the survey before valuing it."
            )
        self.check_no_agreement_in_force("value it again")
        if valuation in self.valuations:
            raise AlreadyExists(
                f"{self.code} already has a valuation {valuation}; give the new one its own id."
            )
        self.check_reviews(reviews)
        self.check_dropped(reviews, items, dropped_reason)
        self.check_not_before(stamp.at, self.surveyed_at, "its survey")
        if self.current_valuation is not None:
            self.check_not_before(stamp.at, self.current_valuation.at, "the valuation it replaces")
        policy.check_in_effect(stamp.at)
        check_items_fit(items, policy)
        self.check_quantities(items, quantity_deviation)
        if quantity_deviation is not None:
            assert approver is not None, "the application resolves the approver"
            approver.check_may(APPROVE_DEVIATION)
        self.trigger_event(
            self.Valued,
            valuation=valuation,
            policy=policy.policy,
            policy_version=policy.version,
            items=[item.as_data() for item in items],
            reviews=reviews,
            quantity_deviation=quantity_deviation.as_data() if quantity_deviation else None,
            dropped_reason=dropped_reason,
            **stamp.fields(),
        )

    def sign_agreement(
        self,
        stamp: Stamp,
        agreement: str,
        method: str,
        amount: Decimal,
        policy: PolicyVersion,
        deviation: Deviation | None = None,
    ) -> None:
        valuation = self.check_valued()
        self.check_no_agreement_in_force("sign another")
        if agreement in self.agreement_numbers:
            raise AlreadyExists(
                f"agreement {agreement} was already used for {self.code}; "
                "a new agreement needs a new number."
            )
        self.check_not_before(stamp.at, valuation.at, "the valuation it rests on")
        if self.voided_at is not None:
            self.check_not_before(stamp.at, self.voided_at, "the void of the last agreement")
        owed = self.entitlement(policy, stamp.at)
        self.check_amount(amount, owed, deviation)
        if deviation is not None:
            approval = self.check_approved(amount, owed, deviation, stamp.at)
            deviation = Deviation(
                reason=deviation.reason or approval.reason,
                approved_by=approval.supervisor,
                approval=approval.approval,
            )
        self.trigger_event(
            self.AgreementSigned,
            agreement=agreement,
            method=method,
            amount=amount,
            entitlement=owed.total,
            valuation=valuation.valuation,
            policy=owed.policy,
            policy_version=owed.version,
            deviation=deviation.as_data() if deviation else None,
            **stamp.fields(),
        )

    def approve_deviation(
        self, stamp: Stamp, amount: Decimal, reason: str, approval: str | None = None
    ) -> None:
        """Record a supervisor's approval of signing for another amount than the
        entitlement (the agreement then names the approval in its deviation)."""
        self.check_decision(stamp, "approve another amount", approval)
        self.trigger_event(
            self.DeviationApproved,
            amount=amount,
            reason=reason,
            approval=approval or stamp.command,
            **stamp.fields(),
        )

    def refuse_deviation(
        self, stamp: Stamp, amount: Decimal, reason: str, approval: str | None = None
    ) -> None:
        """Record a supervisor's refusal of signing for another amount than the
        entitlement: an approval of that amount given before no longer allows it."""
        self.check_decision(stamp, "refuse another amount", approval)
        self.trigger_event(
            self.DeviationRefused,
            amount=amount,
            reason=reason,
            approval=approval or stamp.command,
            **stamp.fields(),
        )

    def check_decision(self, stamp: Stamp, to_do: str, approval: str | None) -> None:
        valuation = self.check_valued()
        self.check_no_agreement_in_force(to_do)
        self.check_not_before(stamp.at, valuation.at, "the valuation it departs from")
        used = approval or stamp.command
        if any(a.approval == used for a in self.approvals):
            raise AlreadyExists(
                f"{self.code} already has a decision {used} on a deviation; give this one "
                "its own id."
            )

    def void_agreement(self, stamp: Stamp, agreement: str, reason: str) -> None:
        current = self.check_agreement_in_force()
        if current.agreement != agreement:
            raise RuleViolation(
                f"the agreement in force for {self.code} is {current.agreement}, not {agreement}."
            )
        if self.payouts:
            raise RuleViolation(
                f"agreement {agreement} of {self.code} has payouts requested against it "
                "and cannot be voided."
            )
        self.check_not_before(stamp.at, current.at, "the signing it voids")
        self.trigger_event(
            self.AgreementVoided, agreement=agreement, reason=reason, **stamp.fields()
        )

    def attach_document(
        self, stamp: Stamp, kind: str, sha256: str, filename: str, size: int | None = None
    ) -> None:
        if any(digest == sha256 for digest, _ in self.documents.get(kind, ())):
            raise AlreadyExists(
                f"the file of {self.code} already holds this {kind} (sha256 {sha256[:12]}…)."
            )
        self.check_not_before(stamp.at, self.registered_at, "its registration")
        self.trigger_event(
            self.DocumentAttached,
            kind=kind,
            sha256=sha256,
            filename=filename,
            size=size,
            **stamp.fields(),
        )

    def attach_complaint(self, stamp: Stamp, complaint: str) -> None:
        self.trigger_event(self.ComplaintAttached, complaint=complaint, **stamp.fields())

    def request_payout(
        self,
        stamp: Stamp,
        payout: str,
        amount: Decimal,
        required_documents: Sequence[str],
        open_complaints: Sequence[str],
        block_on_open_complaint: bool,
    ) -> None:
        agreement = self.check_agreement_in_force()
        if payout in self.payouts:
            raise AlreadyExists(f"{self.code} already has a payout {payout}.")
        self.check_not_before(stamp.at, agreement.at, "the agreement it pays")
        self.check_file_complete(required_documents, stamp.at)
        self.check_no_blocking_complaint(open_complaints, block_on_open_complaint)
        requested = sum((p.amount for p in self.payouts.values()), ZERO)
        if requested + amount > agreement.amount:
            raise RuleViolation(
                f"a payout of {format_yuan(amount)} would bring {self.code}'s payouts to "
                f"{format_yuan(requested + amount)}, more than the agreed "
                f"{format_yuan(agreement.amount)}; request at most "
                f"{format_yuan(agreement.amount - requested)}."
            )
        self.trigger_event(
            self.PayoutRequested,
            payout=payout,
            amount=amount,
            agreement=agreement.agreement,
            **stamp.fields(),
        )

    def confirm_payout(
        self,
        stamp: Stamp,
        payout: str,
        bank_reference: str,
        required_documents: Sequence[str],
        open_complaints: Sequence[str],
        block_on_open_complaint: bool,
    ) -> None:
        self.check_payable(
            payout,
            stamp.at,
            required_documents,
            open_complaints,
            block_on_open_complaint,
            confirmer=stamp.actor,
        )
        self.trigger_event(
            self.PayoutConfirmed, payout=payout, bank_reference=bank_reference, **stamp.fields()
        )

    def check_payable(
        self,
        payout: str,
        at: datetime,
        required_documents: Sequence[str],
        open_complaints: Sequence[str],
        block_on_open_complaint: bool,
        confirmer: str | None = None,
    ) -> None:
        """Every rule a confirmation of the payout at a business time must pass (by
        confirmer: who requested it, or entered its request, never confirms it; None:
        by a finance officer who did neither). Finance's worklist asks it too."""
        requested = self.payouts.get(payout)
        if requested is None:
            raise NotFound(f"{self.code} has no payout {payout}.")
        if requested.confirmed:
            raise RuleViolation(
                f"payout {payout} was already confirmed by {requested.confirmed_by}."
            )
        if confirmer in (requested.requested_by, requested.request_entered_by):
            did = "requested" if confirmer == requested.requested_by else "entered the request of"
            raise PermissionDenied(
                f"{confirmer} {did} payout {payout} and may not also confirm it; "
                "another finance officer must."
            )
        agreement = self.check_agreement_in_force()
        self.check_not_before(at, requested.requested_at, "its request")
        self.check_file_complete(required_documents, at)
        self.check_no_blocking_complaint(open_complaints, block_on_open_complaint)
        if self.paid + requested.amount > agreement.amount:
            raise RuleViolation(
                f"payout {payout} of {format_yuan(requested.amount)} would bring what "
                f"{self.code} was paid to {format_yuan(self.paid + requested.amount)}, more "
                f"than the agreed {format_yuan(agreement.amount)}."
            )

    def record_vacated(self, stamp: Stamp, chose_early: str | None = None) -> None:
        agreement = self.check_agreement_in_force()
        if self.vacated_at is not None:
            raise RuleViolation(f"{self.code} was already recorded as vacated.")
        self.check_not_before(stamp.at, agreement.at, "its agreement")
        if chose_early is not None and self.paid_by(stamp.at) >= agreement.amount:
            raise RuleViolation(
                f"{self.code} was paid in full by then; remove --chose-early, which is for "
                "a household moving out before it is paid."
            )
        self.trigger_event(self.Vacated, chose_early=chose_early, **stamp.fields())

    def paid_by(self, at: datetime) -> Decimal:
        """The payouts confirmed by a business time."""
        return sum(
            (
                p.amount
                for p in self.payouts.values()
                if p.confirmed_at is not None and p.confirmed_at <= at
            ),
            ZERO,
        )

    # --- what the rules read -----------------------------------------------

    def entitlement(self, policy: PolicyVersion, at: datetime) -> Entitlement:
        """The entitlement of the current valuation under its own policy version."""
        valuation = self.check_valued()
        assert (policy.policy, policy.version) == (valuation.policy, valuation.policy_version), (
            "the application passes the valuation's own policy version"
        )
        return entitlement(valuation.items, policy, at)

    def missing_documents(self, required: Sequence[str], at: datetime | None = None) -> list[str]:
        """The required kinds the file lacks (as of a business time, if given: a
        document dated later did not yet exist then)."""
        return [
            kind
            for kind in required
            if not any(at is None or when <= at for _, when in self.documents.get(kind, ()))
        ]

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payouts.values() if p.confirmed), ZERO)

    # --- guards ------------------------------------------------------------

    def check_valued(self) -> Valuation:
        if self.current_valuation is None:
            raise RuleViolation(f"{self.code} has no valuation yet; record a valuation first.")
        return self.current_valuation

    def check_agreement_in_force(self) -> Agreement:
        if self.agreement is None:
            raise RuleViolation(f"{self.code} has no signed agreement in force.")
        return self.agreement

    def check_no_agreement_in_force(self, to_do: str) -> None:
        if self.agreement is not None:
            raise RuleViolation(
                f"agreement {self.agreement.agreement} of {self.code} is in force; "
                f"a supervisor must void it before you {to_do}."
            )

    def check_reviews(self, reviews: str | None) -> None:
        current = self.current_valuation.valuation if self.current_valuation else None
        standard.check_reviews(self.code, self.valuations, current, reviews)

    def check_dropped(self, reviews: str | None, items: Sequence[Item], reason: str | None) -> None:
        reviewed = self.valuations[reviews].items if reviews is not None else ()
        standard.check_dropped(self.code, reviews, reviewed, items, reason)

    def check_quantities(self, items: Sequence[Item], deviation: Deviation | None) -> None:
        standard.check_quantities(self.code, self.areas, items, deviation)

    def approval_for(self, amount: Decimal, at: datetime) -> Approval | None:
        """The supervisor's approval, on record by at and not refused since, that
        allows signing for amount (None: none does)."""
        return standard.approval_for(self.approvals, amount, at)

    def check_approved(
        self, amount: Decimal, owed: Entitlement, deviation: Deviation, at: datetime
    ) -> Approval:
        return standard.check_approved(self.code, self.approvals, amount, owed.total, deviation, at)

    def check_amount(self, amount: Decimal, owed: Entitlement, deviation: Deviation | None) -> None:
        standard.check_amount(amount, owed, deviation)

    def check_file_complete(self, required: Sequence[str], at: datetime) -> None:
        missing = self.missing_documents(required, at)
        if missing:
            raise RuleViolation(
                f"the file of {self.code} is incomplete: missing {', '.join(missing)}."
            )

    def check_no_blocking_complaint(self, open_complaints: Sequence[str], block: bool) -> None:
        if block and open_complaints:
            raise RuleViolation(
                f"{self.code} has an open complaint ({', '.join(open_complaints)}); "
                "the policy blocks payouts until it is resolved."
            )

    def check_not_before(self, at: datetime, earlier: datetime, what: str) -> None:
        if at < earlier:
            raise RuleViolation(
                f"{at.isoformat()} is before {what} ({earlier.isoformat()}) for {self.code}; "
                "check the time."
            )
