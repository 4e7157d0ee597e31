"""One ruler, compared: a household's pricing beside its peers' (the verdict that
says where and why it differs is domain/verdict.py), what changed between two policy
versions, and the masking rules of the disclosure list (分户补偿情况公布)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.errors import RuleViolation
from domain.policy import Entitlement, Incentive, Item, Line, PolicyVersion, entitlement, item_zh
from domain.values import ZERO, format_yuan, to_fen

BUILDING = "building:"
LAND = "land:"

# --- masking -------------------------------------------------------------------

# Two-character family names (复姓). A name that starts with one keeps both
# characters; any other name keeps its first character only.
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "闻人",
        "太史",
        "端木",
        "申屠",
        "澹台",
        "万俟",
        "南宫",
        "西门",
        "赫连",
        "呼延",
        "独孤",
        "百里",
        "东郭",
        "淳于",
        "单于",
        "司空",
        "司寇",
        "公羊",
        "拓跋",
        "鲜于",
        "闾丘",
        "濮阳",
        "宗政",
        "第五",
    }
)
SHOWN_ID_DIGITS = 4


def mask_name(name: str) -> str:
    """The family name and 某: 张三 → 张某, 欧阳修 → 欧阳某. A name of one
    character is taken for a family name alone (王 → 王某)."""
    text = "".join(name.split())
    if text[:2] in COMPOUND_SURNAMES:
        return text[:2] + "某"
    return text[:1] + "某"


def mask_id_number(id_number: str | None) -> str | None:
    """All but the last four characters starred; an ID of four characters or
    fewer is starred whole, since its last four would be all of it."""
    if id_number is None:
        return None
    text = id_number.strip()
    if len(text) <= SHOWN_ID_DIGITS:
        return "*" * len(text)
    return "*" * (len(text) - SHOWN_ID_DIGITS) + text[-SHOWN_ID_DIGITS:]


# --- what two policy versions differ in ----------------------------------------

SECTIONS = (
    "rates",
    "per_household",
    "incentives",
    "required_documents",
    "deadlines",
    "block_payout_on_open_complaint",
    "effective",
    "title",
)


@dataclass(frozen=True)
class Change:
    """One difference between two versions: old is None when added, new when removed."""

    section: str
    name: str
    old: str | None
    new: str | None

    @property
    def change(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"

    def as_data(self) -> dict[str, str | None]:
        return {"name": self.name, "change": self.change, "old": self.old, "new": self.new}


def _incentive_text(incentive: Incentive) -> str:
    return f"{format_yuan(incentive.amount)} if signed by {incentive.signed_by.isoformat()}"


def _mapping_changes(section: str, old: Mapping[str, str], new: Mapping[str, str]) -> list[Change]:
    return [
        Change(section, name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def policy_diff(old: PolicyVersion, new: PolicyVersion) -> tuple[Change, ...]:
    """Everything that differs from one version to another, section by section
    (in SECTIONS order), names sorted within a section. Amounts compare by value:
    "3200.0" and "3200.00" are the same rate."""

    def yuan(amounts: Mapping[str, Decimal]) -> dict[str, str]:
        return {name: format_yuan(amount) for name, amount in amounts.items()}

    def documents(kinds: Iterable[str]) -> dict[str, str]:
        return dict.fromkeys(kinds, "required")

    changes = [
        *_mapping_changes("rates", yuan(old.rates), yuan(new.rates)),
        *_mapping_changes("per_household", yuan(old.per_household), yuan(new.per_household)),
        *_mapping_changes(
            "incentives",
            {i.name: _incentive_text(i) for i in old.incentives},
            {i.name: _incentive_text(i) for i in new.incentives},
        ),
        *_mapping_changes(
            "required_documents",
            documents(old.required_documents),
            documents(new.required_documents),
        ),
        *_mapping_changes(
            "deadlines",
            {"acknowledge_days": str(old.acknowledge_days), "resolve_days": str(old.resolve_days)},
            {"acknowledge_days": str(new.acknowledge_days), "resolve_days": str(new.resolve_days)},
        ),
        *_mapping_changes(
            "block_payout_on_open_complaint",
            {"block_payout_on_open_complaint": str(old.block_payout_on_open_complaint).lower()},
            {"block_payout_on_open_complaint": str(new.block_payout_on_open_complaint).lower()},
        ),
        *_mapping_changes(
            "effective",
            {"effective": old.effective.isoformat()},
            {"effective": new.effective.isoformat()},
        ),
        *_mapping_changes("title", {"title": old.title}, {"title": new.title}),
    ]
    return tuple(changes)


def diff_as_data(changes: Iterable[Change]) -> dict[str, list[dict[str, str | None]]]:
    """The changes grouped by section, every section present (empty when unchanged)."""
    grouped: dict[str, list[dict[str, str | None]]] = {section: [] for section in SECTIONS}
    for change in changes:
        grouped[change.section].append(change.as_data())
    return grouped


def rate_changes(old: PolicyVersion, new: PolicyVersion) -> tuple[Change, ...]:
    return tuple(c for c in policy_diff(old, new) if c.section == "rates")


def describe_changes(changes: Iterable[Change]) -> str:
    """A short phrase for people: "building:brick_concrete 3200.00 → 3300.00"."""
    return "; ".join(
        f"{c.name} {c.old or '(none)'} → {c.new or '(none)'}"
        if c.section != "required_documents"
        else f"{c.name} {'added' if c.old is None else 'removed'}"
        for c in changes
    )


def describe_changes_zh(changes: Iterable[Change]) -> str:
    """The same phrase in Chinese: "房屋（砖混结构） 3200.00 → 3300.00"."""
    return "；".join(
        f"{item_zh(c.name)} {c.old or '（无）'} → {c.new or '（无）'}"
        if c.section != "required_documents"
        else f"{c.name} {'新增' if c.old is None else '删除'}"
        for c in changes
    )


# --- one household's pricing --------------------------------------------------


def structures_of(items: Iterable[Item]) -> frozenset[str]:
    """The structure types of a valuation: its building:* items priced by a rate.
    Households are peers when these sets are equal (docs/ruler.md)."""
    return frozenset(
        i.item for i in items if i.quantity is not None and i.item.startswith(BUILDING)
    )


def building_area(items: Iterable[Item]) -> Decimal:
    return sum(
        (i.quantity for i in items if i.quantity is not None and i.item.startswith(BUILDING)),
        ZERO,
    )


def unit_rates(owed: Entitlement) -> dict[str, Decimal]:
    """The yuan per unit (m²) each priced item was paid at, read back from the
    entitlement's lines (amount / quantity), so that a rate never applied is
    never shown. A zero quantity tells nothing by division; its line's rate does."""
    rates: dict[str, Decimal] = {}
    for line in owed.lines:
        if line.kind != "rate":
            continue
        assert line.quantity is not None and line.rate is not None
        per_unit = line.amount / line.quantity if line.quantity else line.rate
        rates[line.item] = to_fen(per_unit)
    return rates


def per_m2(amount: Decimal, area: Decimal) -> Decimal | None:
    return to_fen(amount / area) if area else None


@dataclass(frozen=True)
class Quantities:
    """A valuation that prices other building areas than the current survey's."""

    valuation: str
    differences: tuple[str, ...]  # "building:brick_concrete 300.00 m² priced, 108.00 ..."
    differences_zh: tuple[str, ...]  # the same, in Chinese (domain/standard.py)
    reason: str | None
    approved_by: str | None

    def text(self, household: str) -> str:
        why = (
            f"{self.reason} (approved by {self.approved_by})"
            if self.reason is not None
            else "with no reason or approval on record"
        )
        return (
            f"{household}'s valuation {self.valuation} prices other building areas than "
            f"its survey: {'; '.join(self.differences)}; {why}."
        )

    def text_zh(self, household: str) -> str:
        why = (
            f"理由：{self.reason}（"
            + (f"经 {self.approved_by} 批准" if self.approved_by is not None else "无批准记录")
            + "）"
            if self.reason is not None
            else "无理由，也无批准记录"
        )
        return (
            f"{household} 的评估 {self.valuation} 计价的房屋面积与入户调查不符："
            f"{'；'.join(self.differences_zh)}；{why}。"
        )


@dataclass(frozen=True)
class Pricing:
    """What one ruler gave one household, as a neighbour compares it."""

    household: str
    policy: str
    version: int
    structures: frozenset[str]
    unit_rates: Mapping[str, Decimal]
    building_area: Decimal
    entitlement: Decimal
    incentives: tuple[str, ...]
    agreed: Decimal | None = None
    deviation_reason: str | None = None
    deviation_approved_by: str | None = None
    reviews: tuple[str, ...] = ()  # this household's valuations that are reviews
    # Where the priced building areas depart from the survey's, with the reason and
    # the approving supervisor carried by the valuation (None: they do not depart).
    quantities: Quantities | None = None

    @property
    def entitlement_per_m2(self) -> Decimal | None:
        return per_m2(self.entitlement, self.building_area)

    @property
    def deviation(self) -> Decimal | None:
        """How much the agreed amount departs from the entitlement (None: none)."""
        if self.agreed is None or self.agreed == self.entitlement:
            return None
        return self.agreed - self.entitlement

    @property
    def ruler(self) -> tuple[str, int, tuple[tuple[str, Decimal], ...]]:
        """The policy version and the per-unit rates: equal for peers under one ruler."""
        return (self.policy, self.version, tuple(sorted(self.unit_rates.items())))


def pricing(
    household: str,
    items: Sequence[Item],
    policy: PolicyVersion,
    priced_at: datetime,
    agreed: Decimal | None = None,
    deviation_reason: str | None = None,
    deviation_approved_by: str | None = None,
    reviews: Sequence[str] = (),
    quantities: Quantities | None = None,
) -> tuple[Pricing, Entitlement]:
    owed = entitlement(items, policy, priced_at)
    return (
        Pricing(
            household=household,
            policy=policy.policy,
            version=policy.version,
            structures=structures_of(items),
            unit_rates=unit_rates(owed),
            building_area=building_area(items),
            entitlement=owed.total,
            incentives=tuple(line.item for line in owed.lines if line.kind == "incentive"),
            agreed=agreed,
            deviation_reason=deviation_reason,
            deviation_approved_by=deviation_approved_by,
            reviews=tuple(reviews),
            quantities=quantities,
        ),
        owed,
    )


def components(owed: Entitlement) -> dict[str, Decimal]:
    """The entitlement split as the disclosure list shows it: building value
    (building:* rates), land (land:* rates), other priced items, appraised
    items, per-household amounts and incentives. Unrounded: the parts add up
    to the total before its one rounding."""
    parts = dict.fromkeys(
        ("building", "land", "other_priced", "appraised", "per_household", "incentives"), ZERO
    )
    for line in owed.lines:
        if line.kind == "rate":
            if line.item.startswith(BUILDING):
                key = "building"
            elif line.item.startswith(LAND):
                key = "land"
            else:
                key = "other_priced"
        elif line.kind == "per_household":
            key = "per_household"
        elif line.kind == "incentive":
            key = "incentives"
        else:
            key = "appraised"
        parts[key] += line.amount
    return parts


# --- reviews: what a new valuation changed ------------------------------------


@dataclass(frozen=True)
class ItemChange:
    """One item of a reviewed valuation: its quantity or value before and after
    (None where the item was absent)."""

    item: str
    before: Decimal | None
    after: Decimal | None
    unit: str  # "quantity" or "value"

    def as_data(self) -> dict[str, str | None]:
        return {
            "item": self.item,
            "unit": self.unit,
            "before": None if self.before is None else str(self.before),
            "after": None if self.after is None else str(self.after),
        }

    def text(self) -> str:
        before = "(none)" if self.before is None else str(self.before)
        after = "(none)" if self.after is None else str(self.after)
        return f"{self.item} {before} → {after}" + (" m²" if self.unit == "quantity" else "")

    def text_zh(self) -> str:
        before = "（无）" if self.before is None else str(self.before)
        after = "（无）" if self.after is None else str(self.after)
        return f"{item_zh(self.item)} {before} → {after}" + (
            " m²" if self.unit == "quantity" else ""
        )


def item_changes(before: Iterable[Item], after: Iterable[Item]) -> tuple[ItemChange, ...]:
    """What a review changed in the items, sorted by item: quantities compare by
    value, so "120.5" and "120.50" are the same area."""
    old = {i.item: i for i in before}
    new = {i.item: i for i in after}
    changes = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        x, y = _measure(a), _measure(b)
        if x != y or (a is None) != (b is None):
            either = b if b is not None else a
            unit = "quantity" if either is not None and either.quantity is not None else "value"
            changes.append(ItemChange(name, x, y, unit))
    return tuple(changes)


def _measure(item: Item | None) -> Decimal | None:
    if item is None:
        return None
    return item.quantity if item.quantity is not None else item.value


@dataclass(frozen=True)
class Review:
    """A valuation that reviews (复核) an earlier one: who, when, and what it changed.
    Both entitlements are taken at the same moment, so the difference is the
    review's alone."""

    valuation: str
    reviews: str
    actor: str
    at: datetime
    changes: tuple[ItemChange, ...]
    before: Decimal
    after: Decimal
    dropped_reason: str | None = None  # why it leaves out items of the one it reviews

    @property
    def difference(self) -> Decimal:
        return self.after - self.before


# --- a what-if: the same items under another version ---------------------------


@dataclass(frozen=True)
class LineDifference:
    kind: str
    item: str
    quantity: Decimal | None
    rate: Decimal | None
    other_rate: Decimal | None
    amount: Decimal | None  # None: the line is absent under this version
    other_amount: Decimal | None  # None: the line is absent under the other version

    @property
    def difference(self) -> Decimal:
        return (self.other_amount or ZERO) - (self.amount or ZERO)


def check_priceable(items: Iterable[Item], policy: PolicyVersion, household: str) -> None:
    missing = sorted(i.item for i in items if i.quantity is not None and i.item not in policy.rates)
    if missing:
        raise RuleViolation(
            f"policy {policy.policy} version {policy.version} has no rate for "
            f"{', '.join(missing)}, so the items of {household} cannot be priced under it; "
            "choose another version."
        )


def compare_lines(owed: Entitlement, other: Entitlement) -> tuple[LineDifference, ...]:
    """The two entitlements' lines side by side, matched by kind and item, in the
    order of the first and then the lines only the other has."""
    theirs: dict[tuple[str, str], Line] = {(ln.kind, ln.item): ln for ln in other.lines}
    rows = []
    for line in owed.lines:
        match = theirs.pop((line.kind, line.item), None)
        rows.append(
            LineDifference(
                line.kind,
                line.item,
                line.quantity,
                line.rate,
                match.rate if match else None,
                line.amount,
                match.amount if match else None,
            )
        )
    for line in theirs.values():
        rows.append(
            LineDifference(line.kind, line.item, line.quantity, None, line.rate, None, line.amount)
        )
    return tuple(rows)
