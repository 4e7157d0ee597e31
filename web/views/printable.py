"""Printable papers for a household: its agreement, a payment notice and a receipt.
Each names the event of the ledger it is printed from (record, version, business and
recorded time, command) and the signed checkpoint that includes it, or says that none
does yet; the receipt carries the log's signed promise (`oneruler receipt`) as text
and as a QR code, which `oneruler audit-verify --receipt` checks against the
household's audit bundle. The office's signing key is given to the server as to the
command line: ONERULER_KEY, the key file's path (several joined by the path list
separator, as while moving to a new key)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import segno
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import InvalidInput, NotFound, RuleViolation
from ledger.checkpoint import CheckpointError, Signer, parse_signer
from web import access
from web.masking import masked
from web.nav import STAFF
from web.pages import Visit, page

KEY_ENV = "ONERULER_KEY"
NO_KEY = (
    "this server was not given the office's signing key, so it cannot sign a receipt; "
    "start it with ONERULER_KEY set to the key file (as for oneruler checkpoint), or "
    "print the receipt with oneruler receipt."
)


def office_signers() -> list[Signer] | None:
    """The signing keys given to the server (None: none given)."""
    given = os.environ.get(KEY_ENV, "").strip()
    if not given:
        return None
    signers = []
    for name in given.split(os.pathsep):
        try:
            signers.append(parse_signer(Path(name).read_text(encoding="utf-8")))
        except (OSError, CheckpointError) as e:
            raise RuleViolation(
                f"the signing key {name} given in {KEY_ENV} cannot be read ({e}); "
                "give the server the key file oneruler key generate wrote."
            ) from None
    return signers


def _household(visit: Visit) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """The household's code, its whole timeline and its registration, masked as this
    viewer may see them."""
    reads = visit.office.reads
    shown = reads.household(visit.request.path_params["hh"], reads.now())
    code = shown["household"]
    see = access.sees_household(reads, visit.session, shown["group"])
    events = masked(reads.household_history(code, None), see)["events"]
    registered = next(e["data"] for e in events if e["type"] == "Household.Registered")
    return code, events, {**registered, **shown}


def _place(visit: Visit, kind: str, code: str, version: int) -> dict[str, Any]:
    return visit.office.reads.in_log(kind, code, version)


def _render(
    visit: Visit, template: str, code: str, event: dict[str, Any], **context: Any
) -> Response:
    return visit.render(
        template,
        household=code,
        event=event,
        place=_place(visit, "household", code, event["version"]),
        **context,
    )


@page(roles=STAFF)
def agreement(visit: Visit) -> Response:
    code, events, h = _household(visit)
    voided = {e["data"]["agreement"] for e in events if e["type"] == "Household.AgreementVoided"}
    signed = [e for e in events if e["type"] == "Household.AgreementSigned"]
    in_force = [e for e in signed if e["data"]["agreement"] not in voided]
    if not in_force:
        raise NotFound(
            f"{code} has no agreement in force to print"
            + (" (its agreements were voided)." if signed else "; record the agreement first.")
        )
    return _render(visit, "print/agreement.html", code, in_force[-1], h=h)


@page(roles=STAFF)
def payment_notice(visit: Visit) -> Response:
    code, events, h = _household(visit)
    wanted = visit.query("payout")
    requests = [e for e in events if e["type"] == "Household.PayoutRequested"]
    if wanted:
        requests = [e for e in requests if e["data"]["payout"] == wanted]
    if not requests:
        raise NotFound(
            f"{code} has no payout {wanted} to print a notice of; check the payout's id."
            if wanted
            else f"{code} has no payout requested yet; request one first."
        )
    request = requests[-1]
    payout = request["data"]["payout"]
    confirmed = next(
        (
            e
            for e in events
            if e["type"] == "Household.PayoutConfirmed" and e["data"]["payout"] == payout
        ),
        None,
    )
    event = confirmed or request
    return _render(
        visit,
        "print/payment_notice.html",
        code,
        event,
        h=h,
        request=request,
        confirmed=confirmed,
        payouts=[e["data"]["payout"] for e in events if e["type"] == "Household.PayoutRequested"],
    )


@page(roles=STAFF)
def receipt(visit: Visit) -> Response:
    """The receipt of one event of the household (?version=N; default its latest)."""
    code, events, h = _household(visit)
    asked = visit.query("version")
    if asked and not asked.isdigit():
        raise InvalidInput("version must be a whole number, such as 4.")
    own = sorted(
        (e for e in events if e["type"].startswith("Household.")), key=lambda e: e["version"]
    )
    version = int(asked) if asked else own[-1]["version"]
    event = next((e for e in own if e["version"] == version), None)
    if event is None:
        raise NotFound(f"{code} has no version {version}; its latest is {own[-1]['version']}.")
    signers = office_signers()
    note = qr = None
    message: str | None = NO_KEY
    if signers is not None:
        made = visit.office.reads.receipt(signers, "household", code, version)
        note, message = made.note, None
        qr = segno.make(made.note, error="m").svg_data_uri(scale=3, border=2)
    return _render(
        visit,
        "print/receipt.html",
        code,
        event,
        h=h,
        note=note,
        qr=qr,
        message=message,
        versions=[e["version"] for e in own],
    )


ROUTES = [
    Route("/households/{hh}/print/agreement", agreement, methods=["GET"]),
    Route("/households/{hh}/print/payment-notice", payment_notice, methods=["GET"]),
    Route("/households/{hh}/print/receipt", receipt, methods=["GET"]),
]
# Reached from a household's own pages (the clerk's forms, the role's lists).
LINKS: list[Any] = []
