"""The domain's rules of identity (specs/identity.md): a staff member's standing over
business time, separation of duties on who acted and who entered, the rules a new
password must meet, and events stored before entered_by read as entered by their actor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from domain.account import COMMON_PASSWORDS, check_password_rules
from domain.base import Recorded, Stamp
from domain.complaint import Complaint
from domain.errors import InvalidInput, PermissionDenied, RuleViolation
from domain.programme import Staff
from domain.roles import Actor
from tests.unit.test_domain_rules import (
    OWED,
    RECORDED,
    REQUIRED,
    at,
    refused,
    signed,
    stamp,
    with_file,
)


def entered(actor: str, by: str, when: datetime, command: str = "cmd-1") -> Stamp:
    return Stamp(actor, when, command, RECORDED, by)


def clerk() -> Staff:
    return Staff.enroll(stamp("admin", at(1, 8)), "s-001", "李明", "clerk", "G01")


# --- standing over time ----------------------------------------------------------------


def test_an_act_is_judged_by_the_standing_in_force_at_its_business_time() -> None:
    staff = clerk()
    staff.transfer(stamp("admin", at(5)), "G02", "支援二组")
    staff.change_role(stamp("admin", at(10)), "finance", "调任财务")
    staff.suspend(stamp("admin", at(15)), "调查期间停职")
    staff.reinstate(stamp("admin", at(20)), "调查结束")
    assert staff.as_actor(at(4)) == Actor("s-001", "clerk", "G01")
    assert staff.as_actor(at(5)) == Actor("s-001", "clerk", "G02")
    assert staff.as_actor(at(12)) == Actor("s-001", "finance", "G02")
    assert staff.as_actor(at(21)) == Actor("s-001", "finance", "G02")
    with pytest.raises(PermissionDenied) as refusal:
        staff.as_actor(at(16))
    assert str(refusal.value) == (
        "s-001 was suspended on 2018-03-15T10:00:00+08:00 (调查期间停职) and may not act at "
        "2018-03-16T10:00:00+08:00; they act again once reinstated."
    )
    staff.check_may_enter()  # reinstated: may enter now


def test_a_suspended_staff_member_may_not_enter_until_reinstated() -> None:
    staff = clerk()
    staff.suspend(stamp("admin", at(15)), "调查期间停职")
    refused(
        staff,
        PermissionDenied,
        "s-001 is suspended (since 2018-03-15T10:00:00+08:00: 调查期间停职) and may not enter "
        "commands; they may once reinstated.",
        staff.check_may_enter,
    )
    # What they did before the suspension is still theirs to have done.
    assert staff.as_actor(at(14)).role == "clerk"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda s: s.suspend(stamp("admin", at(1, 7)), "x"), RuleViolation,
         "2018-03-01T07:00:00+08:00 is before s-001's last change of standing "
         "(2018-03-01T08:00:00+08:00); check the time."),
        (lambda s: s.reinstate(stamp("admin", at(2)), "x"), RuleViolation,
         "s-001 is not suspended; only a suspended staff member is reinstated."),
        (lambda s: s.change_role(stamp("admin", at(2)), "clerk", "x"), RuleViolation,
         "s-001 is already clerk staff."),
        (lambda s: s.transfer(stamp("admin", at(2)), "G01", "x"), RuleViolation,
         "s-001 is already in group G01."),
    ],
)  # fmt: skip
def test_a_change_of_standing_that_changes_nothing_or_goes_back_in_time_is_refused(
    change: Any, error: type[Exception], message: str
) -> None:
    staff = clerk()
    refused(staff, error, message, lambda: change(staff))


def test_a_change_is_not_dated_before_the_last_and_a_suspension_not_repeated() -> None:
    staff = clerk()
    staff.suspend(stamp("admin", at(10)), "调查")
    refused(
        staff,
        RuleViolation,
        "s-001 is already suspended (since 2018-03-10T10:00:00+08:00).",
        lambda: staff.suspend(stamp("admin", at(11)), "again"),
    )
    refused(
        staff,
        RuleViolation,
        "2018-03-09T10:00:00+08:00 is before s-001's last change of standing "
        "(2018-03-10T10:00:00+08:00); check the time.",
        lambda: staff.reinstate(stamp("admin", at(9)), "early"),
    )


def test_a_staff_member_without_a_group_becomes_a_clerk_only_once_in_one() -> None:
    staff = Staff.enroll(stamp("admin", at(1, 8)), "s-010", "赵评", "appraiser", None)
    refused(
        staff,
        RuleViolation,
        "s-010 has no group, and a clerk needs one: transfer them to a group first.",
        lambda: staff.change_role(stamp("admin", at(2)), "clerk", "x"),
    )
    staff.transfer(stamp("admin", at(2)), "G01", "x")
    staff.change_role(stamp("admin", at(3)), "clerk", "x")
    assert staff.as_actor(at(3)) == Actor("s-010", "clerk", "G01")


# --- separation of duties ----------------------------------------------------------------


def requested_by_admin_for(clerk: str) -> Any:
    household = with_file(signed())
    household.request_payout(entered(clerk, "s-041", at(12, 9)), "P-0001", OWED, REQUIRED, [], True)
    return household


def test_whoever_entered_a_payouts_request_never_confirms_it() -> None:
    household = requested_by_admin_for("s-001")
    refused(
        household,
        PermissionDenied,
        "s-041 entered the request of payout P-0001 and may not also confirm it; another "
        "finance officer must.",
        lambda: household.confirm_payout(
            stamp("s-041", at(12, 16)), "P-0001", "ICBC-1", REQUIRED, [], True
        ),
    )
    household.confirm_payout(stamp("s-040", at(12, 16)), "P-0001", "ICBC-1", REQUIRED, [], True)


def about_staff(subject: str) -> Complaint:
    return Complaint.file(
        stamp("s-030", at(8, 11)), "C-0009", "hotline", {"staff": subject}, "态度"
    )


@pytest.mark.parametrize(
    ("to_do", "call"),
    [
        ("acknowledge", lambda c, s: c.acknowledge(s, "seen")),
        ("add to", lambda c, s: c.add_note(s, "more")),
        ("resolve", lambda c, s: c.resolve(s, "unsubstantiated", "nothing found")),
    ],
)
@pytest.mark.parametrize("as_", ["actor", "enterer"])
def test_nobody_handles_a_complaint_about_themselves(to_do: str, call: Any, as_: str) -> None:
    complaint = about_staff("s-020")
    who = entered("s-020", "admin", at(9)) if as_ == "actor" else entered("s-021", "s-020", at(9))
    refused(
        complaint,
        PermissionDenied,
        f"complaint C-0009 is about s-020, who may not {to_do} it: nobody handles a "
        "complaint about themselves; someone else must.",
        lambda: call(complaint, who),
    )
    call(complaint, entered("s-021", "s-021", at(9)))


# --- passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short one", "the password has 9 characters; give at least 10 (a few words make a "
                      "long one that is easy to remember)."),
        ("qwertyuiop", "that password is one of the most common ones, which are tried first; "
                       "choose another."),
        ("Password", "that password is one of the most common ones, which are tried first; "
                     "choose another."),
        ("S-001-LIMING", None),
        ("s-0000000001", None),
    ],
)  # fmt: skip
def test_a_new_password_is_long_uncommon_and_not_the_staff_id(
    password: str, message: str | None
) -> None:
    if message is None:
        check_password_rules("s-001", password)
        return
    with pytest.raises(InvalidInput) as refusal:
        check_password_rules("s-001", password)
    assert str(refusal.value) == message


def test_the_staff_id_itself_is_no_password() -> None:
    with pytest.raises(InvalidInput) as refusal:
        check_password_rules("G01-clerk-01", "g01-CLERK-01")
    assert (
        str(refusal.value) == "the password may not be the staff id G01-clerk-01; choose another."
    )
    assert len(COMMON_PASSWORDS) == 20


# --- events stored before entered_by --------------------------------------------------------


def test_an_event_stored_before_entered_by_reads_as_entered_by_its_actor() -> None:
    state: dict[str, Any] = {"actor": "s-001", "command": "xc-0014"}
    Recorded.upcast_v1_v2(state)
    assert state == {"actor": "s-001", "command": "xc-0014", "entered_by": "s-001"}
    assert Recorded.class_version == 2
