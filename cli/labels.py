"""Labels for people: English and Chinese (the users' own language)."""

from __future__ import annotations

COLUMNS = (
    "group",
    "households",
    "surveyed",
    "valued",
    "signed",
    "signing_rate",
    "files_complete",
    "paid",
    "open_complaints",
)

LABELS = {
    "en": {
        "group": "group",
        "name": "name",
        "households": "households",
        "surveyed": "surveyed",
        "valued": "valued",
        "signed": "signed",
        "signing_rate": "signing rate",
        "files_complete": "files complete",
        "paid": "paid",
        "open_complaints": "open complaints",
        "total": "total",
        "rank": "rank",
        "as_of": "as of",
    },
    "zh": {
        "group": "工作组",
        "name": "名称",
        "households": "户数",
        "surveyed": "已摸底",
        "valued": "已评估",
        "signed": "已签约",
        "signing_rate": "签约率",
        "files_complete": "档案完整",
        "paid": "已付清",
        "open_complaints": "未结投诉",
        "total": "全镇合计",
        "rank": "排名",
        "as_of": "截至",
    },
}

LANGUAGES = tuple(LABELS)

# The headings and field names of the terminal's tables and key-value blocks, and the
# words they show (statuses, findings, yes and no), in Chinese for `--lang zh`; what is
# not here (a code, an amount, a name, free text as recorded) is shown as it is.
HEADINGS_ZH = {
    "household": "户号",
    "group": "工作组",
    "groups": "工作组",
    "village": "村",
    "head": "户主",
    "status": "状态",
    "entitlement": "应补偿额",
    "agreed": "协议金额",
    "paid": "已付",
    "file_complete": "档案完整",
    "missing_documents": "缺少材料",
    "vacated": "已腾空",
    "open_complaints": "未结投诉",
    "events": "事件数",
    "occurred_at": "发生时间",
    "recorded_at": "记录时间",
    "actor": "经办人",
    "entered_by": "录入人",
    "event": "事件",
    "details": "详情",
    "complaint": "投诉编号",
    "channel": "渠道",
    "about": "对象",
    "summary": "内容",
    "filed_at": "登记时间",
    "acknowledged_at": "受理时间",
    "resolved_at": "办结时间",
    "finding": "结论",
    "outcome": "处理结果",
    "assignee": "承办督导",
    "acknowledge_by": "受理期限",
    "resolve_by": "办结期限",
    "overdue": "已超期",
    "due_soon": "即将到期",
    "caller": "来电人",
    "phone": "电话",
    "note": "备注",
    "text": "备注",
    "reason": "原因",
    "payout": "支付编号",
    "amount": "金额",
    "requested_by": "申请人",
    "requested_at": "申请时间",
    "confirmed_by": "确认人",
    "confirmed_at": "支付时间",
    "bank_reference": "银行流水号",
    "why": "不能支付的原因",
    "as_of": "截至",
    "kind": "类别",
    "item": "项目",
    "quantity": "数量",
    "rate": "单价",
    "condition": "条件",
    "step": "环节",
    "policy": "补偿方案",
    "version": "版本",
    "deviation": "偏离标准",
    "verdict": "结论",
    "agreement": "协议",
    "valuation": "评估",
    "act": "行为",
    "area m²": "面积 m²",
    "at": "时间",
    "by": "经办人",
    "difference": "差额",
    "entered by": "录入人",
    "other amount": "另一版本金额",
    "other rate": "另一版本单价",
    "recorded": "记录时间",
    "reviewed": "已复核",
    "what": "内容",
    "yuan/m²": "元/m²",
    "approved by": "批准人",
    "approval": "批准",
    "signed by": "签约经办人",
    "reviews": "复核对象",
    "reviewed at": "复核时间",
    "changes": "变更",
    "entitlement before": "复核前应补偿额",
    "after": "复核后",
    # report consistency's sections (cli/ruler.py, cli/checks.py)
    "voided at": "作废时间",
    "signed again": "重新签约",
    "amount again": "重签金额",
    "ID number": "身份证号",
    "households": "户号",
    "heads": "户主",
    "vacated at": "腾空时间",
    "paid then": "腾空时已付",
    "chose to": "自愿提前腾空",
    "valued at": "评估时间",
    "valued by": "评估人",
    "differences": "面积差异",
    "replaces": "取代",
    "named": "所署批准人",
    "approval recorded": "批准记录时间",
    "village's": "本村所用版本",
    "latest in effect then": "当时最新施行版本",
    "rates that differ": "不同的单价",
    # report late-entries (cli/checks.py)
    "position": "序号",
    "occurred": "发生时间",
    "late by (days)": "迟录天数",
    "checkpoint": "检查点",
    "checkpointed at": "检查点时间",
    # policy show (cli/reads.py)
    "yuan": "元",
    "per household": "每户补助",
    "incentive": "奖励",
    "sign by": "签约截止",
    "section": "部分",
    "name": "名称",
    "change": "变化",
    "old": "原值",
    "new": "新值",
}

VALUES_ZH = {
    "registered": "已登记",
    "surveyed": "已摸底",
    "valued": "已评估",
    "signed": "已签约",
    "paid": "已付清",
    "open": "未结",
    "resolved": "已办结",
    "substantiated": "属实",
    "unsubstantiated": "不属实",
    "partial": "部分属实",
    "ready": "可支付",
    "blocked": "暂不能付",
    "acknowledge": "受理",
    "resolve": "办结",
    "hotline": "电话",
    "visit": "来访",
    "letter": "来信",
    "online": "网上",
    "monetary": "货币补偿",
    "property_swap": "产权调换",
    "filed": "登记",
    "acknowledged": "受理",
    "assigned": "交办",
    "reopened": "重新办理",
    "approve_deviation": "批准偏离",
    "refuse_deviation": "不予批准偏离",
    "void_agreement": "协议作废",
    "resolve_complaint": "办结投诉",
    "confirm_payout": "确认支付",
    "none": "无",
    "none on record": "无记录",
    "not yet": "尚未",
    "named by the clerk only": "仅经办人署名",
    "added": "新增",
    "removed": "删除",
    "changed": "改变",
    True: "是",
    False: "否",
}


def heading(key: str, lang: str) -> str:
    """A table's heading or a field's name, in the language asked for."""
    return HEADINGS_ZH.get(key, key) if lang == "zh" else key


def word(value: object, lang: str) -> object:
    """A value shown in a table: in Chinese, the words of VALUES_ZH translated."""
    if lang != "zh" or not isinstance(value, str | bool):
        return value
    if isinstance(value, str) and ", " in value:
        parts = value.split(", ")
        if all(part in VALUES_ZH for part in parts):  # a list of words, not free text
            return "、".join(VALUES_ZH[part] for part in parts)
        return value
    return VALUES_ZH.get(value, value)


def entered(actor: str, entered_by: str | None, lang: str) -> str:
    """Who did it, and who entered it where someone else did (the admin's bulk entry)."""
    if entered_by is None or entered_by == actor:
        return actor
    return f"{actor}（{entered_by} 代录）" if lang == "zh" else f"{actor} (entered by {entered_by})"


def label(key: str, lang: str) -> str:
    return LABELS[lang][key]


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"
