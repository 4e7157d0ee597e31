"""Random sequences of commands, good and bad, through the application; after every
step: paid never exceeds agreed, no payout is confirmed without a complete file, a
refused command changed nothing, and the stored events replay to the live objects."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.errors import DomainError
from domain.household import Household
from domain.ids import household_id
from ledger.application import Ledger
from ledger.commands import parse_command
from ledger.reads import Reads
from ledger.store import open_ledger
from tests.credentials import execute_as_actor

TZ = timezone(timedelta(hours=8))
START = datetime(2018, 3, 1, 8, 0, tzinfo=TZ)
POLICY = {
    "policy": "P",
    "version": 1,
    "effective": "2018-03-01",
    "title": "测试方案",
    "rates": {"building:brick": "3000.00", "land:homestead": "500.00"},
    "per_household": {"moving": "2000.00"},
    "incentives": [
        {"name": "early", "amount": "10000.00", "signed_by": "2018-03-10T23:59:59+08:00"}
    ],
    "required_documents": ["id_card", "agreement"],
    "block_payout_on_open_complaint": True,
}
HOUSEHOLDS = ("H1", "H2", "H3")
GROUP_OF = {"H1": "G1", "H2": "G1", "H3": "G2"}
CLERKS = ("c1", "c2")  # c1 works for G1, c2 for G2
STAFF = ("c1", "c2", "ap", "su", "ho", "f1", "f2", "admin")
KINDS = ("id_card", "agreement", "photo")
CLERK_OF = {"H1": "c1", "H2": "c1", "H3": "c2"}
# Mostly the right clerk, sometimes the clerk of the other group.
RIGHT_CLERK = st.sampled_from((True, True, True, False))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.path = Path(self.tmp.name) / "ledger.db"
        self.ledger: Ledger = open_ledger(str(self.path))
        self.ledger.cache_size = 1_000  # the live objects stay in memory between commands
        self.now = START
        self.counter = 0
        self.payouts: list[str] = []
        self.complaints: list[str] = []
        self.confirmed_with_file: list[bool] = []

    def teardown(self) -> None:
        self.ledger.close()
        self.tmp.cleanup()

    # --- helpers -----------------------------------------------------------

    def send(self, cmd: str, actor: str, backwards: bool = False, **fields: Any) -> bool:
        """Run one command; return whether it was applied. A refusal must append nothing."""
        self.counter += 1
        self.now += timedelta(hours=1)
        at = self.now - timedelta(days=3) if backwards else self.now
        raw = {"id": f"k{self.counter}", "cmd": cmd, "actor": actor, "at": at.isoformat(), **fields}
        before = self.ledger.recorder.max_notification_id() or 0
        try:
            execute_as_actor(self.ledger, parse_command(raw))
        except DomainError:
            after = self.ledger.recorder.max_notification_id() or 0
            assert after == before, f"a refused {cmd} appended {after - before} events"
            assert not self.ledger.applied_commands([raw["id"]])
            return False
        assert (self.ledger.recorder.max_notification_id() or 0) > before
        return True

    def live(self, code: str) -> Household:
        household = self.ledger.load(household_id(code))
        assert isinstance(household, Household)
        return household

    # --- set-up --------------------------------------------------------------

    @initialize()
    def set_up(self) -> None:
        assert self.send("publish_policy", "admin", document=POLICY)
        assert self.send("add_village", "admin", village="一村")
        for group in ("G1", "G2"):
            assert self.send("create_group", "admin", group=group, name=f"组{group}")
        roles = {
            "c1": "clerk",
            "c2": "clerk",
            "ap": "appraiser",
            "su": "supervisor",
            "ho": "hotline",
            "f1": "finance",
            "f2": "finance",
        }
        for staff, role in roles.items():
            group = {"c1": "G1", "c2": "G2"}.get(staff)
            extra = {"group": group} if group else {}
            assert self.send("enroll_staff", "admin", staff=staff, name=staff, role=role, **extra)
        for code in HOUSEHOLDS:
            assert self.send(
                "register_household",
                "admin",
                household=code,
                group=GROUP_OF[code],
                village="一村",
                head="张三",
            )

    # --- rules ---------------------------------------------------------------

    def clerk(self, hh: str, right: bool) -> str:
        return CLERK_OF[hh] if right else ("c2" if CLERK_OF[hh] == "c1" else "c1")

    @rule(
        hh=st.sampled_from(HOUSEHOLDS),
        right=RIGHT_CLERK,
        other=st.sampled_from(STAFF),
        area=st.integers(10, 200),
        reason=st.booleans(),
    )
    def survey(self, hh: str, right: bool, other: str, area: int, reason: bool) -> None:
        extra = {"reason": "re-measured"} if reason else {}
        actor = self.clerk(hh, True) if right else other
        self.send(
            "record_survey",
            actor,
            household=hh,
            residents=3,
            building_area_m2={"brick": f"{area}.00"},
            land_area_m2="20.00",
            **extra,
        )

    @rule(
        hh=st.sampled_from(HOUSEHOLDS),
        actor=st.sampled_from(("ap", "ap", "c1", "su")),
        area=st.integers(10, 200),
        well=st.integers(0, 3000),
        review=st.booleans(),
        backwards=st.booleans(),
    )
    def value(
        self, hh: str, actor: str, area: int, well: int, review: bool, backwards: bool
    ) -> None:
        current = self.live(hh).current_valuation
        extra = {"reviews": current.valuation} if review and current else {}
        self.send(
            "record_valuation",
            actor,
            backwards=backwards,
            household=hh,
            valuation=f"V{self.counter}",
            policy="P",
            policy_version=1,
            items=[
                {"item": "building:brick", "quantity": f"{area}.00"},
                {"item": "land:homestead", "quantity": "20.00"},
                {"item": "well", "value": f"{well}.00"},
            ],
            **extra,
        )

    @rule(
        hh=st.sampled_from(HOUSEHOLDS),
        right=RIGHT_CLERK,
        how=st.sampled_from(("exact", "exact", "deviation", "wrong", "bad_approver")),
    )
    def sign(self, hh: str, right: bool, how: str) -> None:
        actor = self.clerk(hh, right)
        household = self.live(hh)
        if household.current_valuation is None:
            amount = Decimal("1000.00")
        else:
            policy = self.ledger.policy_version_of("P", 1)
            amount = household.entitlement(policy, self.now + timedelta(hours=1)).total
        fields: dict[str, Any] = {
            "household": hh,
            "agreement": f"A{self.counter}",
            "method": "monetary",
        }
        if how == "exact":
            fields["amount"] = f"{amount:.2f}"
        elif how == "wrong":
            fields["amount"] = f"{amount + 1:.2f}"
        else:
            fields["amount"] = f"{amount + 500:.2f}"
            approver = "su" if how == "deviation" else "c1"
            fields["deviation"] = {"reason": "hardship", "approved_by": approver}
        applied = self.send("sign_agreement", actor, **fields)
        if applied:
            assert how in ("exact", "deviation")

    @rule(hh=st.sampled_from(HOUSEHOLDS), actor=st.sampled_from(("su", "c1")))
    def void(self, hh: str, actor: str) -> None:
        agreement = self.live(hh).agreement
        number = agreement.agreement if agreement else "A0"
        self.send("void_agreement", actor, household=hh, agreement=number, reason="mistake")

    @rule(hh=st.sampled_from(HOUSEHOLDS), right=RIGHT_CLERK, kind=st.sampled_from(KINDS))
    def attach(self, hh: str, right: bool, kind: str) -> None:
        actor = self.clerk(hh, right)
        digest = hashlib.sha256(f"{hh}{kind}{self.counter}".encode()).hexdigest()
        self.send(
            "attach_document", actor, household=hh, kind=kind, sha256=digest, filename=f"{kind}.pdf"
        )

    @rule(
        hh=st.sampled_from(HOUSEHOLDS),
        right=RIGHT_CLERK,
        share=st.sampled_from(("all", "half", "too_much")),
    )
    def request(self, hh: str, right: bool, share: str) -> None:
        actor = self.clerk(hh, right)
        agreement = self.live(hh).agreement
        agreed = agreement.amount if agreement else Decimal("100.00")
        amount = {
            "all": agreed,
            "half": (agreed / 2).quantize(Decimal("0.01")),
            "too_much": agreed + 1,
        }[share]
        payout = f"P{self.counter}"
        if self.send("request_payout", actor, payout=payout, household=hh, amount=f"{amount:.2f}"):
            self.payouts.append(payout)

    @precondition(lambda self: self.payouts)
    @rule(data=st.data(), actor=st.sampled_from(("f1", "f2", "c1")))
    def confirm(self, data: st.DataObject, actor: str) -> None:
        payout = data.draw(st.sampled_from(self.payouts))
        if self.send("confirm_payout", actor, payout=payout, bank_reference=f"B{self.counter}"):
            household = next(self.live(h) for h in HOUSEHOLDS if payout in self.live(h).payouts)
            required = self.ledger.policy_version_of("P", 1).required_documents
            self.confirmed_with_file.append(not household.missing_documents(required))
            assert household.payouts[payout].confirmed_by != household.payouts[payout].requested_by

    @rule(hh=st.sampled_from(HOUSEHOLDS), actor=st.sampled_from(("ho", "c1")))
    def complain(self, hh: str, actor: str) -> None:
        complaint = f"C{self.counter}"
        if self.send(
            "file_complaint",
            actor,
            complaint=complaint,
            channel="hotline",
            about={"household": hh},
            summary="面积有误",
        ):
            self.complaints.append(complaint)

    @precondition(lambda self: self.complaints)
    @rule(data=st.data(), actor=st.sampled_from(("su", "ho")))
    def resolve(self, data: st.DataObject, actor: str) -> None:
        complaint = data.draw(st.sampled_from(self.complaints))
        self.send(
            "resolve_complaint", actor, complaint=complaint, finding="partial", outcome="done"
        )

    @rule(hh=st.sampled_from(HOUSEHOLDS), right=RIGHT_CLERK)
    def vacate(self, hh: str, right: bool) -> None:
        self.send("record_vacated", self.clerk(hh, right), household=hh)

    @rule(hh=st.sampled_from(HOUSEHOLDS))
    def advance(self, hh: str) -> None:
        """The next step of the happy path, so that deep states are reached often."""
        household = self.live(hh)
        clerk = CLERK_OF[hh]
        if household.surveyed_at is None:
            self.survey(hh, True, clerk, 80, False)
        elif household.current_valuation is None:
            self.value(hh, "ap", 80, 1000, False, False)
        elif household.agreement is None:
            self.sign(hh, True, "exact")
        elif household.missing_documents(("id_card", "agreement")):
            kind = household.missing_documents(("id_card", "agreement"))[0]
            self.attach(hh, True, kind)
        elif not household.payouts:
            self.request(hh, True, "half")
        else:
            pending = [p for p, payout in household.payouts.items() if not payout.confirmed]
            if pending:
                assert (
                    self.send(
                        "confirm_payout", "f1", payout=pending[0], bank_reference=f"B{self.counter}"
                    )
                    or household.complaints
                )

    # --- invariants ----------------------------------------------------------

    @invariant()
    def paid_never_exceeds_agreed(self) -> None:
        for code in HOUSEHOLDS:
            household = self.live(code)
            requested = sum((p.amount for p in household.payouts.values()), Decimal(0))
            if household.payouts:
                assert household.agreement is not None
                assert requested <= household.agreement.amount
            assert household.paid <= requested

    @invariant()
    def no_payout_confirmed_without_a_complete_file(self) -> None:
        assert all(self.confirmed_with_file)

    @invariant()
    def stored_events_replay_to_the_live_objects(self) -> None:
        fresh = open_ledger(str(self.path))
        try:
            for code in HOUSEHOLDS:
                replayed = fresh.repository.get(household_id(code))
                assert replayed == self.live(code)
                shown = Reads(fresh).household(code, self.now + timedelta(days=1))
                live = self.live(code)
                assert shown["paid"] == f"{live.paid:.2f}"
                agreed = f"{live.agreement.amount:.2f}" if live.agreement else None
                assert shown["agreed"] == agreed
        finally:
            fresh.close()


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
