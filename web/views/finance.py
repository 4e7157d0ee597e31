"""Finance's pages: the ready-to-pay worklist (only the payouts a confirmation would
pass now, by the domain's own rules), confirming one or a selected batch with the
bank's references, the batch exported for the bank (XLSX, and CSV with a UTF-8 BOM,
cells neutralised as the reports' exports are), the paid list, and the payouts that
cannot be paid, each with why."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from domain.errors import DomainError, InvalidInput
from domain.values import LEDGER_TZ
from ledger.commands import parse_command
from ledger.commands.declaration import CommandIdReused
from ledger.commands.outcome import describe
from web.errors import for_people, sentence, status_of
from web.nav import Link
from web.pages import Visit, form_values, page

FINANCE = ("finance",)
COLUMNS = ("payout", "household", "amount", "requested_by", "requested_at")
EXPORT_COLUMNS = (*COLUMNS, "bank_reference")


def _ready(visit: Visit) -> list[dict[str, Any]]:
    assert visit.session is not None
    found: list[dict[str, Any]] = visit.office.reads.ready_payouts(visit.session.staff)["payouts"]
    return found


def _worklist(
    visit: Visit, results: list[dict[str, str]] | None = None, status: int = 200
) -> Response:
    return visit.render(
        "finance_ready.html",
        status=status,
        payouts=_ready(visit),
        results=results or [],
        # Names this form's confirmations: sent twice (a reload, a double click), the
        # same commands are skipped as already applied, not confirmed twice.
        batch=secrets.token_hex(8),
    )


@page(FINANCE)
def ready(visit: Visit) -> Response:
    return _worklist(visit)


@page(FINANCE)
def confirm(visit: Visit) -> Response:
    """Confirm each selected payout with its bank reference, each in a command of its
    own: one refused (its sentence shown) leaves the others confirmed."""
    assert visit.session is not None
    chosen = form_values(visit.form, "payout")
    batch = visit.field("batch") or secrets.token_hex(8)
    if not chosen:
        raise InvalidInput("select at least one payout to confirm, and give its bank reference.")
    now = visit.office.reads.now().astimezone(LEDGER_TZ).isoformat(timespec="seconds")
    results = [_confirm_one(visit, f"web-{batch}-{payout}", payout, now) for payout in chosen]
    failed = any(not r["ok"] for r in results)
    return _worklist(visit, results, 409 if failed and len(chosen) == 1 else 200)


def _confirm_one(visit: Visit, command_id: str, payout: str, now: str) -> dict[str, str]:
    """Confirm one payout; what happened, in one sentence (ok "": refused)."""
    assert visit.session is not None
    reference = visit.field(f"ref-{payout}")
    try:
        if not reference:
            raise InvalidInput(f"give the bank's reference for {payout}; nothing was confirmed.")
        command = parse_command(
            {"id": command_id, "cmd": "confirm_payout", "at": now, "payout": payout,
             "bank_reference": reference},
            actor_required=False,
        )  # fmt: skip
        events = visit.office.execute(command, visit.session)
    except CommandIdReused:
        # This form confirmed it already, a moment earlier (the same id, another time
        # of day): nothing is done again.
        events = None
    except DomainError as refused:
        said = for_people(sentence(refused), status_of(refused), visit.lang)
        return {"payout": payout, "ok": "", "message": said}
    if events is not None:
        said = describe(command, events, visit.office.ledger, visit.lang)
    elif visit.lang == "zh":
        said = f"支付单 {payout} 已由此表单确认，未重复办理（银行流水号 {reference}）"
    else:
        said = f"payout {payout} was already confirmed by this form (bank reference {reference})"
    return {"payout": payout, "ok": "1", "message": said}


def _batch(visit: Visit) -> list[list[Any]]:
    """The selected payouts of the worklist (all of it if none is selected), each with
    the bank reference typed for it, if any."""
    chosen = set(form_values(visit.form, "payout"))
    rows = []
    for p in _ready(visit):
        if chosen and p["payout"] not in chosen:
            continue
        rows.append([*(p[c] for c in COLUMNS), visit.field(f"ref-{p['payout']}")])
    return rows


def _filename(kind: str) -> str:
    stamp = datetime.now(LEDGER_TZ).strftime("%Y%m%d-%H%M")
    return f"payouts-{stamp}.{kind}"


@page(FINANCE)
def export_csv(visit: Visit) -> Response:
    from cli.render import spreadsheet_row

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in _batch(visit):
        writer.writerow(spreadsheet_row(row))
    # The byte-order mark tells a spreadsheet the file is UTF-8 (Excel guesses otherwise).
    body = "\ufeff" + buffer.getvalue()
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{_filename("csv")}"'},
    )


@page(FINANCE)
def export_xlsx(visit: Visit) -> Response:
    from openpyxl import Workbook

    from cli.render import as_text_cells, spreadsheet_row

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "payouts"
    sheet.append(list(EXPORT_COLUMNS))
    for row in _batch(visit):
        sheet.append(spreadsheet_row(row))
    for cells in sheet.iter_rows(min_row=2):
        as_text_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": f'attachment; filename="{_filename("xlsx")}"'},
    )


@page(FINANCE)
def paid(visit: Visit) -> Response:
    return visit.render("finance_paid.html", payouts=visit.office.reads.paid_payouts()["payouts"])


@page(FINANCE)
def blocked(visit: Visit) -> Response:
    assert visit.session is not None
    entries = visit.office.reads.payouts(visit.session.staff)["payouts"]
    return visit.render(
        "finance_blocked.html", payouts=[p for p in entries if p["status"] == "blocked"]
    )


ROUTES = [
    Route("/finance/ready", ready, methods=["GET"]),
    Route("/finance/confirm", confirm, methods=["POST"]),
    Route("/finance/export.csv", export_csv, methods=["POST"]),
    Route("/finance/export.xlsx", export_xlsx, methods=["POST"]),
    Route("/finance/paid", paid, methods=["GET"]),
    Route("/finance/blocked", blocked, methods=["GET"]),
]
LINKS = [
    Link("/finance/ready", "ready_to_pay", FINANCE),
    Link("/finance/blocked", "cannot_pay", FINANCE),
    Link("/finance/paid", "paid_list", FINANCE),
]
