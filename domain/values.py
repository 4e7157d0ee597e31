"""Parsing and formatting of the programme's values: yuan, quantities, times, codes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from domain.errors import InvalidInput

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

# Yuan are written with at most two decimals; quantities (areas) may carry more.
# ASCII digits only: \d would also take full-width and other scripts' digits.
_DECIMAL = re.compile(r"([0-9]+)(\.([0-9]+))?")
# (digits before the point, decimals after it) that each kind of value admits.
_AMOUNT = (15, 2)
_QUANTITY = (12, 6)
_IN_WORDS = {2: "two", 6: "six"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPACE = re.compile(r"\s")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Unicode's bidirectional controls (marks, embeddings, overrides, isolates): text that
# holds one is shown in another order than it is written ("Trojan Source").
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What does not show in an id, besides the format, private-use and unassigned code points
# found by their category: the other default-ignorable ones (the combining grapheme
# joiner, Hangul fillers, variation selectors, ...).
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)
EARLIEST, LATEST = 1900, 2999
_WHOLE_MINUTES_OFFSET = re.compile(r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$")


# Room for any product of the amounts and quantities input admits (15 + 12 digits
# before the point, 2 + 6 after): the default 28 digits are not always enough.
MONEY = Context(prec=60)


def to_fen(amount: Decimal) -> Decimal:
    """Round to the fen (0.01 yuan), half up, as the policy prescribes."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP, context=MONEY)


def format_yuan(amount: Decimal) -> str:
    return f"{to_fen(amount):.2f}"


def _decimal(value: Any, field: str, digits: tuple[int, int], example: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int | float):
            raise InvalidInput(
                f'{field} must be a decimal string such as "{example}", not the number {value!r}.'
            )
        raise InvalidInput(f'{field} must be a decimal string such as "{example}".')
    text = value.strip()
    unsigned = text.removeprefix("-")
    written = _DECIMAL.fullmatch(unsigned)
    if text.startswith("-"):
        if written is not None and not Decimal(unsigned):
            raise InvalidInput(
                f'{field} must not have a minus sign (got "{value}"); write zero without one.'
            )
        raise InvalidInput(f'{field} must not be negative (got "{value}").')
    if written is None:
        raise InvalidInput(f'{field} must be a decimal string such as "{example}" (got "{value}").')
    whole, places = digits
    if len(written.group(1)) > whole:
        raise InvalidInput(
            f'{field} has more than {whole} digits before the decimal point (got "{value}"); '
            "check the figure."
        )
    decimals = written.group(3) or ""
    if len(decimals) > places:
        most = _IN_WORDS.get(places, str(places))
        raise InvalidInput(
            f'{field} has more than {most} decimals (got "{value}"); give at most {most}, '
            f'such as "{example}".'
        )
    return Decimal(text)


def parse_amount(value: Any, field: str = "amount") -> Decimal:
    """A non-negative amount of yuan given as a string with at most two decimals."""
    return _decimal(value, field, _AMOUNT, "356800.00")


def parse_quantity(value: Any, field: str = "quantity") -> Decimal:
    """A non-negative quantity (square metres) given as a decimal string."""
    return _decimal(value, field, _QUANTITY, "120.50")


def parse_positive_amount(value: Any, field: str = "amount") -> Decimal:
    amount = parse_amount(value, field)
    if amount == 0:
        raise InvalidInput(f"{field} must be more than zero.")
    return amount


def parse_time(value: Any, field: str = "at") -> datetime:
    """An ISO 8601 date-time with a UTC offset (business time)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            f"{field} must be an ISO 8601 date-time with a UTC offset, "
            'such as "2018-03-01T09:00:00+08:00".'
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f'{field} "{value}" is not an ISO 8601 date-time; '
            'write it like "2018-03-01T09:00:00+08:00".'
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInput(
            f'{field} "{value}" has no UTC offset; add one, such as "2018-03-01T09:00:00+08:00".'
        )
    if not _WHOLE_MINUTES_OFFSET.search(value.strip()):
        # Python reads offsets with seconds back inexactly (or not at all).
        raise InvalidInput(f'{field} "{value}" has a UTC offset that is not whole minutes.')
    check_year(parsed, field)
    return shared_zone(parsed)


# One tzinfo object per UTC offset: fromisoformat makes a new one for every time it
# reads (72 bytes each), and an aggregate keeps a dozen times.
_ZONES: dict[timedelta | None, tzinfo] = {}


def shared_zone(moment: datetime) -> datetime:
    """The same moment, its tzinfo shared with every other time at its offset."""
    zone = moment.tzinfo
    if zone is None:
        return moment
    shared = _ZONES.setdefault(moment.utcoffset(), zone)
    return moment if shared is zone else moment.replace(tzinfo=shared)


def check_year(moment: datetime, field: str) -> None:
    if not EARLIEST <= moment.year <= LATEST:
        raise InvalidInput(
            f"{field} {moment.isoformat()} is not a date of a renewal programme; "
            f"give a time between {EARLIEST} and {LATEST}."
        )


def parse_date(value: Any, field: str) -> date:
    if not isinstance(value, str):
        raise InvalidInput(f'{field} must be a date such as "2018-03-01".')
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f'{field} "{value}" is not a date such as "2018-03-01".') from None


def parse_text(value: Any, field: str, *, max_length: int = 2000, stored: bool = False) -> str:
    """A required, non-blank line of text: printable characters (a NUL cannot be
    stored by PostgreSQL, an escape would reach terminals), valid Unicode, and on input
    no bidirectional control (which would show a name in another order than it is
    written). stored: text read back from the record, taken as it was accepted then."""
    text = _text(value, field, max_length)
    if not stored and (found := _BIDI.search(text)):
        raise InvalidInput(
            f"{field} contains {_described(found.group())}, which changes the order text is "
            "shown in; remove it."
        )
    return text


# Not in one line, besides _CONTROL: a tab, a line feed, Unicode's line and paragraph
# separators (str.splitlines breaks at every one), and the bidirectional controls.
_NOT_ONE_LINE = re.compile(f"{_CONTROL.pattern}|[\t\n\u2028\u2029]|{_BIDI.pattern}")


def _checked(text: str, field: str, refused: re.Pattern[str]) -> str:
    """text, if it holds none of the refused characters and is valid Unicode."""
    if refused.search(text):
        raise InvalidInput(f"{field} contains a control character; remove it.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field} is not valid Unicode text; check its encoding.") from None
    return text


def one_line(text: str, field: str) -> str:
    """text, if it is one line of valid Unicode with no control character (a tab or a
    line break included) and no bidirectional control: an id or a search as typed."""
    return _checked(text, field, _NOT_ONE_LINE)


def _text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string.")
    text = value.strip()
    if len(text) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters; shorten it.")
    return _checked(text, field, _CONTROL)


def parse_code(value: Any, field: str, *, stored: bool = False) -> str:
    """An identifier (household, staff, group, record number). On input it is taken in
    Unicode's compatibility normal form (NFKC: the full-width ＸＣ-０００１ is XC-0001), so
    that two ids that look the same are the same id, and refused if it holds a space or
    a character that does not show (zero-width, bidirectional and other format
    characters). stored: an id read back from the record, taken as it was accepted then
    (normalising or refusing it now would part it from the events that name it)."""
    text = _text(value, field, 100)
    if not stored and not text.isascii():  # an ASCII id is its own normal form, and shows
        text = unicodedata.normalize("NFKC", text)
        hidden = _hidden(text)
        if hidden is not None:
            raise InvalidInput(
                f"{field} contains {_described(hidden)}, which does not show; remove it."
            )
    if _SPACE.search(text):
        raise InvalidInput(f'{field} "{_SPACE.sub(" ", text)}" must not contain spaces.')
    return text


def _hidden(text: str) -> str | None:
    """The first character of text that does not show, if any."""
    for character in text:
        if unicodedata.category(character) in ("Cf", "Co", "Cn", "Cs") or _IGNORABLE.match(
            character
        ):
            return character
    return None


def _described(character: str) -> str:
    """A character by its code point and name, as an error names what cannot be seen."""
    name = unicodedata.name(character, "")
    if not name:
        kind = unicodedata.category(character)
        name = "a private-use character" if kind == "Co" else "an unassigned code point"
    return f"U+{ord(character):04X} ({name})"


def parse_optional_text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    return parse_text(value, field)


def parse_count(value: Any, field: str, most: int = 10_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be a whole number such as 4.")
    if value < 0:
        raise InvalidInput(f"{field} must not be negative (got {value}).")
    if value > most:
        raise InvalidInput(f"{field} must be at most {most} (got {value}).")
    return value


# GB 11643-1999: the weights of the 17 digits, and the check character of their sum
# modulo 11 (ISO 7064 MOD 11-2).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")


def id_number_check(body: str) -> str:
    """The check character of the first 17 digits of a resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def id_number_as_typed(text: str) -> str:
    """A search for an ID number in the form a registered one is kept in: compatibility
    form (full-width digits are digits) and an upper-case check character X. Text that
    is not an id at all is given back stripped, to be compared as it is."""
    try:
        code = parse_code(text, "text")
    except InvalidInput:
        return text.strip()
    return code[:-1] + "X" if code.endswith("x") else code


def parse_id_number(value: Any, field: str = "id_number") -> str:
    """A resident ID number (居民身份证号码): 17 digits and a check character, 0-9 or
    X, that agrees with them (GB 11643). A lower-case x is taken as X."""
    text = parse_code(value, field)
    if text.endswith("x"):
        text = text[:-1] + "X"
    if not _ID_NUMBER.fullmatch(text):
        raise InvalidInput(
            f"{field} {text} is not a resident ID number: it has 18 characters, 17 digits "
            "and a check digit (0-9 or X); copy it again from the ID card."
        )
    expected = id_number_check(text[:17])
    if text[17] != expected:
        raise InvalidInput(
            f"{field} {text} has the check digit {text[17]}, but its first 17 digits give "
            f"{expected}; a digit was mistyped: copy it again from the ID card."
        )
    return text


def parse_sha256(value: Any, field: str = "sha256") -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value.strip().lower()):
        raise InvalidInput(f"{field} must be 64 hexadecimal digits (a SHA-256 digest).")
    return value.strip().lower()


def parse_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidInput(f"{field} must be one of {', '.join(choices)} (got {value!r}).")
    assert isinstance(value, str)
    return value


def parse_areas(value: Any, field: str) -> dict[str, Decimal]:
    """Building area by structure type: {"brick_concrete": "120.50", ...}."""
    if not isinstance(value, Mapping) or not value:
        raise InvalidInput(
            f"{field} must be an object of structure to area, "
            'such as {"brick_concrete": "120.50"}.'
        )
    return {
        parse_code(structure, f"{field} structure"): parse_quantity(area, f"{field}.{structure}")
        for structure, area in value.items()
    }


def end_of_day(day: date, tz: timezone) -> datetime:
    """The last instant of a calendar day in the given zone."""
    return datetime.combine(day, datetime.max.time(), tzinfo=tz)


def parse_as_of(value: str, tz: timezone, field: str = "as-of") -> datetime:
    """An as-of moment: a bare date means the end of that day in the ledger's zone.
    field: what an error calls it (the option it was given as, such as --known-at)."""
    text = value.strip()
    if len(text) == 8 and text.isdigit():  # ISO 8601 basic form, 20180310
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    if len(text) == 10:
        moment = end_of_day(parse_date(text, field), tz)
        check_year(moment, field)
        return moment
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        naive = None
    if naive is not None and naive.tzinfo is None:
        check_year(naive, field)
        return naive.replace(tzinfo=tz)  # a time without offset is the ledger's own time
    return parse_time(text, field)


LEDGER_TZ = timezone(timedelta(hours=8))
