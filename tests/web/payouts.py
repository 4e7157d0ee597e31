"""Payouts for finance's pages, on top of the sample programme: P-0002 of XC-0002 ready
to pay (file complete, requested by its group's clerk), and P-0003 of XC-0003 blocked
by a complaint about the household filed after the request and still open."""

from __future__ import annotations

import json

from ledger.ingest import ingest
from ledger.store import open_ledger
from tests.credentials import ADMIN

DOCUMENTS = ("id_card", "hukou", "property_certificate", "survey_form", "valuation_report",
             "agreement", "bank_account")  # fmt: skip


def _files(household: str, clerk: str, at: str) -> list[dict[str, object]]:
    return [
        {
            "id": f"w-{household}-{kind}",
            "cmd": "attach_document",
            "actor": clerk,
            "at": at,
            "household": household,
            "kind": kind,
            "sha256": f"{i:064x}",
            "filename": f"{household}-{kind}.pdf",
        }
        for i, kind in enumerate(DOCUMENTS, start=1)
    ]


LINES: list[dict[str, object]] = [
    *_files("XC-0002", "s-001", "2018-03-12T09:00:00+08:00"),
    {"id": "w-p2", "cmd": "request_payout", "actor": "s-001", "at": "2018-03-13T09:00:00+08:00",
     "payout": "P-0002", "household": "XC-0002", "amount": "370000.00"},
    {"id": "w-a3", "cmd": "sign_agreement", "actor": "s-002", "at": "2018-03-14T09:00:00+08:00",
     "household": "XC-0003", "agreement": "A-0003", "method": "monetary",
     "amount": "391740.00"},
    *_files("XC-0003", "s-002", "2018-03-14T10:00:00+08:00"),
    {"id": "w-p3", "cmd": "request_payout", "actor": "s-002", "at": "2018-03-15T09:00:00+08:00",
     "payout": "P-0003", "household": "XC-0003", "amount": "391740.00"},
    {"id": "w-c2", "cmd": "file_complaint", "actor": "s-030", "at": "2018-03-16T09:00:00+08:00",
     "complaint": "C-0002", "channel": "hotline", "about": {"household": "XC-0003"},
     "summary": "户主称补偿款未到账 (head says the money has not arrived)"},
]  # fmt: skip


def add_payouts(url: str) -> None:
    ledger = open_ledger(url)
    try:
        report = ingest(ledger, [json.dumps(line, ensure_ascii=False) for line in LINES], ADMIN)
        assert report.rejected == 0, report.rejections
    finally:
        ledger.close()
