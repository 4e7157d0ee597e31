"""The compensation policy as data, and the entitlement: a pure function of a
valuation's items and one policy version."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain.errors import InvalidInput, RuleViolation
from domain.values import (
    LEDGER_TZ,
    MONEY,
    ZERO,
    parse_amount,
    parse_code,
    parse_count,
    parse_date,
    parse_quantity,
    parse_text,
    parse_time,
    to_fen,
)

DOCUMENT_KEYS = frozenset(
    {
        "policy",
        "version",
        "effective",
        "title",
        "rates",
        "per_household",
        "incentives",
        "required_documents",
        "block_payout_on_open_complaint",
        "complaint_deadlines",
        "late_entry_days",
    }
)
DEADLINE_KEYS = frozenset({"acknowledge_days", "resolve_days"})
INCENTIVE_KEYS = frozenset({"name", "amount", "signed_by"})
DEFAULT_ACKNOWLEDGE_DAYS = 2
DEFAULT_RESOLVE_DAYS = 15
# An entry recorded more than this many days after its business time is late
# (`report late-entries`).
DEFAULT_LATE_ENTRY_DAYS = 3


# What people call the structure types and the items of the published policies, in
# Chinese and in English (the Chinese verdict, the pages); an item a policy adds later is
# named by its key until it is named here.
STRUCTURES: dict[str, tuple[str, str]] = {
    "brick_concrete": ("砖混结构", "brick and concrete"),
    "brick_wood": ("砖木结构", "brick and wood"),
    "simple": ("简易结构", "simple"),
}
ITEM_NAMES: dict[str, tuple[str, str]] = {
    **{f"building:{s}": (f"房屋（{zh}）", f"building, {en}") for s, (zh, en) in STRUCTURES.items()},
    "land:homestead": ("宅基地", "homestead land"),
    "moving": ("搬迁费", "moving"),
    "temporary_resettlement": ("临时安置费", "temporary resettlement"),
    "early_signing": ("提前签约奖励", "early signing"),
    "well": ("水井", "well"),
}


# The documents a policy may require in a household's file.
DOCUMENT_NAMES: dict[str, tuple[str, str]] = {
    "id_card": ("身份证", "ID card"),
    "hukou": ("户口簿", "household register"),
    "property_certificate": ("房产证", "property certificate"),
    "survey_form": ("入户调查表", "survey form"),
    "valuation_report": ("评估报告", "valuation report"),
    "agreement": ("补偿协议", "agreement"),
    "bank_account": ("银行账户", "bank account"),
}


def item_zh(item: str) -> str:
    """An item's Chinese name (its key if it has none)."""
    return ITEM_NAMES.get(item, (item, item))[0]


def structure_zh(structure: str) -> str:
    """A structure type's Chinese name (its key if it has none)."""
    return STRUCTURES.get(structure, (structure, structure))[0]


@dataclass(frozen=True)
class Incentive:
    """A fixed amount for households that sign by a deadline."""

    name: str
    amount: Decimal
    signed_by: datetime

    def applies(self, signed_at: datetime) -> bool:
        return signed_at <= self.signed_by


@dataclass(frozen=True)
class PolicyVersion:
    """One published version of a compensation policy, parsed for use."""

    policy: str
    version: int
    effective: date
    title: str
    rates: Mapping[str, Decimal]
    per_household: Mapping[str, Decimal]
    incentives: tuple[Incentive, ...]
    required_documents: tuple[str, ...]
    block_payout_on_open_complaint: bool
    acknowledge_days: int
    resolve_days: int
    late_entry_days: int = DEFAULT_LATE_ENTRY_DAYS

    @classmethod
    def from_document(cls, document: Any, *, stored: bool = False) -> PolicyVersion:
        """Parse and check a policy document as published (DOMAIN.md). A document is
        kept as it was written, so on input its codes must already be in their normal
        form; stored: a document read back from the record, taken as it was accepted
        then (no rule added since applies to it)."""
        if not isinstance(document, Mapping):
            raise InvalidInput(
                "document must be a policy object (see DOMAIN.md, the policy as data)."
            )
        unknown = sorted(set(document) - DOCUMENT_KEYS)
        if unknown:
            # A misspelt key would publish a policy without what it meant to say.
            raise InvalidInput(
                f"document has unknown key {unknown[0]}; a policy has "
                f"{', '.join(sorted(DOCUMENT_KEYS))}."
            )
        policy = _code(document.get("policy"), "document.policy", stored)
        version = document.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 10_000:
            raise InvalidInput("document.version must be a whole number from 1 to 10000.")
        rates = _amounts(document.get("rates"), "document.rates", stored)
        if not rates:
            raise InvalidInput("document.rates must name at least one rate.")
        per_household = _amounts(
            document.get("per_household", {}), "document.per_household", stored
        )
        incentives = tuple(
            _incentive(raw, i, stored) for i, raw in enumerate(_list(document, "incentives"))
        )
        names = [incentive.name for incentive in incentives]
        if len(set(names)) != len(names):
            raise InvalidInput("document.incentives must have distinct names.")
        documents = tuple(
            _code(kind, "document.required_documents[]", stored)
            for kind in _list(document, "required_documents")
        )
        if not documents:
            raise InvalidInput(
                "document.required_documents must name the documents a file needs before payout."
            )
        block = document.get("block_payout_on_open_complaint", True)
        if not isinstance(block, bool):
            raise InvalidInput("document.block_payout_on_open_complaint must be true or false.")
        deadlines = document.get("complaint_deadlines", {})
        if not isinstance(deadlines, Mapping) or set(deadlines) - DEADLINE_KEYS:
            raise InvalidInput(
                "document.complaint_deadlines must be an object such as "
                '{"acknowledge_days": 2, "resolve_days": 15}.'
            )
        return cls(
            policy=policy,
            version=version,
            effective=parse_date(document.get("effective"), "document.effective"),
            title=parse_text(document.get("title"), "document.title", stored=stored),
            rates=rates,
            per_household=per_household,
            incentives=incentives,
            required_documents=documents,
            block_payout_on_open_complaint=block,
            acknowledge_days=parse_count(
                deadlines.get("acknowledge_days", DEFAULT_ACKNOWLEDGE_DAYS),
                "document.complaint_deadlines.acknowledge_days",
                most=366,
            ),
            resolve_days=parse_count(
                deadlines.get("resolve_days", DEFAULT_RESOLVE_DAYS),
                "document.complaint_deadlines.resolve_days",
                most=366,
            ),
            late_entry_days=parse_count(
                document.get("late_entry_days", DEFAULT_LATE_ENTRY_DAYS),
                "document.late_entry_days",
                most=366,
            ),
        )

    def check_in_effect(self, at: datetime) -> None:
        # The effective date is a date of the programme, which keeps the ledger's zone.
        if at.astimezone(LEDGER_TZ).date() < self.effective:
            raise RuleViolation(
                f"policy {self.policy} version {self.version} takes effect on "
                f"{self.effective.isoformat()}, after {at.isoformat()}; "
                "value under a version already in effect."
            )


def _list(document: Mapping[str, Any], key: str) -> list[Any]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise InvalidInput(f"document.{key} must be a list.")
    return value


def _code(value: Any, field: str, stored: bool) -> str:
    """A code of a document, which is stored as written: on input, already normal."""
    code = parse_code(value, field, stored=stored)
    if not stored and code != value.strip():
        raise InvalidInput(
            f'{field} "{value.strip()}" is not written in its normal form; write it as '
            f"{code} (a published document is kept as it is written)."
        )
    return code


def _amounts(value: Any, field: str, stored: bool) -> dict[str, Decimal]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{field} must be an object of name to yuan string.")
    return {
        _code(key, field, stored): parse_amount(amount, f"{field}.{key}")
        for key, amount in value.items()
    }


def _incentive(raw: Any, index: int, stored: bool) -> Incentive:
    field = f"document.incentives[{index}]"
    if not isinstance(raw, Mapping) or set(raw) != INCENTIVE_KEYS:
        raise InvalidInput(f"{field} must be an object with name, amount and signed_by.")
    return Incentive(
        name=_code(raw.get("name"), f"{field}.name", stored),
        amount=parse_amount(raw.get("amount"), f"{field}.amount"),
        signed_by=parse_time(raw.get("signed_by"), f"{field}.signed_by"),
    )


# --- valuation items -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One valued thing: a measured quantity priced by a rate, or an appraised value."""

    item: str
    quantity: Decimal | None = None
    value: Decimal | None = None

    def as_data(self) -> dict[str, Any]:
        if self.quantity is not None:
            return {"item": self.item, "quantity": self.quantity}
        return {"item": self.item, "value": self.value}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Item:
        return cls(item=data["item"], quantity=data.get("quantity"), value=data.get("value"))


def parse_items(raw: Any) -> tuple[Item, ...]:
    """Valuation items as given in a command: [{"item", "quantity" | "value"}]."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            "items must be a non-empty list such as "
            '[{"item": "building:brick_concrete", "quantity": "120.50"}].'
        )
    items: list[Item] = []
    for index, entry in enumerate(raw):
        field = f"items[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidInput(f"{field} must be an object with item and quantity or value.")
        name = parse_code(entry.get("item"), f"{field}.item")
        has_quantity, has_value = "quantity" in entry, "value" in entry
        if has_quantity == has_value:
            raise InvalidInput(f"{field} ({name}) must have exactly one of quantity or value.")
        if has_quantity:
            items.append(
                Item(name, quantity=parse_quantity(entry["quantity"], f"{field}.quantity"))
            )
        else:
            items.append(Item(name, value=parse_amount(entry["value"], f"{field}.value")))
    names = [item.item for item in items]
    if len(set(names)) != len(names):
        raise InvalidInput("items must name each item once; add the quantities together.")
    return tuple(items)


def check_items_fit(items: Iterable[Item], policy: PolicyVersion) -> None:
    """Quantities are priced by the policy's rates; everything else is appraised."""
    for item in items:
        if item.quantity is not None and item.item not in policy.rates:
            raise RuleViolation(
                f"policy {policy.policy} version {policy.version} has no rate for {item.item}; "
                f"use one of {', '.join(sorted(policy.rates))}, or give an appraised value."
            )
        if item.value is not None and item.item in policy.rates:
            raise RuleViolation(
                f"{item.item} is priced by the policy's rate; give its quantity, not a value."
            )


# --- the entitlement -------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of an entitlement, as a supervisor reads it in a dispute."""

    kind: str  # "rate", "appraised", "per_household" or "incentive"
    item: str
    amount: Decimal
    quantity: Decimal | None = None
    rate: Decimal | None = None
    condition: str | None = None
    condition_zh: str | None = None  # the same, in Chinese


@dataclass(frozen=True)
class Entitlement:
    policy: str
    version: int
    lines: tuple[Line, ...]
    total: Decimal


def entitlement(items: Sequence[Item], policy: PolicyVersion, signed_at: datetime) -> Entitlement:
    """What one ruler gives: rates x quantities + appraised values + per-household
    amounts + incentives whose condition holds at signing, rounded to the fen once."""
    lines: list[Line] = []
    for item in sorted(items, key=lambda i: i.item):
        if item.quantity is not None:
            rate = policy.rates[item.item]
            amount = MONEY.multiply(item.quantity, rate)
            lines.append(Line("rate", item.item, amount, item.quantity, rate))
        else:
            assert item.value is not None
            lines.append(Line("appraised", item.item, item.value))
    for name, amount in sorted(policy.per_household.items()):
        lines.append(Line("per_household", name, amount))
    for incentive in policy.incentives:
        if incentive.applies(signed_at):
            lines.append(
                Line(
                    "incentive",
                    incentive.name,
                    incentive.amount,
                    condition=f"signed by {incentive.signed_by.isoformat()}",
                    condition_zh=f"{incentive.signed_by.isoformat()} 前签约",
                )
            )
    total = ZERO
    for line in lines:
        total = MONEY.add(total, line.amount)
    total = to_fen(total)
    return Entitlement(policy.policy, policy.version, tuple(lines), total)
