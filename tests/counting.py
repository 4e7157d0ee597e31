"""Counting a generated programme's bulletin from its commands alone, independently
of the ledger and its read models."""

from __future__ import annotations

from collections import Counter
from typing import Any

from simulation.programme import POLICY


def independent_count(commands: list[dict[str, Any]]) -> dict[str, int]:
    """The town's bulletin at the end, counted from the commands alone (every one applies)."""
    households: set[str] = set()
    surveyed: set[str] = set()
    valued: set[str] = set()
    signed: dict[str, bool] = {}
    documents: dict[str, set[str]] = {}
    payout_of: dict[str, str] = {}
    paid: set[str] = set()
    complaints: Counter[str] = Counter()
    for c in sorted(commands, key=lambda c: c["at"]):
        kind = c["cmd"]
        if kind == "register_household":
            households.add(c["household"])
        elif kind == "record_survey":
            surveyed.add(c["household"])
        elif kind == "record_valuation":
            valued.add(c["household"])
        elif kind == "sign_agreement":
            signed[c["household"]] = True
        elif kind == "void_agreement":
            signed[c["household"]] = False
        elif kind == "attach_document":
            documents.setdefault(c["household"], set()).add(c["kind"])
        elif kind == "request_payout":
            payout_of[c["payout"]] = c["household"]  # the generator requests the agreed amount
        elif kind == "confirm_payout":
            paid.add(payout_of[c["payout"]])
        elif kind == "file_complaint":
            complaints[c["complaint"]] += 1
        elif kind == "resolve_complaint":
            complaints[c["complaint"]] -= 1
    required = set(POLICY["required_documents"])
    return {
        "households": len(households),
        "surveyed": len(surveyed),
        "valued": len(valued),
        "signed": sum(signed.values()),
        "files_complete": sum(1 for h in valued if required <= documents.get(h, set())),
        "paid": len(paid),
        "open_complaints": sum(1 for n in complaints.values() if n > 0),
    }
