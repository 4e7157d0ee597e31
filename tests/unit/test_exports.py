"""Cells of the CSV files and workbooks the reports export: text that a spreadsheet
would run as a formula is kept text (OWASP's rule), and numbers stay numbers."""

from __future__ import annotations

import pytest

from cli.render import spreadsheet_cell


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_exported_as_text(start: str) -> None:
    assert spreadsheet_cell(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


@pytest.mark.parametrize("number", ["-21740.00", "-5", "0.50", "12"])
def test_a_number_is_exported_as_a_number(number: str) -> None:
    assert spreadsheet_cell(number) == number
    assert spreadsheet_cell(-21740) == -21740
