"""The entitlement of DOMAIN.md by hand-computed figures, and its properties:
rates x quantities + appraised values + per-household amounts + incentives whose
signed_by holds at signing, rounded to the fen half up once at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.policy import Item, Line, PolicyVersion, entitlement
from domain.values import format_yuan, parse_amount, parse_quantity, to_fen
from tests.strategies import policy_document

CST = timezone(timedelta(hours=8))
SIGNED_BY = datetime(2018, 3, 31, 23, 59, 59, tzinfo=CST)
EARLY = datetime(2018, 3, 10, 15, 0, tzinfo=CST)
LATE = datetime(2018, 4, 2, 9, 0, tzinfo=CST)

DOCUMENT: dict[str, Any] = policy_document(required_documents=["id_card"])
POLICY = PolicyVersion.from_document(DOCUMENT)
RATE_KEYS = sorted(DOCUMENT["rates"])


def q(item: str, quantity: str) -> Item:
    return Item(item, quantity=Decimal(quantity))


def v(item: str, value: str) -> Item:
    return Item(item, value=Decimal(value))


def total(items: list[Item], signed_at: datetime = EARLY, policy: PolicyVersion = POLICY) -> str:
    return format_yuan(entitlement(items, policy, signed_at).total)


# --- by hand -----------------------------------------------------------------


def test_the_sample_household_xc_0001() -> None:
    # 95.50 x 3200 = 305600.00; 20.00 x 500 = 10000.00; well 1500.00;
    # moving 2000.00 + temporary resettlement 12000.00; early signing 20000.00.
    items = [q("building:brick_concrete", "95.50"), q("land:homestead", "20.00"), v("well", "1500")]
    assert total(items) == "351100.00"
    # Signed after 31 March: no incentive, 351100.00 - 20000.00.
    assert total(items, LATE) == "331100.00"


def test_every_rate_is_applied_to_its_own_quantity() -> None:
    # 10 x 3200 + 10 x 2600 + 10 x 800 + 10 x 500 = 71000; + 14000 + 20000 = 105000.
    items = [q(key, "10") for key in RATE_KEYS]
    assert total(items) == "105000.00"
    # 0.5 x 2600 = 1300; 12.25 x 800 = 9800; + 14000, signed late = 25100.
    assert total([q("building:brick_wood", "0.5"), q("building:simple", "12.25")], LATE) == (
        "25100.00"
    )


def test_the_lines_say_what_each_part_is() -> None:
    result = entitlement(
        [v("well", "1500.00"), q("land:homestead", "20.00"), q("building:brick_concrete", "95.50")],
        POLICY,
        EARLY,
    )
    assert (result.policy, result.version, result.total) == ("XC-2018", 1, Decimal("351100.00"))
    assert result.lines == (
        Line("rate", "building:brick_concrete", Decimal("305600.0000"), Decimal("95.50"),
             Decimal("3200.00")),
        Line("rate", "land:homestead", Decimal("10000.0000"), Decimal("20.00"), Decimal("500.00")),
        Line("appraised", "well", Decimal("1500.00")),
        Line("per_household", "moving", Decimal("2000.00")),
        Line("per_household", "temporary_resettlement", Decimal("12000.00")),
        Line("incentive", "early_signing", Decimal("20000.00"),
             condition="signed by 2018-03-31T23:59:59+08:00",
             condition_zh="2018-03-31T23:59:59+08:00 前签约"),
    )  # fmt: skip


def test_rounding_happens_once_at_the_end_not_per_line() -> None:
    # 95.500001 x 3200 = 305600.0032 and 20.000006 x 500 = 10000.0030: each line would
    # round down to whole yuan, but together they carry 0.0062, which rounds up.
    # Once:     305600.0032 + 10000.0030 + 1500 + 14000 + 20000 = 351100.0062 -> 351100.01
    # Per line: 305600.00   + 10000.00   + 1500 + 14000 + 20000              =  351100.00
    items = [
        q("building:brick_concrete", "95.500001"),
        q("land:homestead", "20.000006"),
        v("well", "1500.00"),
    ]
    result = entitlement(items, POLICY, EARLY)
    assert format_yuan(result.total) == "351100.01"
    per_line = sum(to_fen(line.amount) for line in result.lines)
    assert per_line == Decimal("351100.00")


def test_half_a_fen_rounds_up() -> None:
    # 20.00001 x 500 = 10000.005; + 305600 + 1500 + 14000 + 20000 = 351100.005 -> 351100.01
    # (banker's rounding would give 351100.00).
    items = [
        q("building:brick_concrete", "95.50"),
        q("land:homestead", "20.00001"),
        v("well", "1500.00"),
    ]
    assert total(items) == "351100.01"
    # 20.000009 x 500 = 10000.0045 -> 351100.0045 rounds down.
    items[1] = q("land:homestead", "20.000009")
    assert total(items) == "351100.00"


def test_appraised_values_and_per_household_amounts_are_added_as_they_are() -> None:
    # 1500.00 + 0.01 + 14000 = 15500.01, signed late.
    assert total([v("well", "1500.00"), v("tree", "0.01")], LATE) == "15500.01"


def test_a_policy_without_per_household_amounts_or_incentives() -> None:
    bare = PolicyVersion.from_document(
        {**DOCUMENT, "per_household": {}, "incentives": [], "rates": {"building:simple": "800"}}
    )
    # 1.25 x 800 = 1000.
    assert total([q("building:simple", "1.25")], EARLY, bare) == "1000.00"


def test_every_incentive_whose_deadline_holds_is_added() -> None:
    tiers = PolicyVersion.from_document(
        {
            **DOCUMENT,
            "incentives": [
                {"name": "within_15_days", "amount": "8000.00",
                 "signed_by": "2018-03-15T23:59:59+08:00"},
                {"name": "within_30_days", "amount": "20000.00",
                 "signed_by": "2018-03-31T23:59:59+08:00"},
            ],
        }
    )  # fmt: skip
    items = [q("building:brick_concrete", "95.50"), q("land:homestead", "20.00"), v("well", "1500")]
    # 331100 without incentives (see the sample household above).
    assert total(items, EARLY, tiers) == "359100.00"  # + 8000 + 20000
    assert total(items, datetime(2018, 3, 20, tzinfo=CST), tiers) == "351100.00"  # + 20000
    assert total(items, LATE, tiers) == "331100.00"


# --- the incentive's deadline ---------------------------------------------------


def test_signing_exactly_at_signed_by_gets_the_incentive() -> None:
    items = [v("well", "1500.00")]  # 1500 + 14000 = 15500, + 20000 if in time
    assert total(items, SIGNED_BY) == "35500.00"
    assert total(items, SIGNED_BY + timedelta(microseconds=1)) == "15500.00"
    assert total(items, SIGNED_BY - timedelta(microseconds=1)) == "35500.00"


def test_the_deadline_is_an_instant_whatever_the_offset() -> None:
    items = [v("well", "1500.00")]
    assert total(items, datetime(2018, 3, 31, 15, 59, 59, tzinfo=UTC)) == "35500.00"
    assert total(items, datetime(2018, 3, 31, 16, 0, 0, tzinfo=UTC)) == "15500.00"
    # 23:59:59.5 on 31 March in Urumqi time (+06:00) is 01:59:59.5 on 1 April in +08:00.
    urumqi = timezone(timedelta(hours=6))
    assert total(items, datetime(2018, 3, 31, 23, 59, 59, 500000, tzinfo=urumqi)) == "15500.00"


@given(
    moment=st.datetimes(
        min_value=datetime(2018, 3, 30), max_value=datetime(2018, 4, 2), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_the_incentive_depends_on_the_instant_not_on_its_offset(
    moment: datetime, minutes: int
) -> None:
    shifted = moment.astimezone(timezone(timedelta(minutes=minutes)))
    items = [v("well", "1500.00")]
    assert total(items, moment) == total(items, shifted)
    assert total(items, moment) == ("35500.00" if moment <= SIGNED_BY else "15500.00")


# --- properties ---------------------------------------------------------------------

quantities = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("100000"), places=6, allow_nan=False
)
values = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000000"), places=2)
appraised_names = st.sampled_from(["well", "tree", "fence", "tomb", "greenhouse", "shop_loss"])


@st.composite
def item_lists(draw: st.DrawFn) -> list[Item]:
    rated = draw(st.lists(st.sampled_from(RATE_KEYS), unique=True))
    appraised = draw(st.lists(appraised_names, unique=True))
    return [Item(k, quantity=draw(quantities)) for k in rated] + [
        Item(k, value=draw(values)) for k in appraised
    ]


@given(items=item_lists(), data=st.data(), late=st.booleans())
def test_the_same_items_in_any_order_give_the_same_total(
    items: list[Item], data: st.DataObject, late: bool
) -> None:
    shuffled = data.draw(st.permutations(items))
    signed_at = LATE if late else EARLY
    assert entitlement(shuffled, POLICY, signed_at) == entitlement(items, POLICY, signed_at)


@given(
    items=item_lists(),
    key=st.sampled_from(RATE_KEYS),
    whole=st.integers(min_value=1, max_value=5000),
    change=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
    down=st.booleans(),
)
def test_a_changed_rate_changes_only_the_entitlements_that_use_it(
    items: list[Item], key: str, whole: int, change: Decimal, down: bool
) -> None:
    old = POLICY.rates[key]
    delta = -min(change, old) if down else change
    if delta == 0:
        delta = change
    changed = PolicyVersion.from_document(
        {**DOCUMENT, "rates": {**DOCUMENT["rates"], key: format_yuan(old + delta)}}
    )
    others = [item for item in items if item.item != key]
    # Items that do not use the rate: exactly the same entitlement.
    assert entitlement(others, changed, EARLY).total == entitlement(others, POLICY, EARLY).total
    # With a whole quantity of it, the entitlement moves by exactly quantity x change.
    using = [*others, Item(key, quantity=Decimal(whole))]
    before = entitlement(using, POLICY, EARLY).total
    after = entitlement(using, changed, EARLY).total
    assert after - before == whole * delta


@given(
    items=item_lists(),
    key=st.sampled_from(RATE_KEYS),
    quantity=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("100000"), places=6),
)
def test_an_entitlement_grows_with_a_quantity(
    items: list[Item], key: str, quantity: Decimal
) -> None:
    others = [item for item in items if item.item != key]
    without = entitlement(others, POLICY, EARLY).total
    with_it = entitlement([*others, Item(key, quantity=quantity)], POLICY, EARLY).total
    # Every rate is at least 500 yuan, so a millionth of a square metre can round
    # away, but the entitlement never shrinks and grows by the line to within a fen.
    assert with_it >= without
    assert abs((with_it - without) - quantity * POLICY.rates[key]) <= Decimal("0.01")


# --- parsing values ------------------------------------------------------------------


@given(st.floats(allow_nan=False))
def test_an_amount_given_as_a_float_is_refused(number: float) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount(number)
    assert str(info.value) == (
        f'amount must be a decimal string such as "356800.00", not the number {number!r}.'
    )


@given(st.integers())
def test_an_amount_given_as_a_number_is_refused(number: int) -> None:
    with pytest.raises(InvalidInput, match=r"^amount must be a decimal string"):
        parse_amount(number)


@given(st.decimals(max_value=Decimal("-0.01"), places=2, allow_nan=False, allow_infinity=False))
def test_a_negative_amount_is_refused(amount: Decimal) -> None:
    text = f"{amount:.2f}"
    with pytest.raises(InvalidInput) as info:
        parse_amount(text)
    assert str(info.value) == f'amount must not be negative (got "{text}").'
    with pytest.raises(InvalidInput, match="must not be negative"):
        parse_quantity(text)


@given(
    whole=st.integers(min_value=0, max_value=10**12),
    decimals=st.text(alphabet="0123456789", min_size=3, max_size=8),
)
def test_yuan_have_at_most_two_decimals(whole: int, decimals: str) -> None:
    text = f"{whole}.{decimals}"
    with pytest.raises(InvalidInput) as info:
        parse_amount(text, "deviation amount")
    assert str(info.value) == (
        f'deviation amount has more than two decimals (got "{text}"); give at most two, '
        'such as "356800.00".'
    )


@given(st.decimals(min_value=Decimal("0"), max_value=Decimal("10") ** 12, places=2))
def test_an_amount_with_two_decimals_is_read_exactly(amount: Decimal) -> None:
    assert parse_amount(f"{amount:.2f}") == amount
    assert format_yuan(parse_amount(f"{amount:.2f}")) == f"{amount:.2f}"


@given(
    whole=st.integers(min_value=0, max_value=10**6),
    decimals=st.text(alphabet="0123456789", min_size=1, max_size=6),
)
def test_a_quantity_may_carry_up_to_six_decimals(whole: int, decimals: str) -> None:
    assert parse_quantity(f"{whole}.{decimals}") == Decimal(f"{whole}.{decimals}")
    with pytest.raises(InvalidInput):
        parse_amount(f"{whole}.{decimals}5" if len(decimals) >= 2 else f"{whole}.{decimals}55")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1e5", 'amount must be a decimal string such as "356800.00" (got "1e5").'),
        ("NaN", 'amount must be a decimal string such as "356800.00" (got "NaN").'),
        ("1,000.00", 'amount must be a decimal string such as "356800.00" (got "1,000.00").'),
        ("", 'amount must be a decimal string such as "356800.00" (got "").'),
        (None, 'amount must be a decimal string such as "356800.00".'),
        (True, 'amount must be a decimal string such as "356800.00", not the number True.'),
        ("-0.00", 'amount must not have a minus sign (got "-0.00"); write zero without one.'),
        ("-0", 'amount must not have a minus sign (got "-0"); write zero without one.'),
        (
            "1.234",
            'amount has more than two decimals (got "1.234"); give at most two, '
            'such as "356800.00".',
        ),
        (
            "1" * 26,
            f'amount has more than 15 digits before the decimal point (got "{"1" * 26}"); '
            "check the figure.",
        ),
        (
            "1" * 16 + ".5",
            f"amount has more than 15 digits before the decimal point "
            f'(got "{"1" * 16}.5"); check the figure.',
        ),
    ],
)
def test_malformed_amounts_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount(raw)
    assert str(info.value) == message


def test_a_quantity_with_seven_decimals_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_quantity("20.0000001", "land_area_m2")
    assert str(info.value) == (
        'land_area_m2 has more than six decimals (got "20.0000001"); give at most six, '
        'such as "120.50".'
    )
