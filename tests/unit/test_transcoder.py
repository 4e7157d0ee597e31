"""The stored format: msgpack values round-trip exactly (offsets, digits, exponents),
every event of every aggregate survives the ledger's mapper, and every stored topic
keeps resolving to its class."""

from __future__ import annotations

import inspect
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgpack
import pytest
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import TranscodingNotRegisteredError
from eventsourcing.utils import get_topic, resolve_topic
from hypothesis import given
from hypothesis import strategies as st

import domain.account
import domain.complaint
import domain.household
import domain.payout
import domain.programme
import domain.register
from domain.base import Recorded
from domain.errors import InvalidInput
from domain.values import parse_time
from ledger.application import Ledger
from ledger.commands import parse_command
from ledger.identity import Identity
from ledger.transcoder import construct_transcoder
from tests.credentials import ADMIN, PASSWORD, execute_as_actor

CST = timezone(timedelta(hours=8))

# --- values ------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal, of the same type, and written the same (offset, digits, exponent)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return str(a) == str(b) and a.as_tuple() == b.as_tuple()
    if isinstance(a, datetime):
        return a == b and a.isoformat() == b.isoformat() and a.utcoffset() == b.utcoffset()
    return bool(a == b)


# Any offset the datetime module allows, down to the microsecond; offsets under one
# second but not zero are refused on input (see below).
offsets = (
    st.timedeltas(
        min_value=-timedelta(hours=24) + timedelta(microseconds=1),
        max_value=timedelta(hours=24) - timedelta(microseconds=1),
    )
    .filter(lambda offset: not offset or abs(offset) >= timedelta(seconds=1))
    .map(timezone)
)
datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets
)
decimals = st.decimals(allow_nan=False) | st.from_regex(
    r"-?[0-9]{1,40}(\.[0-9]{1,40})?([Ee][+-]?[0-9]{1,3})?", fullmatch=True
).map(Decimal)
chinese = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=20)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | chinese
    | st.binary(max_size=20)
    | decimals
    | datetimes
    | st.datetimes()
    | st.dates()
    | st.uuids()
)
# A user's dict of any keys round-trips: value types are extension types, not maps.
keys = st.text(max_size=10).filter(lambda k: k not in ("_type_", "_data_")) | chinese
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


def round_trip(value: Any) -> Any:
    transcoder = construct_transcoder()
    return transcoder.decode(transcoder.encode(value))


@given(values)
def test_values_round_trip_exactly(value: Any) -> None:
    assert same(round_trip(value), value)


@given(decimals)
def test_decimals_keep_every_digit_and_their_exponent(value: Decimal) -> None:
    decoded = round_trip({"amount": value})["amount"]
    assert str(decoded) == str(value)
    assert decoded.as_tuple() == value.as_tuple()


@given(datetimes)
def test_datetimes_keep_their_offset_exactly(value: datetime) -> None:
    decoded = round_trip([value])[0]
    assert decoded == value
    assert decoded.utcoffset() == value.utcoffset()
    assert decoded.isoformat() == value.isoformat()


@pytest.mark.parametrize("offset", ["+00:00:00.000001", "+08:00:30", "-05:00:00.5"])
def test_an_offset_that_is_not_whole_minutes_never_reaches_the_store(offset: str) -> None:
    # Python reads such offsets back inexactly, so input refuses them.
    with pytest.raises(InvalidInput, match="not whole minutes"):
        parse_time(f"2018-03-01T09:00:00{offset}")


@given(st.dates(), st.uuids(), chinese)
def test_dates_uuids_and_chinese_text_round_trip(day: date, uuid: UUID, text: str) -> None:
    assert same(
        round_trip({"day": day, "id": uuid, "户主": text}), {"day": day, "id": uuid, "户主": text}
    )


def test_value_types_are_stored_as_strings_never_floats() -> None:
    # The stored format itself: yuan and times are strings an auditor can read.
    transcoder = construct_transcoder()
    raw = transcoder.encode(
        {
            "amount": Decimal("356800.00"),
            "area": Decimal("1.2E+3"),
            "at": datetime(2018, 3, 10, 15, 0, tzinfo=CST),
            "effective": date(2018, 3, 1),
            "id": UUID("6f0b7a52-2a4e-4d1c-9a53-0e8d3f1c2b71"),
        }
    )
    # Each value type is a msgpack extension type: 1 decimal, 2 datetime, 3 date, 4 uuid.
    assert msgpack.unpackb(raw, raw=False) == {
        "amount": msgpack.ExtType(1, b"356800.00"),
        "area": msgpack.ExtType(1, b"1.2E+3"),
        "at": msgpack.ExtType(2, b"2018-03-10T15:00:00+08:00"),
        "effective": msgpack.ExtType(3, b"2018-03-01"),
        "id": msgpack.ExtType(4, UUID("6f0b7a52-2a4e-4d1c-9a53-0e8d3f1c2b71").bytes),
    }


def test_a_state_that_cannot_be_encoded_leaves_nothing_for_the_next() -> None:
    # One packer serves every event of a thread: a failure half-way through a state
    # must not leave its first bytes in front of the next event's.
    transcoder = construct_transcoder()
    state = {"amount": Decimal("1.00"), "at": datetime(2018, 3, 10, tzinfo=CST)}
    with pytest.raises(TranscodingNotRegisteredError):
        transcoder.encode({"amount": Decimal("2.00"), "colour": {1, 2}})
    assert transcoder.encode(state) == construct_transcoder().encode(state)
    assert transcoder.decode(transcoder.encode(state)) == state


@pytest.mark.parametrize(
    "value",
    [
        {"_type_": "decimal", "_data_": "2"},
        {"_type_": "colour", "_data_": "red"},
        {"_type_": Decimal("1"), "_data_": Decimal("2")},
    ],
)
def test_a_users_dict_with_the_marker_keys_round_trips(value: dict[str, Any]) -> None:
    assert same(round_trip({"memo": value}), {"memo": value})


# --- every event through the ledger's mapper -------------------------------------------

EXTRA: list[dict[str, Any]] = [
    {"cmd": "void_agreement", "actor": "s-020", "at": "2018-03-14T10:00:00+08:00",
     "household": "XC-0002", "agreement": "A-0002", "reason": "改为货币补偿 (to monetary)"},
    {"cmd": "approve_deviation", "actor": "s-020", "at": "2018-03-14T11:00:00+08:00",
     "household": "XC-0002", "amount": "370000.00", "reason": "残疾人家庭困难补助"},
    {"cmd": "file_complaint", "actor": "s-030", "at": "2018-03-15T10:00:00+08:00",
     "complaint": "C-0002", "channel": "visit", "about": {"household": "XC-0004"},
     "summary": "邻居面积更大"},
    {"cmd": "acknowledge_complaint", "actor": "s-030", "at": "2018-03-15T11:00:00+08:00",
     "complaint": "C-0002", "note": "已登记"},
    {"cmd": "add_to_complaint", "actor": "s-030", "at": "2018-03-16T09:00:00+08:00",
     "complaint": "C-0002", "text": "户主补充了照片"},
    {"cmd": "resolve_complaint", "actor": "s-020", "at": "2018-03-17T17:00:00+08:00",
     "complaint": "C-0002", "finding": "unsubstantiated", "outcome": "复测无误"},
    {"cmd": "reopen_complaint", "actor": "s-030", "at": "2018-03-18T09:00:00+08:00",
     "complaint": "C-0002", "reason": "户主不服"},
    {"cmd": "record_survey", "actor": "s-002", "at": "2018-03-04T10:00:00-05:00",
     "household": "XC-0004", "residents": 3, "building_area_m2": {"brick_concrete": "110.500001"},
     "land_area_m2": "20.00", "reason": "复测"},
    {"cmd": "suspend_staff", "actor": "admin", "at": "2018-03-20T10:00:00+08:00",
     "staff": "s-010", "reason": "调查期间停职 (under investigation)"},
    {"cmd": "reinstate_staff", "actor": "admin", "at": "2018-03-21T10:00:00+08:00",
     "staff": "s-010", "reason": "调查结束 (cleared)"},
    {"cmd": "change_staff_role", "actor": "admin", "at": "2018-03-22T10:00:00+08:00",
     "staff": "s-010", "role": "supervisor", "reason": "晋升 (promoted)"},
    {"cmd": "transfer_staff", "actor": "admin", "at": "2018-03-23T10:00:00+08:00",
     "staff": "s-001", "group": "G02", "reason": "支援二组 (helps G02)"},
    {"cmd": "refuse_deviation", "actor": "s-020", "at": "2018-03-14T11:30:00+08:00",
     "household": "XC-0002", "amount": "380000.00", "reason": "超出困难补助标准"},
    {"cmd": "assign_complaint", "actor": "s-030", "at": "2018-03-16T10:00:00+08:00",
     "complaint": "C-0002", "to": "s-020"},
    {"cmd": "note_complaint", "actor": "s-020", "at": "2018-03-16T11:00:00+08:00",
     "complaint": "C-0002", "text": "已复测"},
    {"cmd": "file_complaint", "actor": "s-030", "at": "2018-03-16T12:00:00+08:00",
     "channel": "hotline", "about": {"group": "G01"}, "summary": "来电咨询",
     "caller_name": "龚波", "caller_phone": "13812345678"},
]  # fmt: skip


def _version_2(sample_lines: list[str]) -> dict[str, Any]:
    first = json.loads(sample_lines[0])
    document = {**first["document"], "version": 2, "effective": "2018-04-01"}
    return {"cmd": "publish_policy", "actor": "admin", "at": "2018-03-25T08:00:00+08:00",
            "document": document}  # fmt: skip


def run_everything(ledger: Ledger, sample_lines: list[str]) -> list[Recorded]:
    """Every command of the sample and then one of each kind it lacks; the events
    as the domain made them, before they were stored."""
    made: list[Recorded] = []
    raws = [json.loads(line) for line in sample_lines]
    raws += [{"id": f"extra-{i}", **raw} for i, raw in enumerate(EXTRA)]
    raws.append({"id": "extra-v2", **_version_2(sample_lines)})
    for raw in raws:
        made.extend(execute_as_actor(ledger, parse_command(raw)))
    # A password set, then set again: the Account's events (the hash is not in them).
    identity = Identity(ledger)
    made.extend(identity.set_password("admin", PASSWORD, None))
    made.extend(identity.set_password("s-020", PASSWORD, ADMIN))
    made.extend(identity.set_password("s-020", PASSWORD + "!", ADMIN))
    return made


def defined_classes() -> list[type]:
    """Every aggregate and event class of domain/ that names its TOPIC."""
    found: list[type] = []
    for module in (
        domain.household,
        domain.programme,
        domain.complaint,
        domain.payout,
        domain.account,
        domain.register,
    ):
        for _, aggregate in inspect.getmembers(module, inspect.isclass):
            if not issubclass(aggregate, Aggregate) or aggregate.__module__ != module.__name__:
                continue
            found.append(aggregate)
            for _, member in inspect.getmembers(aggregate, inspect.isclass):
                if issubclass(member, DomainEvent) and "TOPIC" in vars(member):
                    found.append(member)
    return list(dict.fromkeys(found))


def event_topics() -> set[str]:
    return {c.TOPIC for c in defined_classes() if issubclass(c, DomainEvent)}


def test_every_event_is_stored_and_read_back_unchanged(
    ledger: Ledger, sample_lines: list[str]
) -> None:
    made = run_everything(ledger, sample_lines)
    stored = list(ledger.all_events())
    assert len(stored) == len(made)
    for original, read in zip(made, stored, strict=True):
        assert type(read) is type(original)
        assert vars(read).keys() == vars(original).keys()
        for name, value in vars(original).items():
            assert same(vars(read)[name], value), (type(original).TOPIC, name)
        assert read == original
    assert {type(e).TOPIC for e in stored} == event_topics()
    # A business time keeps the offset it was given with.
    resurveyed = [e for e in stored if e.command == "extra-7"]
    assert [e.occurred_at.isoformat() for e in resurveyed] == ["2018-03-04T10:00:00-05:00"]


def test_every_event_round_trips_through_the_mapper(
    ledger: Ledger, sample_lines: list[str]
) -> None:
    run_everything(ledger, sample_lines)
    seen: set[str] = set()
    for event in ledger.all_events():
        stored = ledger.mapper.to_stored_event(event)
        assert stored.topic == type(event).TOPIC
        assert stored.originator_id == event.originator_id
        assert stored.originator_version == event.originator_version
        again = ledger.mapper.to_domain_event(stored)
        assert type(again) is type(event)
        assert again == event
        assert all(same(vars(again)[k], v) for k, v in vars(event).items())
        seen.add(stored.topic)
    assert seen == event_topics()


# --- the stored topics ------------------------------------------------------------------

# Every topic written so far. Never remove or change a line: a stored event names
# its topic, and the integrity log hashes it. A moved class registers its old topic.
STORED_TOPICS = [
    "oneruler:Account",
    "oneruler:Account.PasswordReset",
    "oneruler:Account.PasswordSet",
    "oneruler:BankReferenceIndex",
    "oneruler:BankReferenceIndex.Indexed",
    "oneruler:Complaint",
    "oneruler:Complaint.Acknowledged",
    "oneruler:Complaint.Assigned",
    "oneruler:Complaint.Filed",
    "oneruler:Complaint.NoteAdded",
    "oneruler:Complaint.Reopened",
    "oneruler:Complaint.Resolved",
    "oneruler:Household",
    "oneruler:Household.AgreementSigned",
    "oneruler:Household.AgreementVoided",
    "oneruler:Household.ComplaintAttached",
    "oneruler:Household.DeviationApproved",
    "oneruler:Household.DeviationRefused",
    "oneruler:Household.DocumentAttached",
    "oneruler:Household.PayoutConfirmed",
    "oneruler:Household.PayoutRequested",
    "oneruler:Household.Registered",
    "oneruler:Household.Surveyed",
    "oneruler:Household.Vacated",
    "oneruler:Household.Valued",
    "oneruler:PayoutIndex",
    "oneruler:PayoutIndex.Indexed",
    "oneruler:Policy",
    "oneruler:Policy.NewVersionPublished",
    "oneruler:Policy.Published",
    "oneruler:Register",
    "oneruler:Register.Opened",
    "oneruler:Register.PolicyListed",
    "oneruler:Register.VillageAdded",
    "oneruler:Staff",
    "oneruler:Staff.Enrolled",
    "oneruler:Staff.Reinstated",
    "oneruler:Staff.RoleChanged",
    "oneruler:Staff.Suspended",
    "oneruler:Staff.Transferred",
    "oneruler:WorkGroup",
    "oneruler:WorkGroup.Created",
]


@pytest.mark.parametrize("topic", STORED_TOPICS)
def test_a_stored_topic_resolves_to_its_class(topic: str) -> None:
    cls = resolve_topic(topic)
    assert topic == cls.TOPIC
    assert get_topic(cls) == topic


def test_every_topic_defined_in_the_domain_is_pinned() -> None:
    defined = [c.TOPIC for c in defined_classes()]
    assert len(defined) == len(set(defined)), "two classes share a topic"
    assert sorted(defined) == STORED_TOPICS
