"""The one-ruler reads over a real ledger: a programme with exactly one deviation,
one household valued under an older version and one review is reported with
exactly those three; a programme that follows the ruler gives an empty report;
dispute figures by hand; a what-if and a new policy version change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain.errors import NotFound, RuleViolation
from domain.household import Household
from domain.values import id_number_check
from ledger.application import Ledger
from ledger.commands import parse_command
from ledger.reads import Reads
from projections import consistency as rm
from simulation.programme import POLICY
from tests.credentials import ADMIN

CST = timezone(timedelta(hours=8))
AS_OF = datetime(2018, 3, 31, 12, 0, tzinfo=CST)
# The auditor's checks (issue 17), each a section of the report.
CHECKS = (
    "quantities",
    "revaluations",
    "shared_id_numbers",
    "invalid_id_numbers",
    "unapproved_deviations",
    "vacated_before_paid",
)
HOUSEHOLDS = ("H01", "H02", "H03", "H04", "H05", "H06")
HEADS = ("欧阳修", "张三", "李四", "王五", "赵六", "钱七")
VERSION_2 = {
    **POLICY,
    "version": 2,
    "effective": "2018-03-04",
    "rates": {**POLICY["rates"], "building:brick_concrete": "3300.00"},
}


def id_number(n: int) -> str:
    """A valid resident ID number (GB 11643 check digit), one per n."""
    body = f"21148119800101{n:03d}"
    return body + id_number_check(body)


def at(day: int, hour: int = 9) -> str:
    return datetime(2018, 3, day, hour, 0, tzinfo=CST).isoformat()


class Commands:
    def __init__(self, prefix: str = "t") -> None:
        self.prefix = prefix
        self.lines: list[dict[str, Any]] = []

    def add(self, cmd: str, actor: str, when: str, **fields: Any) -> None:
        self.lines.append(
            {
                "id": f"{self.prefix}-{len(self.lines):04d}",
                "cmd": cmd,
                "actor": actor,
                "at": when,
                **fields,
            }
        )

    def value(self, household: str, day: int, version: int, area: str, **extra: Any) -> None:
        self.add(
            "record_valuation",
            "app-1",
            at(day, 10),
            household=household,
            valuation=extra.pop("valuation", f"V-{household}"),
            policy="XC-2018",
            policy_version=version,
            items=[
                {"item": "building:brick_concrete", "quantity": area},
                {"item": "land:homestead", "quantity": "200.00"},
            ],
            **extra,
        )

    def sign(self, household: str, amount: str, **extra: Any) -> None:
        self.add(
            "sign_agreement",
            "c1",
            at(10),
            household=household,
            agreement=f"A-{household}",
            method="monetary",
            amount=amount,
            **extra,
        )


def set_up(c: Commands) -> None:
    c.add("publish_policy", "admin", at(1, 8), document=POLICY)
    c.add("add_village", "admin", at(1, 8), village="一村")
    c.add("create_group", "admin", at(1), group="G01", name="第一工作组")
    c.add("enroll_staff", "admin", at(1), staff="c1", name="周清", role="clerk", group="G01")
    c.add("enroll_staff", "admin", at(1), staff="app-1", name="吴评", role="appraiser")
    c.add("enroll_staff", "admin", at(1), staff="sup-1", name="郑督", role="supervisor")
    for n, (code, head) in enumerate(zip(HOUSEHOLDS, HEADS, strict=True)):
        c.add(
            "register_household",
            "admin",
            at(1, 10),
            household=code,
            group="G01",
            village="一村",
            head=head,
            id_number=id_number(n),
        )
        c.add(
            "record_survey",
            "c1",
            at(2),
            household=code,
            residents=3,
            building_area_m2={"brick_concrete": "100.00"},
            land_area_m2="200.00",
        )


def ruler_programme() -> list[dict[str, Any]]:
    """Everyone valued under version 1 and signed for the entitlement: 100 m² of
    brick-concrete at 3200.00, 200 m² of land at 500.00, 14000.00 per household
    and 20000.00 for signing early = 454000.00."""
    c = Commands()
    set_up(c)
    for code in HOUSEHOLDS:
        c.value(code, 3, 1, "100.00")
        c.sign(code, "454000.00")
    return c.lines


def departing_programme() -> list[dict[str, Any]]:
    """Version 2 (brick-concrete 3300.00) in effect from the 4th; H01 is valued
    under version 1 on the 5th anyway; H02 signs 5000.00 above its entitlement;
    H03's valuation is reviewed (100 → 103.50 m²); the others follow version 2."""
    c = Commands()
    set_up(c)
    c.add("publish_policy", "admin", at(4, 8), document=VERSION_2)
    c.value("H01", 5, 1, "100.00")
    for code in HOUSEHOLDS[1:]:
        c.value(code, 5, 2, "100.00")
    c.add(
        "record_survey",
        "c1",
        at(6, 9),
        household="H03",
        residents=3,
        building_area_m2={"brick_concrete": "103.50"},
        land_area_m2="200.00",
        reason="复核重新丈量",
    )
    c.value("H03", 6, 2, "103.50", valuation="V-H03-R", reviews="V-H03")
    c.sign("H01", "454000.00")
    c.add(
        "approve_deviation",
        "sup-1",
        at(9),
        household="H02",
        amount="469000.00",
        reason="低保困难户生活补助",
        approval="AP-H02",
    )
    c.sign(
        "H02",
        "469000.00",
        deviation={"reason": "低保困难户生活补助", "approved_by": "sup-1"},
    )
    c.sign("H03", "475550.00")
    for code in HOUSEHOLDS[3:]:
        c.sign(code, "464000.00")
    return c.lines


def load(ledger: Ledger, lines: list[dict[str, Any]]) -> None:
    refusals = ledger.execute_batch([parse_command(line) for line in lines], ADMIN)
    assert [str(r) for r in refusals if r is not None] == []


def stored_events(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


def report(ledger: Ledger) -> dict[str, Any]:
    return Reads(ledger).consistency(AS_OF)


def dispute(ledger: Ledger, code: str, other: int | None = None) -> dict[str, Any]:
    return Reads(ledger).dispute(code, AS_OF, other)


# --- the consistency report ---------------------------------------------------------


def test_a_programme_that_follows_the_ruler_gives_an_empty_report(ledger: Ledger) -> None:
    load(ledger, ruler_programme())
    document = report(ledger)
    assert document == {
        "as_of": AS_OF.isoformat(),
        "deviations": [],
        "entered_for_others": [],
        "policy_versions": [],
        "reviews": [],
        "voided": [],
        **{section: [] for section in CHECKS},
    }
    assert rm.is_empty(document)


def test_the_report_lists_exactly_the_deviation_the_old_version_and_the_review(
    ledger: Ledger,
) -> None:
    load(ledger, departing_programme())
    document = report(ledger)
    assert document["deviations"] == [
        {
            "household": "H02",
            "group": "G01",
            "village": "一村",
            "agreement": "A-H02",
            "signed_at": at(10),
            "signed_by": "c1",
            "policy": "XC-2018",
            "version": 2,
            "entitlement": "464000.00",
            "agreed": "469000.00",
            "difference": "5000.00",
            "reason": "低保困难户生活补助",
            "approved_by": "sup-1",
            # The supervisor's approval on record, which the agreement names.
            "approval_recorded_at": at(9),
            "approval": "AP-H02",
        }
    ]
    assert document["policy_versions"] == [
        {
            "household": "H01",
            "group": "G01",
            "village": "一村",
            "valuation": "V-H01",
            "valued_at": at(5, 10),
            "valued_by": "app-1",
            "policy": "XC-2018",
            "version": 1,
            "in_force": {"policy": "XC-2018", "version": 2},
            "village_households": {"in_force": 5, "valued": 6},
            # Version 2 was already in effect: a mistake, not a transition.
            "latest_effective_at_valuation": 2,
            "rate_changes": [
                {
                    "name": "building:brick_concrete",
                    "change": "changed",
                    "old": "3200.00",
                    "new": "3300.00",
                }
            ],
        }
    ]
    assert document["reviews"] == [
        {
            "household": "H03",
            "group": "G01",
            "village": "一村",
            "valuation": "V-H03-R",
            "reviews": "V-H03",
            "reviewed_at": at(6, 10),
            "reviewed_by": "app-1",
            "changes": [
                {
                    "item": "building:brick_concrete",
                    "unit": "quantity",
                    "before": "100.00",
                    "after": "103.50",
                }
            ],
            # 3.5 m² x 3300.00 = 11550.00
            "entitlement_before": "464000.00",
            "entitlement_after": "475550.00",
            "difference": "11550.00",
            "dropped": [],
            "dropped_reason": None,
        }
    ]
    assert document["voided"] == []
    assert all(document[section] == [] for section in CHECKS)


def test_a_voided_and_signed_again_agreement_is_listed_with_who_voided_it(
    ledger: Ledger,
) -> None:
    lines = ruler_programme()
    c = Commands()
    c.lines = lines
    c.add(
        "void_agreement",
        "sup-1",
        at(10, 11),
        household="H04",
        agreement="A-H04",
        reason="合同面积抄写错误，作废重签",
    )
    c.add(
        "sign_agreement",
        "c1",
        at(10, 12),
        household="H04",
        agreement="A-H04-2",
        method="property_swap",
        amount="454000.00",
    )
    load(ledger, c.lines)
    document = report(ledger)
    assert document["voided"] == [
        {
            "household": "H04",
            "group": "G01",
            "village": "一村",
            "agreement": "A-H04",
            "amount": "454000.00",
            "voided_at": at(10, 11),
            "voided_by": "sup-1",
            "reason": "合同面积抄写错误，作废重签",
            "re_signed": {
                "agreement": "A-H04-2",
                "amount": "454000.00",
                "signed_at": at(10, 12),
                "difference": "0.00",
            },
        }
    ]
    assert document["deviations"] == document["policy_versions"] == document["reviews"] == []


# --- dispute ------------------------------------------------------------------------------


def test_dispute_of_the_household_under_the_older_version_by_hand(ledger: Ledger) -> None:
    load(ledger, departing_programme())
    d = dispute(ledger, "H01")
    assert d["policy"] == {
        "policy": "XC-2018",
        "version": 1,
        "effective": "2018-03-01",
        "title": POLICY["title"],
    }
    assert d["lines"] == [
        {
            "kind": "rate",
            "item": "building:brick_concrete",
            "quantity": "100.00",
            "rate": "3200.00",
            "amount": "320000.00",
            "condition": None,
            "condition_zh": None,
        },
        {
            "kind": "rate",
            "item": "land:homestead",
            "quantity": "200.00",
            "rate": "500.00",
            "amount": "100000.00",
            "condition": None,
            "condition_zh": None,
        },
        {
            "kind": "per_household",
            "item": "moving",
            "quantity": None,
            "rate": None,
            "amount": "2000.00",
            "condition": None,
            "condition_zh": None,
        },
        {
            "kind": "per_household",
            "item": "temporary_resettlement",
            "quantity": None,
            "rate": None,
            "amount": "12000.00",
            "condition": None,
            "condition_zh": None,
        },
        {
            "kind": "incentive",
            "item": "early_signing",
            "quantity": None,
            "rate": None,
            "amount": "20000.00",
            "condition": "signed by 2018-03-31T23:59:59+08:00",
            "condition_zh": "2018-03-31T23:59:59+08:00 前签约",
        },
    ]
    assert d["entitlement"] == "454000.00"
    assert d["entitlement_per_m2"] == "4540.00"
    assert d["agreement"]["amount"] == "454000.00"
    assert d["agreement"]["deviation"] is None
    assert d["agreement"]["signed_by"] == "c1"
    assert [s["step"] for s in d["record"]] == ["survey", "valuation", "agreement"]
    assert d["record"][1]["actor"] == "app-1"
    assert d["record"][1]["occurred_at"] == at(5, 10)
    peers = {p["household"]: p for p in d["peers"]["households"]}
    assert sorted(peers) == ["H02", "H03", "H04", "H05", "H06"]
    for peer in peers.values():
        assert peer["version"] == 2
        assert peer["rates"] == {"building:brick_concrete": "3300.00", "land:homestead": "500.00"}
    assert peers["H04"]["entitlement"] == "464000.00"
    assert peers["H04"]["entitlement_per_m2"] == "4640.00"
    # 475550.00 / 103.50 = 4594.6859... → 4594.69
    assert peers["H03"]["entitlement_per_m2"] == "4594.69"
    assert peers["H03"]["reviewed"] == ["V-H03-R"]
    assert peers["H02"]["deviation"] == {
        "difference": "5000.00",
        "reason": "低保困难户生活补助",
        "approved_by": "sup-1",
    }
    verdict = d["verdict"]
    assert verdict["same_ruler"] is False
    kinds = [f["kind"] for f in verdict["findings"]]
    assert kinds == ["policy_version", "peer_deviation", "peer_review"]
    text = verdict["findings"][0]["text"]
    assert "H01 was priced under XC-2018 version 1; 5 of 5 peers" in text
    assert "building:brick_concrete 3200.00 → 3300.00" in text
    assert d["what_if"] is None


def test_dispute_of_the_deviation_and_of_the_review(ledger: Ledger) -> None:
    load(ledger, departing_programme())
    deviation = dispute(ledger, "H02")
    assert deviation["agreement"]["deviation"] == {
        "difference": "5000.00",
        "reason": "低保困难户生活补助",
        "approved_by": "sup-1",
    }
    findings = deviation["verdict"]["findings"]
    # H02 is with the majority of its peers (version 2); H01 is the one that departs.
    assert [(f["kind"], f["own"]) for f in findings] == [
        ("peer_policy_version", False),
        ("deviation", True),
        ("peer_review", False),
    ]
    assert findings[0]["households"] == ["H01"]
    assert "1 peer of 5 (H01) was priced under XC-2018 version 1" in findings[0]["text"]
    assert "469000.00, 5000.00 more than its entitlement 464000.00" in findings[1]["text"]
    assert deviation["verdict"]["summary"] == (
        "H02 was priced differently from its peers: deviation (see the findings)."
    )

    review = dispute(ledger, "H03")
    assert review["valuation"]["valuation"] == "V-H03-R"
    assert [s["step"] for s in review["record"]] == [
        "survey",
        "valuation",
        "survey",
        "review",
        "agreement",
    ]
    assert [review["record"][n]["entitlement"] for n in (1, 3)] == ["464000.00", "475550.00"]
    findings = {f["kind"]: f for f in review["verdict"]["findings"]}
    assert "building:brick_concrete 100.00 → 103.50 m²" in findings["review"]["text"]
    assert "+11550.00" in findings["review"]["text"]


def test_what_if_prices_the_same_items_under_another_version_and_writes_nothing(
    ledger: Ledger,
) -> None:
    load(ledger, departing_programme())
    before = stored_events(ledger)
    d = dispute(ledger, "H01", 2)
    assert stored_events(ledger) == before
    w = d["what_if"]
    assert (w["version"], w["entitlement"], w["other_entitlement"], w["difference"]) == (
        2,
        "454000.00",
        "464000.00",
        "10000.00",
    )
    assert [(r["item"], r["rate"], r["other_rate"], r["difference"]) for r in w["lines"]] == [
        ("building:brick_concrete", "3200.00", "3300.00", "10000.00"),
        ("land:homestead", "500.00", "500.00", "0.00"),
        ("moving", None, None, "0.00"),
        ("temporary_resettlement", None, None, "0.00"),
        ("early_signing", None, None, "0.00"),
    ]
    assert w["changes"]["rates"] == [
        {"name": "building:brick_concrete", "change": "changed", "old": "3200.00", "new": "3300.00"}
    ]
    # The household's own figures are untouched by the what-if.
    assert d["entitlement"] == "454000.00"
    assert d["policy"]["version"] == 1


def test_publishing_a_new_version_never_changes_what_earlier_valuations_were_priced_under(
    ledger: Ledger,
) -> None:
    lines = ruler_programme()
    # H06 is valued but not yet signed: its entitlement is computed, not stored.
    lines = [ln for ln in lines if not (ln["cmd"] == "sign_agreement" and ln["household"] == "H06")]
    load(ledger, lines)
    as_of = AS_OF
    disputes = {code: dispute(ledger, code) for code in ("H01", "H06")}
    shown = {code: Reads(ledger).household(code, as_of) for code in ("H01", "H06")}

    c = Commands("later")
    c.add(
        "publish_policy",
        "admin",
        at(20, 8),
        document={
            **VERSION_2,
            "effective": "2018-03-20",
            "rates": {**POLICY["rates"], "building:brick_concrete": "4000.00"},
            "per_household": {"moving": "5000.00", "temporary_resettlement": "12000.00"},
        },
    )
    load(ledger, c.lines)

    for code in ("H01", "H06"):
        again = dispute(ledger, code)
        assert again["policy"]["version"] == 1
        assert again["lines"] == disputes[code]["lines"]
        assert again["entitlement"] == disputes[code]["entitlement"]
        assert Reads(ledger).household(code, as_of) == shown[code]
    events = ledger.household_record("H01")[0]
    valued = [e for e in events if isinstance(e, Household.Valued)]
    assert [(e.policy, e.policy_version) for e in valued] == [("XC-2018", 1)]
    assert rm.is_empty(report(ledger))


def test_dispute_refuses_a_version_never_published_and_a_household_not_valued(
    ledger: Ledger,
) -> None:
    load(ledger, departing_programme())
    with pytest.raises(
        RuleViolation, match=r"^policy XC-2018 has no version 3; it has versions 1 to 2\.$"
    ):
        dispute(ledger, "H01", 3)
    early = datetime(2018, 3, 2, 23, 0, tzinfo=CST)
    with pytest.raises(RuleViolation, match="H01 has no valuation as of"):
        Reads(ledger).dispute("H01", early)
    with pytest.raises(NotFound, match="H01 was not yet registered at"):
        Reads(ledger).dispute("H01", datetime(2018, 2, 1, tzinfo=CST))


def test_peers_are_the_same_village_and_the_same_structure_types(ledger: Ledger) -> None:
    c = Commands()
    set_up(c)
    for code in HOUSEHOLDS:
        c.value(code, 3, 1, "100.00")
    # H06 also has brick-wood rooms; H07 lives in another village.
    c.add(
        "record_survey",
        "c1",
        at(4, 9),
        household="H06",
        residents=3,
        building_area_m2={"brick_concrete": "100.00", "brick_wood": "20.00"},
        land_area_m2="200.00",
        reason="漏测砖木结构",
    )
    c.value("H06", 4, 1, "100.00", valuation="V-H06-R", reviews="V-H06")
    c.lines[-1]["items"].append({"item": "building:brick_wood", "quantity": "20.00"})
    c.add("add_village", "admin", at(1, 9), village="二村")
    c.add(
        "register_household",
        "admin",
        at(1, 10),
        household="H07",
        group="G01",
        village="二村",
        head="孙八",
    )
    c.add(
        "record_survey",
        "c1",
        at(2),
        household="H07",
        residents=2,
        building_area_m2={"brick_concrete": "100.00"},
        land_area_m2="200.00",
    )
    c.value("H07", 3, 1, "100.00")
    load(ledger, c.lines)
    d = dispute(ledger, "H01")
    assert [p["household"] for p in d["peers"]["households"]] == ["H02", "H03", "H04", "H05"]
    assert d["structures"] == ["building:brick_concrete"]
    lonely = dispute(ledger, "H06")
    assert lonely["peers"]["count"] == 0
    assert lonely["verdict"]["summary"].startswith("H06 has no peers")
    # Not signed: incentives are judged at the as-of moment (before the deadline here).
    assert d["priced_at"] == AS_OF.isoformat()
    assert d["entitlement"] == "454000.00"
    assert d["agreement"] is None


def test_a_deviation_approved_by_the_supervisor_in_the_record_says_so(ledger: Ledger) -> None:
    lines = departing_programme()
    signing = next(i for i, line in enumerate(lines) if line.get("agreement") == "A-H02")
    approval = {
        "id": "t-approval",
        "cmd": "approve_deviation",
        "actor": "sup-1",
        "at": at(9, 16),
        "household": "H02",
        "amount": "469000.00",
        "reason": "低保困难户生活补助",
    }
    load(ledger, [*lines[:signing], approval, *lines[signing:]])
    document = report(ledger)
    # The latest approval of the amount by the signing is the one the agreement names.
    assert [
        (d["household"], d["approval_recorded_at"], d["approval"]) for d in document["deviations"]
    ] == [("H02", at(9, 16), "t-approval")]
