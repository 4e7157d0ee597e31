"""The verdict of a dispute: where and why a household's pricing departs from its
peers', each sentence in English and in Chinese built side by side from the same
figures, so that the two never say different things (docs/ruler.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.policy import PolicyVersion, item_zh, structure_zh
from domain.ruler import (
    BUILDING,
    Pricing,
    Review,
    describe_changes,
    describe_changes_zh,
    rate_changes,
)
from domain.values import format_yuan

# What sets a household apart, by finding kind, as the Chinese summary names it.
APART_ZH = {
    "policy_version": "补偿方案版本",
    "deviation": "偏离标准",
    "quantities": "计价面积与调查不符",
    "review": "复核",
    "incentive": "奖励",
}


@dataclass(frozen=True)
class Finding:
    """One place where pricing departs from the ruler. `own` findings are about
    the household itself; the others explain why a peer got more or less."""

    # policy_version, deviation, quantities, review, incentive (own);
    # peer_policy_version, peer_deviation, peer_review (a peer's)
    kind: str
    text: str
    text_zh: str
    own: bool
    households: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    same_ruler: bool
    summary: str
    summary_zh: str
    findings: tuple[Finding, ...] = field(default=())


def _list(codes: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(codes[:limit])
    return shown if len(codes) <= limit else f"{shown} and {len(codes) - limit} more"


def _list_zh(codes: Sequence[str], limit: int = 8) -> str:
    shown = "、".join(codes[:limit])
    return shown if len(codes) <= limit else f"{shown}及另外 {len(codes) - limit} 户"


def _rate_text(rates: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{item} {format_yuan(rate)}" for item, rate in sorted(rates.items()))


def _rate_text_zh(rates: Mapping[str, Decimal]) -> str:
    return "、".join(
        f"{item_zh(item)} {format_yuan(rate)} 元" for item, rate in sorted(rates.items())
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _signed(amount: Decimal) -> str:
    return ("+" if amount >= 0 else "-") + format_yuan(abs(amount))


def _of_zh(k: int, n: int) -> str:
    """ "5 户同类住户中有 2 户"; "5 户同类住户全部", "唯一的 1 户同类住户" when it is all
    of them; "5 户同类住户中没有一户" when none."""
    if k == n:
        return "唯一的 1 户同类住户" if n == 1 else f"{n} 户同类住户全部"
    return f"{n} 户同类住户中没有一户" if k == 0 else f"{n} 户同类住户中有 {k} 户"


def _incentive_zh(name: str) -> str:
    """An incentive by its Chinese name ("提前签约奖励"), or its key and the word."""
    named = item_zh(name)
    return named if named != name else f"{name} 奖励"


def _version_zh(policy: str, version: int) -> str:
    return f"补偿方案 {policy} 第 {version} 版"


def _approval_zh(supervisor: str | None) -> str:
    return f"经 {supervisor} 批准" if supervisor is not None else "无批准记录"


def verdict(
    own: Pricing,
    peers: Sequence[Pricing],
    versions: Mapping[tuple[str, int], PolicyVersion],
    own_reviews: Sequence[Review] = (),
    priced_at: datetime | None = None,
) -> Verdict:
    """Compare a household with its peers: where it was priced differently and
    why (another policy version and the rates that differ; a deviation; a
    review; an incentive missed), and what made a peer's amount differ."""
    findings: list[Finding] = []
    here = f"{own.policy} version {own.version}"
    here_zh = _version_zh(own.policy, own.version)
    n = len(peers)

    # Other rulers: peers under another policy version, and which rates differ.
    # Whoever is in the minority (a tie counts against the household) departs.
    by_ruler: dict[tuple[str, int], list[Pricing]] = {}
    for peer in peers:
        by_ruler.setdefault((peer.policy, peer.version), []).append(peer)
    mine = len(by_ruler.get((own.policy, own.version), [])) + 1
    ours = versions.get((own.policy, own.version))
    for key, group in sorted(by_ruler.items()):
        if key == (own.policy, own.version):
            continue
        codes = [p.household for p in group]
        theirs = versions.get(key)
        changes = rate_changes(ours, theirs) if ours and theirs else ()
        changed, changed_zh = describe_changes(changes), describe_changes_zh(changes)
        differ = f"whose rates differ: {changed}" if changed else "with the same rates"
        differ_zh = f"两版单价不同：{changed_zh}" if changed_zh else "两版单价相同"
        apart = [
            (item, own.unit_rates[item], rate)
            for item, rate in sorted(group[0].unit_rates.items())
            if own.unit_rates.get(item) not in (None, rate)
        ]
        per_unit = ", ".join(
            f"{item} {format_yuan(this)} against {format_yuan(that)}" for item, this, that in apart
        )
        per_unit_zh = "，".join(
            f"{item_zh(item)} 本户 {format_yuan(this)} 元、对方 {format_yuan(that)} 元"
            for item, this, that in apart
        )
        detail = f"{differ}{'; per m² ' + per_unit if per_unit else ''}"
        detail_zh = f"{differ_zh}{'；每平方米单价 ' + per_unit_zh if per_unit_zh else ''}"
        there_zh = _version_zh(*key)
        if mine > len(group):
            text = (
                f"{_count(len(group), 'peer')} of {n} ({_list(codes)}) "
                f"{'was' if len(group) == 1 else 'were'} priced under {key[0]} version "
                f"{key[1]}, not {here} as {own.household} and most of its peers, {detail}."
            )
            text_zh = (
                f"{_of_zh(len(group), n)}（{_list_zh(codes)}）按{there_zh}计价，"
                f"而不是 {own.household} 及多数同类住户所用的{here_zh}，{detail_zh}。"
            )
            findings.append(Finding("peer_policy_version", text, text_zh, False, tuple(codes)))
            continue
        text = (
            f"{own.household} was priced under {here}; {len(group)} of {n} peers "
            f"({_list(codes)}) under {key[0]} version {key[1]}, {detail}."
        )
        text_zh = (
            f"{own.household} 按{here_zh}计价；{_of_zh(len(group), n)}"
            f"（{_list_zh(codes)}）按{there_zh}计价，{detail_zh}。"
        )
        findings.append(Finding("policy_version", text, text_zh, True, tuple(codes)))

    if own.deviation is not None and own.agreed is not None:
        direction = "more" if own.deviation > 0 else "less"
        findings.append(
            Finding(
                "deviation",
                f"{own.household} agreed {format_yuan(own.agreed)}, "
                f"{format_yuan(abs(own.deviation))} {direction} than its entitlement "
                f"{format_yuan(own.entitlement)}: {own.deviation_reason} "
                f"(approved by {own.deviation_approved_by}).",
                f"{own.household} 协议金额 {format_yuan(own.agreed)} 元，比应补偿额 "
                f"{format_yuan(own.entitlement)} 元{'多' if own.deviation > 0 else '少'} "
                f"{format_yuan(abs(own.deviation))} 元，偏离标准；理由：{own.deviation_reason}"
                f"（{_approval_zh(own.deviation_approved_by)}）。",
                own=True,
            )
        )

    if own.quantities is not None:
        findings.append(
            Finding(
                "quantities",
                own.quantities.text(own.household),
                own.quantities.text_zh(own.household),
                own=True,
            )
        )

    for review in own_reviews:
        changed_items = "; ".join(c.text() for c in review.changes) or "no item"
        changed_items_zh = "；".join(c.text_zh() for c in review.changes) or "无项目变化"
        findings.append(
            Finding(
                "review",
                f"valuation {review.valuation} (entered by {review.actor} on "
                f"{review.at.isoformat()}) reviews {review.reviews}: {changed_items}; "
                f"the entitlement changed by {_signed(review.difference)} "
                f"({format_yuan(review.before)} → {format_yuan(review.after)}); "
                "the rates did not change.",
                f"评估 {review.valuation}（{review.actor} 于 {review.at.isoformat()} 录入）"
                f"复核评估 {review.reviews}：{changed_items_zh}；应补偿额变动 "
                f"{_signed(review.difference)} 元（{format_yuan(review.before)} 元 → "
                f"{format_yuan(review.after)} 元）；单价未变。",
                own=True,
            )
        )

    # Incentives the household missed that peers under the same version received.
    same = by_ruler.get((own.policy, own.version), [])
    for incentive in ours.incentives if ours else ():
        if incentive.name in own.incentives:
            continue
        got = [p.household for p in same if incentive.name in p.incentives]
        if got:
            when = f"on {priced_at.isoformat()}, " if priced_at is not None else ""
            when_zh = f"于 {priced_at.isoformat()} 计价，" if priced_at is not None else "计价时"
            deadline = incentive.signed_by.isoformat()
            findings.append(
                Finding(
                    "incentive",
                    f"the {incentive.name} incentive ({format_yuan(incentive.amount)}) "
                    f"is for agreements signed by {deadline}; "
                    f"{own.household} was priced {when}after it, while {len(got)} of "
                    f"{n} peers signed in time.",
                    f"{_incentive_zh(incentive.name)}（{format_yuan(incentive.amount)} 元）限于 "
                    f"{deadline} 前签订的协议；{own.household} {when_zh}已过期限，"
                    f"而 {_of_zh(len(got), n)}按时签约。",
                    own=True,
                    households=tuple(got),
                )
            )

    for peer in peers:
        if peer.deviation is None:
            continue
        findings.append(
            Finding(
                "peer_deviation",
                f"peer {peer.household} agreed {_signed(peer.deviation)} against its "
                f"entitlement: {peer.deviation_reason} "
                f"(approved by {peer.deviation_approved_by}).",
                f"同类住户 {peer.household} 的协议金额比其应补偿额"
                f"{'多' if peer.deviation > 0 else '少'} "
                f"{format_yuan(abs(peer.deviation))} 元，偏离标准；理由："
                f"{peer.deviation_reason}（{_approval_zh(peer.deviation_approved_by)}）。",
                own=False,
                households=(peer.household,),
            )
        )
    reviewed = [p.household for p in peers if p.reviews]
    if reviewed:
        findings.append(
            Finding(
                "peer_review",
                f"{_count(len(reviewed), 'peer')} had a valuation reviewed ({_list(reviewed)}): "
                "a review changes measured quantities or appraised values, not rates.",
                f"{len(reviewed)} 户同类住户的评估经过复核（{_list_zh(reviewed)}）："
                "复核改变的是测量的数量或评估的价值，而不是单价。",
                own=False,
                households=tuple(reviewed),
            )
        )

    # A review or a missed incentive sets the amount apart under the same rates;
    # another version or a deviation is another ruler.
    # Areas priced other than surveyed: not measured by the same ruler.
    same_ruler = not any(f.kind in ("policy_version", "deviation", "quantities") for f in findings)
    summary, summary_zh = _summary(own, peers, same_ruler, findings)
    return Verdict(same_ruler, summary, summary_zh, tuple(findings))


def _summary(
    own: Pricing, peers: Sequence[Pricing], same_ruler: bool, findings: Sequence[Finding]
) -> tuple[str, str]:
    """The summary in English and in Chinese."""
    names = sorted(s.removeprefix(BUILDING) for s in own.structures)
    structures = ", ".join(names) or "none"
    structures_zh = "、".join(structure_zh(n) for n in names) or "无"
    h = own.household
    if not peers:
        return (
            f"{h} has no peers (no other valued household of its village with "
            f"the structure types {structures}); there is nobody to compare it with.",
            f"{h} 没有同类住户（本村没有其他已评估、房屋结构同为{structures_zh}的住户），"
            "无从比较。",
        )
    kinds = sorted({f.kind for f in findings if f.own}, key=lambda k: k.replace("_", " "))
    apart = ", ".join(k.replace("_", " ") for k in kinds)
    apart_zh = "、".join(APART_ZH[k] for k in kinds)
    if own.quantities is not None:
        return (
            f"{h} was not measured by the same ruler as its peers: its "
            f"valuation prices other building areas than its survey measured; what sets it "
            f"apart: {apart} (see the findings).",
            f"{h} 与同类住户不是用同一把尺子量的：其评估计价的房屋面积与入户调查测量的不符；"
            f"不同之处：{apart_zh}（详见各项说明）。",
        )
    if same_ruler:
        n = len(peers)
        alike = Counter(p.ruler for p in peers)[own.ruler]
        ruler = (
            f"{h} was priced by the same ruler as its {n} peers: "
            f"{own.policy} version {own.version}, the same rate per m² for every priced item "
            f"({_rate_text(own.unit_rates)}; {alike} of {n} peers have "
            "exactly these) and no deviation"
        )
        ruler_zh = (
            f"{h} 与其 {n} 户同类住户用同一把尺子计价：{_version_zh(own.policy, own.version)}，"
            f"各计价项目每平方米单价相同（{_rate_text_zh(own.unit_rates)}；"
            f"{_of_zh(alike, n)}单价与之完全相同），且无偏离标准"
        )
        if apart:
            return (
                f"{ruler}; what sets its amount apart: {apart} (see the findings).",
                f"{ruler_zh}；其金额的不同之处：{apart_zh}（详见各项说明）。",
            )
        return (
            f"{ruler}, no review. Its entitlement per m² of building area differs from a "
            "peer's only through land area, appraised items, the fixed per-household "
            "amounts and incentives, not through the rates.",
            f"{ruler_zh}，也无复核。其每平方米建筑面积的应补偿额与同类住户的差别，"
            "只来自土地面积、评估项目、每户固定补助和奖励，而不是单价。",
        )
    return (
        f"{h} was priced differently from its peers: {apart} (see the findings).",
        f"{h} 与同类住户的计价标准不同：{apart_zh}（详见各项说明）。",
    )
