"""Codes as the ledger takes them on input: one normal form for what looks the same,
and nothing in them that does not show."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.policy import PolicyVersion
from domain.values import parse_code, parse_text
from tests.strategies import policy_document


@given(st.text(max_size=30))
def test_an_accepted_code_is_normal_visible_and_read_again_the_same(text: str) -> None:
    try:
        code = parse_code(text, "household")
    except InvalidInput:
        return
    assert code == unicodedata.normalize("NFKC", code)
    assert not any(unicodedata.category(c)[0] in "CZ" for c in code)
    assert parse_code(code, "household") == code


@pytest.mark.parametrize(
    ("written", "read"),
    [("ＸＣ-０００１", "XC-0001"), ("ｓ－００１", "s-001"), ("Ⅻ-①", "XII-1"), ("ﬁle-1", "file-1")],
)
def test_compatibility_forms_are_one_code(written: str, read: str) -> None:
    assert parse_code(written, "household") == read


def test_a_stored_code_is_read_as_it_was_accepted() -> None:
    assert parse_code("ＸＣ-\u200b0001", "household", stored=True) == "ＸＣ-\u200b0001"
    assert parse_text("钱\u202e九", "head", stored=True) == "钱\u202e九"


def test_a_document_is_kept_as_written_so_its_codes_must_already_be_normal() -> None:
    document = policy_document(rates={"ｂｕｉｌｄｉｎｇ:simple": "800.00"})
    with pytest.raises(InvalidInput) as refused:
        PolicyVersion.from_document(document)
    assert str(refused.value) == (
        'document.rates "ｂｕｉｌｄｉｎｇ:simple" is not written in its normal form; write it as '
        "building:simple (a published document is kept as it is written)."
    )
    # Stored before this rule: read as it was.
    assert PolicyVersion.from_document(document, stored=True).rates == {
        "ｂｕｉｌｄｉｎｇ:simple": 800
    }
