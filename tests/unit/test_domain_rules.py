"""The rules of DOMAIN.md as the aggregates implement them: every refusal with its
error class and sentence, and a refused call leaves the aggregate as it was."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from domain.base import Stamp
from domain.complaint import (
    Complaint,
    assigned_complaint_code,
    contact_digest,
    parse_phone,
)
from domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from domain.household import Household
from domain.ids import household_id
from domain.policy import Item, PolicyVersion, parse_items
from domain.programme import Policy, Staff
from domain.roles import ROLES, Actor, Permission
from domain.standard import Deviation
from ledger.commands import declarations
from tests.strategies import policy_document

CST = timezone(timedelta(hours=8))
RECORDED = datetime(2026, 1, 1, tzinfo=UTC)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2018, 3, day, hour, minute, tzinfo=CST)


def stamp(actor: str, when: datetime, command: str = "cmd-1") -> Stamp:
    return Stamp(actor, when, command, RECORDED)


DOCUMENT: dict[str, Any] = policy_document()
POLICY = PolicyVersion.from_document(DOCUMENT)
REQUIRED = POLICY.required_documents

# XC-0001 of the sample: 95.50 x 3200 + 20 x 500 + 1500 + 2000 + 12000 + 20000 (signed early).
ITEMS = (
    Item("building:brick_concrete", quantity=Decimal("95.50")),
    Item("land:homestead", quantity=Decimal("20.00")),
    Item("well", value=Decimal("1500.00")),
)
OWED = Decimal("351100.00")
SHA = "ff7103c6ce8fd56fd320255cc8ad7e6cfbeae2639dde4061fa97e1203e9673de"


def refused(
    aggregate: Aggregate, error: type[DomainError], message: str | None, call: Callable[[], Any]
) -> None:
    """The call raises exactly this error and sentence and changes nothing."""
    aggregate.collect_events()
    before = copy.deepcopy(vars(aggregate))
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error
    if message is not None:
        assert str(info.value) == message
    assert aggregate.pending_events == []
    assert vars(aggregate) == before


# --- building households at each stage -------------------------------------


def registered() -> Household:
    return Household.register(
        stamp("admin", at(1, 9, 1)), "XC-0001", "G01", "一村", "张三", "211481197001081001"
    )


def surveyed() -> Household:
    household = registered()
    household.record_survey(
        stamp("s-001", at(3)), 4, {"brick_concrete": Decimal("95.50")}, Decimal("20.00")
    )
    return household


def valued() -> Household:
    household = surveyed()
    household.record_valuation(stamp("s-010", at(6)), "V-0001", POLICY, ITEMS)
    return household


def signed() -> Household:
    household = valued()
    household.sign_agreement(stamp("s-001", at(10, 15)), "A-0001", "monetary", OWED, POLICY)
    return household


def with_file(household: Household, kinds: tuple[str, ...] = REQUIRED) -> Household:
    for i, kind in enumerate(kinds):
        household.attach_document(
            stamp("s-001", at(11, 9)), kind, f"{i:064x}", f"XC-0001-{kind}.pdf"
        )
    return household


def requested(amount: Decimal = OWED) -> Household:
    household = with_file(signed())
    household.request_payout(stamp("s-001", at(12, 9)), "P-0001", amount, REQUIRED, [], True)
    return household


def filed_complaint() -> Complaint:
    return Complaint.file(
        stamp("s-030", at(8, 11)), "C-0001", "hotline", {"household": "XC-0001"}, "面积偏小"
    )


def event_names(aggregate: Aggregate) -> list[str]:
    return [type(e).__qualname__ for e in aggregate.collect_events()]


# --- roles -----------------------------------------------------------------

# DOMAIN.md, "Who does what"; acknowledging and reopening a complaint are the
# hotline's or a supervisor's (the table is silent; the implementation decides).
EXPECTED_ROLES = {
    "publish a policy": {"admin"},
    "declare a village": {"admin"},
    "enroll staff": {"admin"},
    "create a group": {"admin"},
    "register a household": {"admin"},
    "record a survey": {"clerk"},
    "record a valuation": {"appraiser"},
    "record an agreement": {"clerk"},
    "approve a deviation": {"supervisor"},
    "void an agreement": {"supervisor"},
    "attach a document": {"clerk"},
    "record vacating": {"clerk"},
    "request a payout": {"clerk"},
    "confirm a payout": {"finance"},
    "file a complaint": {"hotline"},
    "add to a complaint": {"hotline"},
    "acknowledge a complaint": {"hotline", "supervisor"},
    # Issue 16: an investigator's note, and giving a complaint to a supervisor.
    "add a note to a complaint": {"hotline", "supervisor"},
    "assign a complaint": {"hotline", "supervisor"},
    "resolve a complaint": {"supervisor"},
    "reopen a complaint": {"hotline", "supervisor"},
    # specs/identity.md, staff over time.
    "suspend staff": {"admin"},
    "reinstate staff": {"admin"},
    "change a role": {"admin"},
    "transfer staff": {"admin"},
}


# What each command declares it needs, by the action its refusals name.
PERMISSIONS = {d.may.action: d.may for d in declarations()}
CLERK_OF_THE_GROUP = ["record a survey", "record an agreement", "attach a document",
                      "record vacating", "request a payout"]  # fmt: skip


def test_every_action_has_an_expected_role_set() -> None:
    assert {action: set(p.roles) for action, p in PERMISSIONS.items()} == EXPECTED_ROLES
    assert ROLES == ("admin", "clerk", "appraiser", "supervisor", "hotline", "finance")
    bound = sorted(action for action, p in PERMISSIONS.items() if p.own_group)
    assert bound == sorted(CLERK_OF_THE_GROUP)


@pytest.mark.parametrize("action", sorted(EXPECTED_ROLES))
@pytest.mark.parametrize("role", ROLES)
def test_each_action_is_allowed_to_exactly_its_roles(action: str, role: str) -> None:
    actor = Actor("s-100", role, "G01")
    allowed = EXPECTED_ROLES[action]
    if role in allowed:
        actor.check_may(PERMISSIONS[action], "G01")
        return
    with pytest.raises(PermissionDenied) as info:
        actor.check_may(PERMISSIONS[action], "G01")
    assert str(info.value) == (
        f"s-100 is {role} staff and may not {action}; "
        f"only {' or '.join(sorted(allowed))} staff may."
    )


def test_a_role_refusal_reads_as_one_sentence() -> None:
    with pytest.raises(PermissionDenied) as info:
        Actor("s-010", "appraiser", None).check_may(PERMISSIONS["record a survey"], "G01")
    assert str(info.value) == (
        "s-010 is appraiser staff and may not record a survey; only clerk staff may."
    )
    with pytest.raises(PermissionDenied) as info:
        Actor("s-001", "clerk", "G01").check_may(PERMISSIONS["reopen a complaint"])
    assert str(info.value) == (
        "s-001 is clerk staff and may not reopen a complaint; only hotline or supervisor staff may."
    )


@pytest.mark.parametrize("action", CLERK_OF_THE_GROUP)
def test_a_clerk_may_not_act_for_a_household_of_another_group(action: str) -> None:
    clerk = Actor("s-002", "clerk", "G02")
    clerk.check_may(PERMISSIONS[action], "G02")
    with pytest.raises(PermissionDenied) as info:
        clerk.check_may(PERMISSIONS[action], "G01")
    assert str(info.value) == (
        f"s-002 is a clerk of G02 and may not {action} for a household of G01; a clerk of G01 must."
    )


def test_only_clerks_are_limited_to_their_group() -> None:
    Actor("s-010", "appraiser", None).check_may(PERMISSIONS["record a valuation"], "G01")
    Actor("s-020", "supervisor", "G02").check_may(PERMISSIONS["void an agreement"], "G01")


def test_a_permission_names_known_roles_and_binds_only_clerks() -> None:
    with pytest.raises(ValueError, match="roles must be some of"):
        Permission("audit", ("auditor",))
    with pytest.raises(ValueError, match="only a clerk is bound"):
        Permission("void an agreement", ("supervisor",), own_group=True)


def test_a_clerk_needs_a_group() -> None:
    with pytest.raises(InvalidInput) as info:
        Staff.enroll(stamp("admin", at(1)), "s-001", "李明", "clerk", None)
    assert str(info.value) == "clerk s-001 needs a group: add the group they work for."
    staff = Staff.enroll(stamp("admin", at(1)), "s-001", "李明", "clerk", "G01")
    assert staff.as_actor(at(1)) == Actor("s-001", "clerk", "G01")


# --- provenance ------------------------------------------------------------


def test_every_event_records_actor_business_time_command_and_recorded_time() -> None:
    household = Household.register(
        Stamp("admin", at(1, 9, 1), "xc-0010", RECORDED), "XC-0001", "G01", "一村", "张三"
    )
    (event,) = household.collect_events()
    assert isinstance(event, Household.Registered)
    assert event.originator_id == household_id("XC-0001") == household.id
    assert (event.actor, event.occurred_at, event.command) == ("admin", at(1, 9, 1), "xc-0010")
    assert event.recorded_at == event.timestamp == RECORDED
    assert event.occurred_at.utcoffset() == timedelta(hours=8)


# --- surveys ---------------------------------------------------------------


def test_a_survey_is_recorded() -> None:
    household = surveyed()
    assert household.surveyed_at == at(3)
    assert household.surveys == 1
    assert event_names(household) == ["Household.Registered", "Household.Surveyed"]


def test_a_survey_may_not_come_before_the_registration() -> None:
    household = registered()
    refused(
        household,
        RuleViolation,
        "2018-03-01T09:00:00+08:00 is before its registration (2018-03-01T09:01:00+08:00) "
        "for XC-0001; check the time.",
        lambda: household.record_survey(
            stamp("s-001", at(1, 9, 0)), 4, {"brick_concrete": Decimal("1")}, Decimal("1")
        ),
    )


def test_a_correcting_survey_needs_a_reason() -> None:
    household = surveyed()
    refused(
        household,
        RuleViolation,
        "XC-0001 was already surveyed; a correcting survey must give a reason.",
        lambda: household.record_survey(
            stamp("s-001", at(4)), 4, {"brick_concrete": Decimal("96.00")}, Decimal("20.00")
        ),
    )
    household.record_survey(
        stamp("s-001", at(4)),
        4,
        {"brick_concrete": Decimal("96.00")},
        Decimal("20.00"),
        reason="re-measured with the household",
    )
    (event,) = household.collect_events()
    assert isinstance(event, Household.Surveyed)
    assert event.reason == "re-measured with the household"
    assert household.surveys == 2


def test_no_survey_correction_while_an_agreement_is_in_force() -> None:
    household = signed()
    refused(
        household,
        RuleViolation,
        "agreement A-0001 of XC-0001 is in force; a supervisor must void it before you "
        "correct the survey.",
        lambda: household.record_survey(
            stamp("s-001", at(12)), 4, {"brick_concrete": Decimal("1")}, Decimal("1"), reason="x"
        ),
    )


# --- valuations ------------------------------------------------------------


def test_no_valuation_before_a_survey() -> None:
    household = registered()
    refused(
        household,
        RuleViolation,
        "XC-0001 has no survey yet; record the survey before valuing it.",
        lambda: household.record_valuation(stamp("s-010", at(6)), "V-0001", POLICY, ITEMS),
    )


def test_a_valuation_may_not_come_before_the_survey_in_business_time() -> None:
    household = surveyed()
    refused(
        household,
        RuleViolation,
        "2018-03-02T10:00:00+08:00 is before its survey (2018-03-03T10:00:00+08:00) "
        "for XC-0001; check the time.",
        lambda: household.record_valuation(stamp("s-010", at(2)), "V-0001", POLICY, ITEMS),
    )


def test_a_valuation_is_recorded_with_its_policy_version_and_items() -> None:
    household = valued()
    assert household.current_valuation is not None
    assert household.current_valuation.valuation == "V-0001"
    assert household.current_valuation.items == ITEMS
    event = household.collect_events()[-1]
    assert isinstance(event, Household.Valued)
    assert (event.policy, event.policy_version) == ("XC-2018", 1)
    assert event.items == [
        {"item": "building:brick_concrete", "quantity": Decimal("95.50")},
        {"item": "land:homestead", "quantity": Decimal("20.00")},
        {"item": "well", "value": Decimal("1500.00")},
    ]


def test_a_valuation_id_is_used_once() -> None:
    household = valued()
    refused(
        household,
        AlreadyExists,
        "XC-0001 already has a valuation V-0001; give the new one its own id.",
        lambda: household.record_valuation(stamp("s-010", at(7)), "V-0001", POLICY, ITEMS),
    )


def test_no_new_valuation_while_an_agreement_is_in_force() -> None:
    household = signed()
    refused(
        household,
        RuleViolation,
        "agreement A-0001 of XC-0001 is in force; a supervisor must void it before you "
        "value it again.",
        lambda: household.record_valuation(stamp("s-010", at(12)), "V-0002", POLICY, ITEMS),
    )


def test_a_valuation_needs_a_policy_version_in_effect() -> None:
    later = PolicyVersion.from_document({**DOCUMENT, "version": 2, "effective": "2018-04-01"})
    household = surveyed()
    refused(
        household,
        RuleViolation,
        "policy XC-2018 version 2 takes effect on 2018-04-01, after 2018-03-06T10:00:00+08:00; "
        "value under a version already in effect.",
        lambda: household.record_valuation(stamp("s-010", at(6)), "V-0001", later, ITEMS),
    )
    household.record_valuation(
        stamp("s-010", datetime(2018, 4, 1, 0, 0, tzinfo=CST)), "V-0001", later, ITEMS
    )


def test_a_quantity_needs_a_rate_of_the_policy() -> None:
    household = surveyed()
    refused(
        household,
        RuleViolation,
        "policy XC-2018 version 1 has no rate for building:steel; use one of "
        "building:brick_concrete, building:brick_wood, building:simple, land:homestead, "
        "or give an appraised value.",
        lambda: household.record_valuation(
            stamp("s-010", at(6)), "V-0001", POLICY, (Item("building:steel", Decimal("1")),)
        ),
    )


def test_a_rate_key_takes_a_quantity_not_a_value() -> None:
    household = surveyed()
    refused(
        household,
        RuleViolation,
        "building:brick_concrete is priced by the policy's rate; give its quantity, not a value.",
        lambda: household.record_valuation(
            stamp("s-010", at(6)),
            "V-0001",
            POLICY,
            (Item("building:brick_concrete", value=Decimal("300000.00")),),
        ),
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            [{"item": "well"}],
            "items[0] (well) must have exactly one of quantity or value.",
        ),
        (
            [{"item": "land:homestead", "quantity": "1"}, {"item": "well", "value": "1",
                                                           "quantity": "1"}],
            "items[1] (well) must have exactly one of quantity or value.",
        ),
        (
            [{"item": "well", "value": "1500.00"}, {"item": "well", "value": "200.00"}],
            "items must name each item once; add the quantities together.",
        ),
        (
            [],
            "items must be a non-empty list such as "
            '[{"item": "building:brick_concrete", "quantity": "120.50"}].',
        ),
        (
            [{"item": "well", "value": 1500.0}],
            'items[0].value must be a decimal string such as "356800.00", '
            "not the number 1500.0.",
        ),
        (
            [{"item": "land:homestead", "quantity": "-20"}],
            'items[0].quantity must not be negative (got "-20").',
        ),
    ],
)  # fmt: skip
def test_valuation_items_are_checked_when_parsed(raw: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_items(raw)
    assert str(info.value) == message


def test_parsed_items_keep_quantity_or_value() -> None:
    assert parse_items(
        [{"item": "land:homestead", "quantity": "20.000001"}, {"item": "well", "value": "15"}]
    ) == (Item("land:homestead", quantity=Decimal("20.000001")), Item("well", value=Decimal("15")))


def test_a_review_names_the_current_valuation_and_supersedes_it() -> None:
    household = valued()
    refused(
        household,
        NotFound,
        "XC-0001 has no valuation V-9999 to review.",
        lambda: household.record_valuation(
            stamp("s-010", at(8)), "V-0001R", POLICY, ITEMS, reviews="V-9999"
        ),
    )
    household.record_valuation(stamp("s-010", at(8)), "V-0001R", POLICY, ITEMS, reviews="V-0001")
    assert household.current_valuation is not None
    assert household.current_valuation.valuation == "V-0001R"
    assert household.current_valuation.reviews == "V-0001"
    refused(
        household,
        RuleViolation,
        "valuation V-0001 of XC-0001 was superseded by V-0001R; "
        "a review names the current valuation.",
        lambda: household.record_valuation(
            stamp("s-010", at(9)), "V-0001R2", POLICY, ITEMS, reviews="V-0001"
        ),
    )


def test_a_valuation_may_not_come_before_the_current_valuation_in_business_time() -> None:
    household = valued()
    with pytest.raises(RuleViolation):
        household.record_valuation(
            stamp("s-010", at(5)), "V-0001R", POLICY, ITEMS, reviews="V-0001"
        )


# --- agreements ------------------------------------------------------------


def test_no_agreement_before_a_valuation() -> None:
    household = surveyed()
    refused(
        household,
        RuleViolation,
        "XC-0001 has no valuation yet; record a valuation first.",
        lambda: household.sign_agreement(
            stamp("s-001", at(10)), "A-0001", "monetary", OWED, POLICY
        ),
    )


def test_an_agreement_may_not_come_before_its_valuation_in_business_time() -> None:
    household = valued()
    refused(
        household,
        RuleViolation,
        "2018-03-05T10:00:00+08:00 is before the valuation it rests on "
        "(2018-03-06T10:00:00+08:00) for XC-0001; check the time.",
        lambda: household.sign_agreement(stamp("s-001", at(5)), "A-0001", "monetary", OWED, POLICY),
    )


def test_an_agreement_is_for_the_entitlement() -> None:
    household = signed()
    event = household.collect_events()[-1]
    assert isinstance(event, Household.AgreementSigned)
    assert (event.amount, event.entitlement, event.valuation) == (OWED, OWED, "V-0001")
    assert (event.policy, event.policy_version, event.deviation) == ("XC-2018", 1, None)
    assert household.agreement is not None
    assert household.agreement.amount == OWED


def test_an_agreement_for_another_amount_without_a_deviation_is_refused() -> None:
    household = valued()
    refused(
        household,
        RuleViolation,
        "the amount 370000.00 differs from the entitlement 351100.00 under policy XC-2018 "
        "version 1; sign for the entitlement, or give a deviation with a reason and a "
        "supervisor's approval.",
        lambda: household.sign_agreement(
            stamp("s-001", at(10)), "A-0001", "monetary", Decimal("370000.00"), POLICY
        ),
    )


def test_the_entitlement_at_signing_leaves_out_a_lapsed_incentive() -> None:
    household = valued()
    late = datetime(2018, 4, 1, 0, 0, tzinfo=CST)
    refused(
        household,
        RuleViolation,
        "the amount 351100.00 differs from the entitlement 331100.00 under policy XC-2018 "
        "version 1; sign for the entitlement, or give a deviation with a reason and a "
        "supervisor's approval.",
        lambda: household.sign_agreement(stamp("s-001", late), "A-0001", "monetary", OWED, POLICY),
    )
    household.sign_agreement(stamp("s-001", late), "A-0001", "monetary", Decimal("331100"), POLICY)


def test_a_deviation_needs_a_supervisors_approval_on_record() -> None:
    household = valued()
    deviation = Deviation("hardship: disabled resident", "s-020")
    sign = lambda: household.sign_agreement(  # noqa: E731
        stamp("s-001", at(10)), "A-0001", "property_swap", Decimal("370000.00"), POLICY, deviation
    )
    refused(
        household,
        RuleViolation,
        "no supervisor's approval by s-020 on record allows XC-0001 to sign for 370000.00; "
        "a supervisor approves the amount first (agreement approve-deviation), or sign for "
        "the entitlement 351100.00.",
        sign,
    )
    household.approve_deviation(stamp("s-020", at(9)), Decimal("370000.00"), "hardship")
    approval = household.collect_events()[-1]
    assert isinstance(approval, Household.DeviationApproved)
    sign()
    event = household.collect_events()[-1]
    assert isinstance(event, Household.AgreementSigned)
    assert event.amount == Decimal("370000.00")
    assert event.entitlement == OWED
    assert event.deviation == {
        "reason": "hardship: disabled resident",
        "approved_by": "s-020",
        "approval": approval.command,
    }


def test_a_deviation_with_the_entitlement_amount_is_refused() -> None:
    household = valued()
    refused(
        household,
        RuleViolation,
        "the amount equals the entitlement 351100.00; remove the deviation.",
        lambda: household.sign_agreement(
            stamp("s-001", at(10)),
            "A-0001",
            "monetary",
            OWED,
            POLICY,
            Deviation("none really", "s-020"),
        ),
    )


def test_one_agreement_in_force_at_a_time() -> None:
    household = signed()
    refused(
        household,
        RuleViolation,
        "agreement A-0001 of XC-0001 is in force; a supervisor must void it before you "
        "sign another.",
        lambda: household.sign_agreement(
            stamp("s-001", at(11)), "A-0002", "monetary", OWED, POLICY
        ),
    )


# --- voiding ---------------------------------------------------------------


def test_voiding_returns_the_household_to_valued_and_the_number_is_never_reused() -> None:
    household = signed()
    household.void_agreement(stamp("s-020", at(11)), "A-0001", "wrong method")
    assert household.agreement is None
    assert event_names(household)[-1] == "Household.AgreementVoided"
    refused(
        household,
        AlreadyExists,
        "agreement A-0001 was already used for XC-0001; a new agreement needs a new number.",
        lambda: household.sign_agreement(
            stamp("s-001", at(12)), "A-0001", "monetary", OWED, POLICY
        ),
    )
    household.sign_agreement(stamp("s-001", at(12)), "A-0002", "monetary", OWED, POLICY)
    assert household.agreement is not None
    assert household.agreement.agreement == "A-0002"


def test_only_the_agreement_in_force_is_voided() -> None:
    household = valued()
    refused(
        household,
        RuleViolation,
        "XC-0001 has no signed agreement in force.",
        lambda: household.void_agreement(stamp("s-020", at(11)), "A-0001", "x"),
    )
    household = signed()
    refused(
        household,
        RuleViolation,
        "the agreement in force for XC-0001 is A-0001, not A-0000.",
        lambda: household.void_agreement(stamp("s-020", at(11)), "A-0000", "x"),
    )
    refused(
        household,
        RuleViolation,
        "2018-03-10T14:00:00+08:00 is before the signing it voids (2018-03-10T15:00:00+08:00) "
        "for XC-0001; check the time.",
        lambda: household.void_agreement(stamp("s-020", at(10, 14)), "A-0001", "x"),
    )


def test_no_voiding_once_a_payout_was_requested() -> None:
    household = requested(Decimal("1000.00"))
    refused(
        household,
        RuleViolation,
        "agreement A-0001 of XC-0001 has payouts requested against it and cannot be voided.",
        lambda: household.void_agreement(stamp("s-020", at(13)), "A-0001", "x"),
    )


def test_a_new_agreement_may_not_come_before_the_void_of_the_last() -> None:
    household = signed()
    household.void_agreement(stamp("s-020", at(14)), "A-0001", "wrong method")
    with pytest.raises(RuleViolation):
        household.sign_agreement(stamp("s-001", at(12)), "A-0002", "monetary", OWED, POLICY)


# --- the file --------------------------------------------------------------


def test_documents_are_attached_once_each() -> None:
    household = registered()
    household.attach_document(stamp("s-001", at(2)), "id_card", SHA, "id.pdf")
    assert household.missing_documents(REQUIRED) == list(REQUIRED[1:])
    refused(
        household,
        AlreadyExists,
        "the file of XC-0001 already holds this id_card (sha256 ff7103c6ce8f…).",
        lambda: household.attach_document(stamp("s-001", at(3)), "id_card", SHA, "again.pdf"),
    )
    household.attach_document(stamp("s-001", at(3)), "id_card", "0" * 64, "second-side.pdf")
    refused(
        household,
        RuleViolation,
        "2018-03-01T09:00:00+08:00 is before its registration (2018-03-01T09:01:00+08:00) "
        "for XC-0001; check the time.",
        lambda: household.attach_document(stamp("s-001", at(1, 9)), "hukou", SHA, "hukou.pdf"),
    )


# --- payouts ---------------------------------------------------------------


def test_a_payout_needs_an_agreement_in_force() -> None:
    household = with_file(valued())
    refused(
        household,
        RuleViolation,
        "XC-0001 has no signed agreement in force.",
        lambda: household.request_payout(
            stamp("s-001", at(12)), "P-0001", OWED, REQUIRED, [], True
        ),
    )


def test_a_payout_needs_a_complete_file() -> None:
    household = with_file(signed(), ("id_card", "hukou", "survey_form"))
    refused(
        household,
        RuleViolation,
        "the file of XC-0001 is incomplete: missing property_certificate, valuation_report, "
        "agreement, bank_account.",
        lambda: household.request_payout(
            stamp("s-001", at(12)), "P-0001", OWED, REQUIRED, [], True
        ),
    )


def test_an_open_complaint_blocks_a_payout_when_the_policy_says_so() -> None:
    household = with_file(signed())
    refused(
        household,
        RuleViolation,
        "XC-0001 has an open complaint (C-0001); the policy blocks payouts until it is resolved.",
        lambda: household.request_payout(
            stamp("s-001", at(12)), "P-0001", OWED, REQUIRED, ["C-0001"], True
        ),
    )
    household.request_payout(stamp("s-001", at(12)), "P-0001", OWED, REQUIRED, ["C-0001"], False)
    assert event_names(household)[-1] == "Household.PayoutRequested"


def test_payouts_never_exceed_the_agreed_amount_in_total() -> None:
    household = requested(Decimal("300000.00"))
    refused(
        household,
        RuleViolation,
        "a payout of 51100.01 would bring XC-0001's payouts to 351100.01, more than the agreed "
        "351100.00; request at most 51100.00.",
        lambda: household.request_payout(
            stamp("s-001", at(13)), "P-0002", Decimal("51100.01"), REQUIRED, [], True
        ),
    )
    household.request_payout(
        stamp("s-001", at(13)), "P-0002", Decimal("51100.00"), REQUIRED, [], True
    )
    refused(
        household,
        RuleViolation,
        "a payout of 0.01 would bring XC-0001's payouts to 351100.01, more than the agreed "
        "351100.00; request at most 0.00.",
        lambda: household.request_payout(
            stamp("s-001", at(14)), "P-0003", Decimal("0.01"), REQUIRED, [], True
        ),
    )


def test_a_payout_id_is_used_once_and_not_before_the_agreement() -> None:
    household = requested(Decimal("1000.00"))
    refused(
        household,
        AlreadyExists,
        "XC-0001 already has a payout P-0001.",
        lambda: household.request_payout(
            stamp("s-001", at(13)), "P-0001", Decimal("1.00"), REQUIRED, [], True
        ),
    )
    refused(
        household,
        RuleViolation,
        "2018-03-09T10:00:00+08:00 is before the agreement it pays (2018-03-10T15:00:00+08:00) "
        "for XC-0001; check the time.",
        lambda: household.request_payout(
            stamp("s-001", at(9)), "P-0002", Decimal("1.00"), REQUIRED, [], True
        ),
    )


def test_a_confirmed_payout_counts_as_paid() -> None:
    household = requested()
    assert household.paid == Decimal("0")
    household.confirm_payout(stamp("s-040", at(12, 16)), "P-0001", "ICBC-1", REQUIRED, [], True)
    assert household.paid == OWED
    payout = household.payouts["P-0001"]
    assert (payout.requested_by, payout.confirmed_by) == ("s-001", "s-040")


def test_the_requester_never_confirms() -> None:
    household = requested()
    refused(
        household,
        PermissionDenied,
        "s-001 requested payout P-0001 and may not also confirm it; another finance officer must.",
        lambda: household.confirm_payout(
            stamp("s-001", at(12, 16)), "P-0001", "ICBC-1", REQUIRED, [], True
        ),
    )


def test_a_payout_is_confirmed_once() -> None:
    household = requested()
    household.confirm_payout(stamp("s-040", at(12, 16)), "P-0001", "ICBC-1", REQUIRED, [], True)
    refused(
        household,
        RuleViolation,
        "payout P-0001 was already confirmed by s-040.",
        lambda: household.confirm_payout(
            stamp("s-041", at(12, 17)), "P-0001", "ICBC-2", REQUIRED, [], True
        ),
    )


def test_a_confirmation_names_a_requested_payout_and_follows_it() -> None:
    household = requested()
    refused(
        household,
        NotFound,
        "XC-0001 has no payout P-0009.",
        lambda: household.confirm_payout(
            stamp("s-040", at(12, 16)), "P-0009", "ICBC-1", REQUIRED, [], True
        ),
    )
    refused(
        household,
        RuleViolation,
        "2018-03-12T08:00:00+08:00 is before its request (2018-03-12T09:00:00+08:00) "
        "for XC-0001; check the time.",
        lambda: household.confirm_payout(
            stamp("s-040", at(12, 8)), "P-0001", "ICBC-1", REQUIRED, [], True
        ),
    )


def test_a_complaint_opened_after_the_request_blocks_the_confirmation() -> None:
    household = requested()
    refused(
        household,
        RuleViolation,
        "XC-0001 has an open complaint (C-0002, C-0003); the policy blocks payouts until it is "
        "resolved.",
        lambda: household.confirm_payout(
            stamp("s-040", at(12, 16)), "P-0001", "ICBC-1", REQUIRED, ["C-0002", "C-0003"], True
        ),
    )


# --- vacating ----------------------------------------------------------------


def test_vacating_needs_an_agreement_and_happens_once() -> None:
    household = valued()
    refused(
        household,
        RuleViolation,
        "XC-0001 has no signed agreement in force.",
        lambda: household.record_vacated(stamp("s-001", at(15))),
    )
    household = signed()
    refused(
        household,
        RuleViolation,
        "2018-03-10T10:00:00+08:00 is before its agreement (2018-03-10T15:00:00+08:00) "
        "for XC-0001; check the time.",
        lambda: household.record_vacated(stamp("s-001", at(10))),
    )
    # Compensation first, then relocation: moving out before being paid is the
    # household's choice, so it is allowed.
    household.record_vacated(stamp("s-001", at(15)))
    assert household.vacated_at == at(15)
    refused(
        household,
        RuleViolation,
        "XC-0001 was already recorded as vacated.",
        lambda: household.record_vacated(stamp("s-001", at(16))),
    )


# --- complaints --------------------------------------------------------------


def test_a_complaint_is_acknowledged_once() -> None:
    complaint = filed_complaint()
    assert complaint.is_open
    complaint.acknowledge(stamp("s-030", at(9)), "logged")
    assert complaint.acknowledged_at == at(9)
    refused(
        complaint,
        RuleViolation,
        "complaint C-0001 was already acknowledged.",
        lambda: complaint.acknowledge(stamp("s-020", at(10))),
    )


def test_only_an_open_complaint_is_resolved_and_only_a_resolved_one_reopened() -> None:
    complaint = filed_complaint()
    refused(
        complaint,
        RuleViolation,
        "complaint C-0001 is open; only a resolved complaint can be reopened.",
        lambda: complaint.reopen(stamp("s-030", at(9)), "why"),
    )
    complaint.resolve(stamp("s-020", at(13, 17)), "substantiated", "area corrected")
    assert not complaint.is_open
    assert complaint.finding == "substantiated"
    refused(
        complaint,
        RuleViolation,
        "complaint C-0001 is resolved; reopen it before you resolve it.",
        lambda: complaint.resolve(stamp("s-020", at(14)), "partial", "again"),
    )
    refused(
        complaint,
        RuleViolation,
        "complaint C-0001 is resolved; reopen it before you acknowledge it.",
        lambda: complaint.acknowledge(stamp("s-020", at(14))),
    )
    complaint.reopen(stamp("s-030", at(14)), "the head disagrees")
    assert complaint.is_open
    assert complaint.finding is None
    complaint.resolve(stamp("s-020", at(15)), "partial", "second look")
    assert complaint.finding == "partial"
    # (the refusals above collected the events up to the first resolution)
    assert event_names(complaint) == [
        "Complaint.Reopened",
        "Complaint.Resolved",
    ]


def test_nothing_happens_to_a_complaint_before_it_was_filed() -> None:
    complaint = filed_complaint()
    message = (
        "2018-03-08T10:00:00+08:00 is before complaint C-0001 was filed "
        "(2018-03-08T11:00:00+08:00); check the time."
    )
    early = stamp("s-030", at(8, 10))
    refused(complaint, RuleViolation, message, lambda: complaint.acknowledge(early))
    refused(complaint, RuleViolation, message, lambda: complaint.add_note(early, "x"))
    refused(complaint, RuleViolation, message, lambda: complaint.resolve(early, "partial", "x"))


def test_notes_are_added_to_open_and_resolved_complaints() -> None:
    complaint = filed_complaint()
    complaint.add_note(stamp("s-030", at(9)), "called back")
    complaint.resolve(stamp("s-020", at(13)), "unsubstantiated", "measured again")
    complaint.add_note(stamp("s-030", at(14)), "told the head")
    assert event_names(complaint)[-1] == "Complaint.NoteAdded"


def test_a_complaint_is_assigned_to_someone_other_than_whom_it_is_about() -> None:
    complaint = Complaint.file(
        stamp("s-030", at(8, 11)), "C-0002", "hotline", {"staff": "s-021"}, "态度粗暴"
    )
    refused(
        complaint,
        PermissionDenied,
        "complaint C-0002 is about s-021, who may not investigate it: nobody handles a "
        "complaint about themselves; assign another supervisor.",
        lambda: complaint.assign(stamp("s-030", at(9)), "s-021"),
    )
    refused(
        complaint,
        PermissionDenied,
        "complaint C-0002 is about s-021, who may not assign it: nobody handles a complaint "
        "about themselves; someone else must.",
        lambda: complaint.assign(stamp("s-021", at(9)), "s-020"),
    )
    complaint.assign(stamp("s-030", at(9)), "s-020")
    assert complaint.assignee == "s-020"
    refused(
        complaint,
        RuleViolation,
        "complaint C-0002 is already assigned to s-020.",
        lambda: complaint.assign(stamp("s-030", at(10)), "s-020"),
    )
    complaint.resolve(stamp("s-020", at(13)), "unsubstantiated", "查无此事")
    refused(
        complaint,
        RuleViolation,
        "complaint C-0002 is resolved; reopen it before you assign it.",
        lambda: complaint.assign(stamp("s-030", at(14)), "s-022"),
    )


def test_the_ledgers_complaint_id_is_read_out_and_the_callers_contact_only_digested() -> None:
    assert assigned_complaint_code("call-1") == assigned_complaint_code("call-1")
    assert assigned_complaint_code("call-1") != assigned_complaint_code("call-2")
    salt = bytes(16)
    digest = contact_digest(salt, "龚波", "13812345678")
    assert digest.startswith("sha256:") and "13812345678" not in digest
    assert digest != contact_digest(bytes([1]) * 16, "龚波", "13812345678")
    assert digest != contact_digest(salt, "龚波", "13812345679")
    assert parse_phone(" +86 138-1234-5678 ", "caller_phone") == "+86 138-1234-5678"
    with pytest.raises(InvalidInput) as info:
        parse_phone("call me", "caller_phone")
    assert str(info.value) == (
        "caller_phone must be a telephone number of digits (a leading +, spaces and dashes "
        "allowed), such as 13812345678."
    )


def test_a_payout_is_payable_only_as_its_confirmation_would_pass() -> None:
    household = requested()
    # Finance's worklist asks the same rules without a confirmer.
    household.check_payable("P-0001", at(12, 16), REQUIRED, [], True)
    with pytest.raises(PermissionDenied) as info:
        household.check_payable("P-0001", at(12, 16), REQUIRED, [], True, confirmer="s-001")
    assert str(info.value) == (
        "s-001 requested payout P-0001 and may not also confirm it; another finance officer must."
    )
    with pytest.raises(RuleViolation) as blocked:
        household.check_payable("P-0001", at(12, 16), REQUIRED, ["C-0002"], True)
    assert str(blocked.value) == (
        "XC-0001 has an open complaint (C-0002); the policy blocks payouts until it is resolved."
    )
    household.check_payable("P-0001", at(12, 16), REQUIRED, ["C-0002"], False)
    with pytest.raises(NotFound):
        household.check_payable("P-0009", at(12, 16), REQUIRED, [], True)


def test_a_complaint_may_not_be_reopened_before_it_was_resolved() -> None:
    complaint = filed_complaint()
    complaint.resolve(stamp("s-020", at(13)), "substantiated", "area corrected")
    with pytest.raises(RuleViolation):
        complaint.reopen(stamp("s-030", at(10)), "the head disagrees")


# --- policy versions ---------------------------------------------------------


def test_the_first_version_of_a_policy_is_1() -> None:
    with pytest.raises(RuleViolation) as info:
        Policy.publish_first(stamp("admin", at(1)), {**DOCUMENT, "version": 2})
    assert str(info.value) == "policy XC-2018 has no version yet; publish version 1 first."
    policy = Policy.publish_first(stamp("admin", at(1)), DOCUMENT)
    assert policy.latest_version == 1
    assert policy.latest() == POLICY


@pytest.mark.parametrize("version", [1, 3])
def test_the_next_version_is_the_latest_plus_1(version: int) -> None:
    policy = Policy.publish_first(stamp("admin", at(1)), DOCUMENT)
    refused(
        policy,
        RuleViolation,
        "policy XC-2018 is at version 1; a new version must be 2, "
        "and a published version is never changed.",
        lambda: policy.publish(stamp("admin", at(2)), {**DOCUMENT, "version": version}),
    )


def test_a_new_version_does_not_take_effect_earlier() -> None:
    policy = Policy.publish_first(stamp("admin", at(1)), DOCUMENT)
    refused(
        policy,
        RuleViolation,
        "version 2 of policy XC-2018 would take effect before version 1 (2018-03-01); "
        "give a later date.",
        lambda: policy.publish(
            stamp("admin", at(2)), {**DOCUMENT, "version": 2, "effective": "2018-02-28"}
        ),
    )
    policy.publish(stamp("admin", at(2)), {**DOCUMENT, "version": 2, "effective": "2018-03-01"})
    assert policy.latest_version == 2
    assert event_names(policy) == ["Policy.NewVersionPublished"]
    assert policy.version_of(1) == POLICY
    with pytest.raises(RuleViolation) as info:
        policy.version_of(3)
    assert str(info.value) == "policy XC-2018 has no version 3; it has versions 1 to 2."


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 0}, "document.version must be a whole number from 1 to 10000."),
        ({"version": "1"}, "document.version must be a whole number from 1 to 10000."),
        ({"rates": {}}, "document.rates must name at least one rate."),
        (
            {"rates": {"building:simple": 800.0}},
            'document.rates.building:simple must be a decimal string such as "356800.00", '
            "not the number 800.0.",
        ),
        (
            {"per_household": {"moving": "-2000.00"}},
            'document.per_household.moving must not be negative (got "-2000.00").',
        ),
        ({"effective": "March 1"}, 'document.effective "March 1" is not a date such as '
                                   '"2018-03-01".'),
        (
            {"incentives": [{"name": "early", "amount": "1", "signed_by": "2018-03-31T23:59:59"}]},
            'document.incentives[0].signed_by "2018-03-31T23:59:59" has no UTC offset; '
            'add one, such as "2018-03-01T09:00:00+08:00".',
        ),
        (
            {"incentives": [{"name": "e", "amount": "1", "signed_by": "2018-03-31T00:00:00Z"}] * 2},
            "document.incentives must have distinct names.",
        ),
        (
            {"block_payout_on_open_complaint": "yes"},
            "document.block_payout_on_open_complaint must be true or false.",
        ),
    ],
)  # fmt: skip
def test_a_policy_document_is_checked(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        PolicyVersion.from_document({**DOCUMENT, **change})
    assert str(info.value) == message


def test_a_policy_document_gives_complaint_deadlines_with_defaults() -> None:
    assert (POLICY.acknowledge_days, POLICY.resolve_days) == (2, 15)
    custom = PolicyVersion.from_document(
        {**DOCUMENT, "complaint_deadlines": {"acknowledge_days": 1, "resolve_days": 10}}
    )
    assert (custom.acknowledge_days, custom.resolve_days) == (1, 10)
