"""The commands of specs/ingest.md, each declared once with its use case
(declaration.py says how). Importing this package declares them all."""

from __future__ import annotations

from ledger.commands.declaration import (
    Command,
    Declaration,
    declaration_of,
    declarations,
    parse_command,
    references,
)
from ledger.commands.unit_of_work import UnitOfWork

# Declared in the order of the ingest spec's table, which error messages list:
# set-up, a household's way, complaints, payouts, staff over time.
from ledger.commands import setup  # isort: skip
from ledger.commands import households  # isort: skip
from ledger.commands import complaints  # isort: skip
from ledger.commands import payouts  # isort: skip
from ledger.commands import staff  # isort: skip

AREAS = (setup, households, complaints, payouts, staff)

__all__ = [
    "AREAS",
    "Command",
    "Declaration",
    "UnitOfWork",
    "declaration_of",
    "declarations",
    "parse_command",
    "references",
]
