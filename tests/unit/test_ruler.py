"""One ruler, as pure functions: the entitlement depends on the items and the
version only; a changed rate touches only the households that use it; the
disclosure list lets no full ID number or name out; the policy diff is exact."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.ruler import DISCLOSURE_LABELS, METHODS_ZH, STRUCTURES_ZH, disclosure_csv
from domain import ruler
from domain.policy import Item, PolicyVersion, entitlement
from domain.standard import building_differences, building_differences_zh
from domain.verdict import verdict as judge
from projections import consistency as rm
from projections.households import Signed, Valued
from projections.model import micros
from simulation.programme import GIVEN, SURNAMES
from tests.strategies import policy_document

CST = timezone(timedelta(hours=8))
SIGNED = datetime(2018, 3, 10, 15, 0, tzinfo=CST)
AS_OF = datetime(2018, 3, 31, 12, 0, tzinfo=CST)

DOCUMENT: dict[str, Any] = policy_document(required_documents=["id_card", "agreement"])
POLICY = PolicyVersion.from_document(DOCUMENT)
RATE_KEYS = sorted(DOCUMENT["rates"])


def version(**changes: Any) -> PolicyVersion:
    return PolicyVersion.from_document({**DOCUMENT, **changes})


def valued(valuation: str, items: tuple[Item, ...] | list[Item]) -> Valued:
    """A valuation's timeline entry (by app-1, at SIGNED)."""
    rows = [[i.item, _text(i.quantity), _text(i.value)] for i in items]
    return Valued(
        micros(SIGNED), 1, valuation, "XC-2018", 1, rows, None, "app-1", micros(SIGNED), None, None
    )


def signed(
    agreement: str,
    amount: Decimal,
    owed: Decimal,
    deviation: dict[str, str] | None,
    method: str,
) -> Signed:
    """An agreement's timeline entry (by c1, at SIGNED)."""
    at = micros(SIGNED)
    return Signed(
        at, 2, agreement, str(amount), str(owed), "XC-2018", 1, deviation, method, "c1", at
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --- strategies ----------------------------------------------------------------------

quantities = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
values = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2)


@st.composite
def households(draw: st.DrawFn) -> list[Item]:
    """The items of one valuation: some priced items (each once) and some appraised."""
    priced = draw(st.lists(st.sampled_from(RATE_KEYS), min_size=1, unique=True))
    appraised = draw(st.lists(st.sampled_from(("well", "fruit_trees", "shed")), unique=True))
    return [Item(name, quantity=draw(quantities)) for name in priced] + [
        Item(name, value=draw(values)) for name in appraised
    ]


# --- the entitlement is a pure function ----------------------------------------------


@given(items=households(), data=st.data())
def test_the_order_of_the_items_does_not_change_the_entitlement(
    items: list[Item], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(items))
    first = entitlement(items, POLICY, SIGNED)
    again = entitlement(shuffled, POLICY, SIGNED)
    assert again == first
    assert (
        ruler.pricing("H", shuffled, POLICY, SIGNED)[0]
        == ruler.pricing("H", items, POLICY, SIGNED)[0]
    )


@given(
    programme=st.lists(households(), min_size=1, max_size=12),
    key=st.sampled_from(RATE_KEYS),
    new_rate=st.decimals(min_value=Decimal("1"), max_value=Decimal("9999.99"), places=2),
)
def test_a_changed_rate_changes_only_the_households_whose_items_use_it(
    programme: list[list[Item]], key: str, new_rate: Decimal
) -> None:
    if new_rate == POLICY.rates[key]:
        new_rate += 1
    changed = version(version=2, rates={**DOCUMENT["rates"], key: f"{new_rate:.2f}"})
    assert ruler.rate_changes(POLICY, changed) == (
        ruler.Change("rates", key, f"{POLICY.rates[key]:.2f}", f"{new_rate:.2f}"),
    )
    for items in programme:
        uses = any(i.item == key and i.quantity is not None for i in items)
        before = entitlement(items, POLICY, SIGNED)
        after = entitlement(items, changed, SIGNED)
        assert (after.total != before.total) == uses
        # Line by line: only the line of that rate differs.
        differing = [d.item for d in ruler.compare_lines(before, after) if d.difference]
        assert differing == ([key] if uses else [])
        # And so does the per-unit rate a neighbour would compare.
        own = ruler.pricing("H", items, POLICY, SIGNED)[0].unit_rates
        other = ruler.pricing("H", items, changed, SIGNED)[0].unit_rates
        assert {k for k in own if own[k] != other[k]} == ({key} if uses else set())


def test_unit_rates_are_the_rates_of_the_lines() -> None:
    items = [
        Item("building:brick_concrete", quantity=Decimal("120.50")),
        Item("well", value=Decimal("1500")),
    ]
    pricing, owed = ruler.pricing("H", items, POLICY, SIGNED)
    assert pricing.unit_rates == {"building:brick_concrete": Decimal("3200.00")}
    assert pricing.building_area == Decimal("120.50")
    assert owed.total == Decimal("3200.00") * Decimal("120.50") + 1500 + 14000 + 20000
    assert pricing.entitlement_per_m2 == (owed.total / Decimal("120.50")).quantize(Decimal("0.01"))
    assert pricing.structures == frozenset({"building:brick_concrete"})
    assert pricing.incentives == ("early_signing",)


def test_the_components_add_up_to_the_entitlement() -> None:
    items = [
        Item("building:brick_concrete", quantity=Decimal("100.125")),
        Item("land:homestead", quantity=Decimal("200")),
        Item("well", value=Decimal("1500.00")),
    ]
    owed = entitlement(items, POLICY, SIGNED)
    parts = ruler.components(owed)
    assert parts == {
        "building": Decimal("320400.000"),
        "land": Decimal("100000"),
        "other_priced": Decimal("0.00"),
        "appraised": Decimal("1500.00"),
        "per_household": Decimal("14000.00"),
        "incentives": Decimal("20000.00"),
    }
    assert sum(parts.values()) == owed.total


# --- masking ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张某"),
        ("王", "王某"),
        ("李小龙", "李某"),
        ("欧阳修", "欧阳某"),
        ("司马光", "司马某"),
        ("诸葛亮", "诸葛某"),
        ("上官婉儿", "上官某"),
        ("欧阳", "欧阳某"),
        (" 赵 四 ", "赵某"),
        ("阿不都·热合曼", "阿某"),
    ],
)
def test_a_name_is_masked_to_the_family_name(name: str, masked: str) -> None:
    assert ruler.mask_name(name) == masked


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("211481198903063317", "**************3317"),
        ("21148119890306331X", "**************331X"),
        ("12345", "*2345"),
        ("1234", "****"),
        ("", ""),
        (None, None),
    ],
)
def test_an_id_number_keeps_its_last_four_characters(
    id_number: str | None, masked: str | None
) -> None:
    assert ruler.mask_id_number(id_number) == masked


# Everything the list prints besides the heads' names: labels, places, methods.
STATIC = "".join(
    [
        *(v for labels in DISCLOSURE_LABELS.values() for v in labels.values()),
        *STRUCTURES_ZH.values(),
        *METHODS_ZH.values(),
        "一村二村某",
    ]
)
COMPOUNDS = sorted(ruler.COMPOUND_SURNAMES)
# Given names are drawn from characters that nothing else in the output contains, so
# any one of them in the output is a leak.
GIVEN_CHARS = sorted(set(GIVEN) - set(STATIC) - set(SURNAMES) - {ch for c in COMPOUNDS for ch in c})
# Rates so small that no amount, area or time in the list has five digits in a row:
# a run of five digits can only come from an ID number.
SMALL = PolicyVersion.from_document(
    {
        **DOCUMENT,
        "rates": {
            "building:brick_concrete": "3.00",
            "building:simple": "1.50",
            "land:homestead": "2.00",
        },
        "per_household": {"moving": "100.00"},
        "incentives": [
            {"name": "early_signing", "amount": "50.00", "signed_by": "2018-03-31T23:59:59+08:00"}
        ],
    }
)


@st.composite
def heads(draw: st.DrawFn) -> tuple[str, str, str]:
    """(full name, family name, given name), a fifth of them with a 复姓."""
    family = draw(
        st.one_of(st.sampled_from(COMPOUNDS), st.sampled_from(sorted(set(SURNAMES))))
        if draw(st.integers(0, 4)) == 0
        else st.sampled_from(sorted(set(SURNAMES)))
    )
    given_name = "".join(draw(st.lists(st.sampled_from(GIVEN_CHARS), min_size=1, max_size=3)))
    return family + given_name, family, given_name


small_quantities = st.decimals(min_value=Decimal("1"), max_value=Decimal("99.99"), places=2)


@st.composite
def records(draw: st.DrawFn, n: int) -> rm.Record:
    name, _, _ = draw(heads())
    id_number = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=18, max_size=18)))
    items = [Item("building:brick_concrete", quantity=draw(small_quantities))]
    if draw(st.booleans()):
        items.append(Item("building:simple", quantity=draw(small_quantities)))
    items.append(Item("land:homestead", quantity=draw(small_quantities)))
    if draw(st.booleans()):
        items.append(Item("well", value=draw(st.decimals(0, 999, places=2))))
    valuation = valued(f"V{n}", items)
    record = rm.Record(f"H{n:02d}", "G1", draw(st.sampled_from(("一村", "二村"))), name, id_number)
    record.steps.append(valuation)
    if draw(st.booleans()):
        owed = entitlement(items, SMALL, SIGNED).total
        bonus = draw(st.sampled_from((Decimal(0), Decimal(5))))
        deviation = {"reason": "hardship", "approved_by": "sup-1"} if bonus else None
        record.steps.append(
            signed(
                f"A{n}",
                owed + bonus,
                owed,
                deviation,
                draw(st.sampled_from(("monetary", "property_swap"))),
            )
        )
    return record


@given(
    data=st.data(),
    count=st.integers(min_value=1, max_value=6),
    lang=st.sampled_from(("zh", "en")),
)
def test_the_disclosure_list_lets_out_no_full_id_number_and_no_given_name(
    data: st.DataObject, count: int, lang: str
) -> None:
    listed = [data.draw(records(n)) for n in range(count)]
    document = rm.disclosure_document(listed, rm.Policies([SMALL]), AS_OF)
    outputs = {
        "csv": disclosure_csv(document, lang),
        "json": json.dumps(document, ensure_ascii=False),
    }
    for kind, text in outputs.items():
        assert not re.search(r"[0-9]{5}", text), f"{kind}: a run of five digits"
        leaked = sorted(set(text) & set(GIVEN_CHARS))
        assert not leaked, f"{kind}: given-name characters {leaked}"
        for record in listed:
            assert record.id_number is not None
            assert record.id_number not in text
            assert record.head not in text
            assert ruler.mask_name(record.head) in text
            assert "*" * 14 + record.id_number[-4:] in text
    assert len(document["households"]) == count


def test_the_disclosure_row_has_the_parts_of_the_entitlement() -> None:
    items = (
        Item("building:brick_concrete", quantity=Decimal("100.00")),
        Item("land:homestead", quantity=Decimal("200.00")),
        Item("well", value=Decimal("1500.00")),
    )
    record = rm.Record("XC-0001", "G01", "一村", "欧阳修", "211481198903063317")
    record.steps.append(valued("V", items))
    record.steps.append(
        signed(
            "A",
            Decimal("460500.00"),
            Decimal("455500.00"),
            {"reason": "hardship", "approved_by": "sup-1"},
            "monetary",
        )
    )
    row = rm.disclosure_row(record, rm.Policies([POLICY]), AS_OF)
    assert row == {
        "household": "XC-0001",
        "head": "欧阳某",
        "id_number": "**************3317",
        "group": "G01",
        "village": "一村",
        "building_area_m2": {"brick_concrete": "100.00"},
        "land_area_m2": "200.00",
        "building": "320000.00",
        "land": "100000.00",
        "other_priced": "0.00",
        "appraised": "1500.00",
        "per_household": "14000.00",
        "incentives": "20000.00",
        "entitlement": "455500.00",
        "agreed": "460500.00",
        "difference": "5000.00",
        "method": "monetary",
    }
    unvalued = rm.Record("XC-0002", "G01", "一村", "张三", None)
    assert rm.disclosure_row(unvalued, rm.Policies([POLICY]), AS_OF) is None


# --- the policy diff ----------------------------------------------------------------------


def test_the_policy_diff_lists_exactly_what_changed() -> None:
    new = version(
        version=2,
        effective="2018-03-05",
        title="兴城镇棚户区改造房屋征收补偿方案（修订）",
        rates={
            "building:brick_concrete": "3300.00",
            "building:brick_wood": "2600.0",  # the same rate, written otherwise
            "land:homestead": "500.00",
            "land:collective": "300.00",
        },
        per_household={"moving": "2500.00", "temporary_resettlement": "12000.00"},
        incentives=[
            {
                "name": "early_signing",
                "amount": "20000.00",
                "signed_by": "2018-04-15T23:59:59+08:00",
            },
            {
                "name": "early_vacating",
                "amount": "5000.00",
                "signed_by": "2018-04-30T23:59:59+08:00",
            },
        ],
        required_documents=["id_card", "agreement", "bank_account"],
        complaint_deadlines={"acknowledge_days": 2, "resolve_days": 10},
        block_payout_on_open_complaint=False,
    )
    assert ruler.policy_diff(POLICY, new) == (
        ruler.Change("rates", "building:brick_concrete", "3200.00", "3300.00"),
        ruler.Change("rates", "building:simple", "800.00", None),
        ruler.Change("rates", "land:collective", None, "300.00"),
        ruler.Change("per_household", "moving", "2000.00", "2500.00"),
        ruler.Change(
            "incentives",
            "early_signing",
            "20000.00 if signed by 2018-03-31T23:59:59+08:00",
            "20000.00 if signed by 2018-04-15T23:59:59+08:00",
        ),
        ruler.Change(
            "incentives", "early_vacating", None, "5000.00 if signed by 2018-04-30T23:59:59+08:00"
        ),
        ruler.Change("required_documents", "bank_account", None, "required"),
        ruler.Change("deadlines", "resolve_days", "15", "10"),
        ruler.Change(
            "block_payout_on_open_complaint", "block_payout_on_open_complaint", "true", "false"
        ),
        ruler.Change("effective", "effective", "2018-03-01", "2018-03-05"),
        ruler.Change("title", "title", DOCUMENT["title"], new.title),
    )
    data = ruler.diff_as_data(ruler.policy_diff(POLICY, new))
    assert list(data) == list(ruler.SECTIONS)
    assert data["rates"][1] == {
        "name": "building:simple",
        "change": "removed",
        "old": "800.00",
        "new": None,
    }
    # Backwards, every change turns round; a version against itself has none.
    assert ruler.policy_diff(new, POLICY) == tuple(
        ruler.Change(c.section, c.name, c.new, c.old) for c in ruler.policy_diff(POLICY, new)
    )
    assert ruler.policy_diff(POLICY, POLICY) == ()
    assert ruler.diff_as_data(()) == {section: [] for section in ruler.SECTIONS}


# --- reviews and the verdict -------------------------------------------------------------


def test_item_changes_compare_quantities_by_value() -> None:
    before = [
        Item("building:brick_concrete", quantity=Decimal("120.5")),
        Item("land:homestead", quantity=Decimal("200")),
        Item("well", value=Decimal("1000")),
    ]
    after = [
        Item("building:brick_concrete", quantity=Decimal("124.00")),
        Item("land:homestead", quantity=Decimal("200.00")),
        Item("fruit_trees", value=Decimal("600")),
    ]
    assert ruler.item_changes(before, after) == (
        ruler.ItemChange(
            "building:brick_concrete", Decimal("120.5"), Decimal("124.00"), "quantity"
        ),
        ruler.ItemChange("fruit_trees", None, Decimal("600"), "value"),
        ruler.ItemChange("well", Decimal("1000"), None, "value"),
    )


def _priced(code: str, policy: PolicyVersion, area: str, **extra: Any) -> ruler.Pricing:
    items = [
        Item("building:brick_concrete", quantity=Decimal(area)),
        Item("land:homestead", quantity=Decimal("200")),
    ]
    return ruler.pricing(code, items, policy, SIGNED, **extra)[0]


def test_the_verdict_of_a_household_priced_like_its_peers() -> None:
    own = _priced("H1", POLICY, "100")
    peers = [_priced(f"H{n}", POLICY, str(90 + n)) for n in range(2, 6)]
    verdict = judge(own, peers, {("XC-2018", 1): POLICY})
    assert verdict.same_ruler
    assert verdict.findings == ()
    assert "the same ruler as its 4 peers" in verdict.summary
    assert "not through the rates" in verdict.summary


def test_the_verdict_names_the_version_the_rates_and_the_deviation() -> None:
    newer = version(version=2, rates={**DOCUMENT["rates"], "building:brick_concrete": "3300.00"})
    own = _priced(
        "H1",
        POLICY,
        "100",
        agreed=Decimal("459000.00"),
        deviation_reason="hardship",
        deviation_approved_by="sup-1",
    )
    peers = [_priced(f"H{n}", newer, "100") for n in range(2, 5)]
    verdict = judge(own, peers, {("XC-2018", 1): POLICY, ("XC-2018", 2): newer})
    assert not verdict.same_ruler
    kinds = [f.kind for f in verdict.findings]
    assert kinds == ["policy_version", "deviation"]
    version_finding, deviation = verdict.findings
    assert version_finding.households == ("H2", "H3", "H4")
    assert "3 of 3 peers" in version_finding.text
    assert "building:brick_concrete 3200.00 → 3300.00" in version_finding.text
    assert "5000.00 more than its entitlement 454000.00: hardship (approved by sup-1)" in (
        deviation.text
    )


def test_a_household_with_no_peers_is_told_so() -> None:
    verdict = judge(_priced("H1", POLICY, "100"), [], {("XC-2018", 1): POLICY})
    assert verdict.same_ruler
    assert verdict.summary.startswith("H1 has no peers")


def test_the_verdict_names_the_peers_in_the_minority_and_a_missed_incentive() -> None:
    newer = version(version=2, rates={**DOCUMENT["rates"], "building:brick_concrete": "3300.00"})
    late = datetime(2018, 4, 2, 9, 0, tzinfo=CST)
    items = [Item("building:brick_concrete", quantity=Decimal("100"))]
    own = ruler.pricing("H1", items, newer, late)[0]
    peers = [_priced("H2", POLICY, "100"), *(_priced(f"H{n}", newer, "100") for n in (3, 4))]
    verdict = judge(own, peers, {("XC-2018", 1): POLICY, ("XC-2018", 2): newer}, priced_at=late)
    assert verdict.same_ruler
    assert [(f.kind, f.own, f.households) for f in verdict.findings] == [
        ("peer_policy_version", False, ("H2",)),
        ("incentive", True, ("H3", "H4")),
    ]
    assert "1 peer of 3 (H2) was priced under XC-2018 version 1" in verdict.findings[0].text
    assert "building:brick_concrete 3300.00 → 3200.00" in verdict.findings[0].text
    assert "early_signing incentive (20000.00)" in verdict.findings[1].text
    assert "what sets its amount apart: incentive" in verdict.summary


# --- the verdict in Chinese: the same figures, every finding kind and summary branch -----


def test_the_verdict_of_a_household_priced_like_its_peers_in_chinese() -> None:
    own = _priced("H1", POLICY, "100")
    peers = [_priced(f"H{n}", POLICY, str(90 + n)) for n in range(2, 6)]
    verdict = judge(own, peers, {("XC-2018", 1): POLICY})
    assert verdict.summary_zh == (
        "H1 与其 4 户同类住户用同一把尺子计价：补偿方案 XC-2018 第 1 版，各计价项目每平方米"
        "单价相同（房屋（砖混结构） 3200.00 元、宅基地 500.00 元；4 户同类住户"
        "全部单价与之完全相同），且无偏离标准，也无复核。其每平方米建筑面积的应补偿额与"
        "同类住户的差别，只来自土地面积、评估项目、每户固定补助和奖励，而不是单价。"
    )


def test_the_verdict_names_the_version_the_rates_and_the_deviation_in_chinese() -> None:
    newer = version(version=2, rates={**DOCUMENT["rates"], "building:brick_concrete": "3300.00"})
    own = _priced(
        "H1",
        POLICY,
        "100",
        agreed=Decimal("459000.00"),
        deviation_reason="低保困难户生活补助",
        deviation_approved_by="sup-1",
    )
    peers = [_priced(f"H{n}", newer, "100") for n in range(2, 5)]
    verdict = judge(own, peers, {("XC-2018", 1): POLICY, ("XC-2018", 2): newer})
    assert (
        verdict.summary_zh
        == "H1 与同类住户的计价标准不同：偏离标准、补偿方案版本（详见各项说明）。"
    )
    assert [f.text_zh for f in verdict.findings] == [
        "H1 按补偿方案 XC-2018 第 1 版计价；3 户同类住户全部（H2、H3、H4）按补偿方案 "
        "XC-2018 第 2 版计价，两版单价不同：房屋（砖混结构） 3200.00 → 3300.00；"
        "每平方米单价 房屋（砖混结构） 本户 3200.00 元、对方 3300.00 元。",
        "H1 协议金额 459000.00 元，比应补偿额 454000.00 元多 5000.00 元，偏离标准；"
        "理由：低保困难户生活补助（经 sup-1 批准）。",
    ]


def test_a_household_with_no_peers_is_told_so_in_chinese() -> None:
    verdict = judge(_priced("H1", POLICY, "100"), [], {("XC-2018", 1): POLICY})
    assert verdict.summary_zh == (
        "H1 没有同类住户（本村没有其他已评估、房屋结构同为砖混结构的住户），无从比较。"
    )


def test_the_verdict_names_the_peers_in_the_minority_and_a_missed_incentive_in_chinese() -> None:
    newer = version(version=2, rates={**DOCUMENT["rates"], "building:brick_concrete": "3300.00"})
    late = datetime(2018, 4, 2, 9, 0, tzinfo=CST)
    items = [Item("building:brick_concrete", quantity=Decimal("100"))]
    own = ruler.pricing("H1", items, newer, late)[0]
    peers = [_priced("H2", POLICY, "100"), *(_priced(f"H{n}", newer, "100") for n in (3, 4))]
    verdict = judge(own, peers, {("XC-2018", 1): POLICY, ("XC-2018", 2): newer}, priced_at=late)
    assert verdict.summary_zh == (
        "H1 与其 3 户同类住户用同一把尺子计价：补偿方案 XC-2018 第 2 版，各计价项目每平方米"
        "单价相同（房屋（砖混结构） 3300.00 元；3 户同类住户中没有一户单价与之完全相同），"
        "且无偏离标准；其金额的不同之处：奖励（详见各项说明）。"
    )
    assert [f.text_zh for f in verdict.findings] == [
        "3 户同类住户中有 1 户（H2）按补偿方案 XC-2018 第 1 版计价，而不是 H1 及多数同类住户"
        "所用的补偿方案 XC-2018 第 2 版，两版单价不同：房屋（砖混结构） 3300.00 → "
        "3200.00；每平方米单价 房屋（砖混结构） 本户 3300.00 元、对方 3200.00 元。",
        "提前签约奖励（20000.00 元）限于 2018-03-31T23:59:59+08:00 前签订的协议；H1 于 "
        "2018-04-02T09:00:00+08:00 计价，已过期限，而 3 户同类住户中有 2 户按时签约。",
    ]


def test_the_verdict_of_areas_priced_other_than_surveyed_a_review_and_peers_in_both() -> None:
    items = [Item("building:brick_concrete", quantity=Decimal("100"))]
    surveyed = {"brick_concrete": Decimal("98.00"), "simple": Decimal("12.00")}
    quantities = ruler.Quantities(
        valuation="V-0002",
        differences=tuple(building_differences(surveyed, items)),
        differences_zh=tuple(building_differences_zh(surveyed, items)),
        reason="测量复核后按实测面积计价",
        approved_by="sup-1",
    )
    own = ruler.pricing("H1", items, POLICY, SIGNED, reviews=["V-0002"], quantities=quantities)[0]
    review = ruler.Review(
        valuation="V-0002",
        reviews="V-0001",
        actor="app-2",
        at=SIGNED,
        changes=ruler.item_changes(
            [
                Item("building:brick_concrete", quantity=Decimal("98.00")),
                Item("well", value=Decimal("1000")),
            ],
            items,
        ),
        before=Decimal("445600.00"),
        after=Decimal("451000.00"),
    )
    peers = [
        _priced(
            "H2",
            POLICY,
            "100",
            agreed=Decimal("450000.00"),
            deviation_reason="hardship",
            deviation_approved_by="sup-2",
        ),
        _priced("H3", POLICY, "100", reviews=["V-0009"]),
    ]
    verdict = judge(own, peers, {("XC-2018", 1): POLICY}, [review])
    assert not verdict.same_ruler
    assert [(f.kind, f.own) for f in verdict.findings] == [
        ("quantities", True),
        ("review", True),
        ("peer_deviation", False),
        ("peer_review", False),
    ]
    assert verdict.summary == (
        "H1 was not measured by the same ruler as its peers: its valuation prices other "
        "building areas than its survey measured; what sets it apart: quantities, review "
        "(see the findings)."
    )
    assert verdict.summary_zh == (
        "H1 与同类住户不是用同一把尺子量的：其评估计价的房屋面积与入户调查测量的不符；"
        "不同之处：计价面积与调查不符、复核（详见各项说明）。"
    )
    assert [f.text for f in verdict.findings] == [
        "H1's valuation V-0002 prices other building areas than its survey: "
        "building:brick_concrete 100 m² priced, 98.00 m² surveyed; building:simple not "
        "priced, 12.00 m² surveyed; 测量复核后按实测面积计价 (approved by sup-1).",
        "valuation V-0002 (entered by app-2 on 2018-03-10T15:00:00+08:00) reviews V-0001: "
        "building:brick_concrete 98.00 → 100 m²; well 1000 → (none); the entitlement changed by "
        "+5400.00 (445600.00 → 451000.00); the rates did not change.",
        "peer H2 agreed -4000.00 against its entitlement: hardship (approved by sup-2).",
        "1 peer had a valuation reviewed (H3): a review changes measured quantities or "
        "appraised values, not rates.",
    ]
    assert [f.text_zh for f in verdict.findings] == [
        "H1 的评估 V-0002 计价的房屋面积与入户调查不符：房屋（砖混结构） 计价 100 m²，"
        "调查 98.00 m²；房屋（简易结构） 未计价，调查 12.00 m²；理由：测量复核后按实测面积计价"
        "（经 sup-1 批准）。",
        "评估 V-0002（app-2 于 2018-03-10T15:00:00+08:00 录入）复核评估 V-0001："
        "房屋（砖混结构） 98.00 → 100 m²；水井 1000 → （无）；应补偿额变动 +5400.00 元"
        "（445600.00 元 → 451000.00 元）；单价未变。",
        "同类住户 H2 的协议金额比其应补偿额少 4000.00 元，偏离标准；理由：hardship"
        "（经 sup-2 批准）。",
        "1 户同类住户的评估经过复核（H3）：复核改变的是测量的数量或评估的价值，而不是单价。",
    ]


def test_a_quantities_finding_without_a_reason_says_so_in_both_languages() -> None:
    items = [Item("building:brick_concrete", quantity=Decimal("100"))]
    surveyed = {"brick_concrete": Decimal("98.00")}
    quantities = ruler.Quantities(
        "V-0002",
        tuple(building_differences(surveyed, items)),
        tuple(building_differences_zh(surveyed, items)),
        None,
        None,
    )
    assert quantities.text("H1").endswith(
        "98.00 m² surveyed; with no reason or approval on record."
    )
    assert quantities.text_zh("H1") == (
        "H1 的评估 V-0002 计价的房屋面积与入户调查不符：房屋（砖混结构） 计价 100 m²，"
        "调查 98.00 m²；无理由，也无批准记录。"
    )
