"""What people call each kind of event and its fields, in Chinese and in English: the
household timeline of the pages and the command line's history and late entries read
one table."""

from __future__ import annotations

import json
from typing import Any

from ledger.commands.outcome import WORDS_ZH

# (Chinese, English) for each stored event name; an event missing here is shown by its
# stored name.
EVENTS: dict[str, tuple[str, str]] = {
    "Household.Registered": ("登记", "registered"),
    "Household.Surveyed": ("入户调查", "surveyed"),
    "Household.Valued": ("评估", "valued"),
    "Household.AgreementSigned": ("签订协议", "agreement signed"),
    "Household.DeviationApproved": ("批准偏离", "deviation approved"),
    "Household.DeviationRefused": ("不予批准偏离", "deviation refused"),
    "Household.AgreementVoided": ("协议作废", "agreement voided"),
    "Household.DocumentAttached": ("上传材料", "document attached"),
    "Household.ComplaintAttached": ("关联投诉", "complaint attached"),
    "Household.PayoutRequested": ("申请支付", "payout requested"),
    "Household.PayoutConfirmed": ("确认支付", "payout confirmed"),
    "Household.Vacated": ("腾退", "vacated"),
    "Complaint.Filed": ("投诉登记", "complaint filed"),
    "Complaint.Acknowledged": ("投诉受理", "complaint acknowledged"),
    "Complaint.Assigned": ("投诉交办", "complaint assigned"),
    "Complaint.NoteAdded": ("投诉备注", "note added"),
    "Complaint.Resolved": ("投诉办结", "complaint resolved"),
    "Complaint.Reopened": ("投诉重新打开", "complaint reopened"),
    "Policy.Published": ("发布补偿方案", "policy published"),
    "Policy.NewVersionPublished": ("发布补偿方案新版本", "policy version published"),
    "Register.Opened": ("建立登记册", "register opened"),
    "Register.PolicyListed": ("登记补偿方案", "policy listed"),
    "Register.VillageAdded": ("增加村", "village added"),
    "WorkGroup.Created": ("设立工作组", "work group created"),
    "Staff.Enrolled": ("工作人员入册", "staff enrolled"),
    "Staff.RoleChanged": ("工作人员改任", "role changed"),
    "Staff.Transferred": ("工作人员调组", "staff transferred"),
    "Staff.Suspended": ("工作人员停职", "staff suspended"),
    "Staff.Reinstated": ("工作人员复职", "staff reinstated"),
    "Account.PasswordSet": ("设置密码", "password set"),
    "Account.PasswordReset": ("重置密码", "password reset"),
    "PayoutIndex.Indexed": ("登记支付编号", "payout indexed"),
    "BankReferenceIndex.Indexed": ("登记银行流水号", "bank reference indexed"),
}


def event_name(event_type: str, lang: str) -> str:
    """What people call an event in lang ("zh" or "en"): its stored name if unknown."""
    names = EVENTS.get(event_type)
    if names is None:
        return event_type
    return names[0] if lang == "zh" else names[1]


# The fields of the events, as a Chinese timeline names them (the English is the
# field's own name).
FIELDS_ZH = {
    "about": "反映对象",
    "address": "地址",
    "agreement": "协议编号",
    "amount": "金额",
    "assignee": "承办人",
    "bank_reference": "银行流水号",
    "building_area_m2": "建筑面积m²",
    "caller": "来电人",
    "channel": "渠道",
    "chose_early": "自愿提前腾空原因",
    "complaint": "投诉编号",
    "deviation": "偏离标准",
    "dropped_reason": "删减原因",
    "entitlement": "应补偿额",
    "filename": "文件名",
    "finding": "结论",
    "group": "工作组",
    "head": "户主",
    "household": "户号",
    "id_number": "身份证号",
    "items": "项目",
    "kind": "材料",
    "land_area_m2": "土地面积m²",
    "method": "补偿方式",
    "note": "备注",
    "notes": "备注",
    "outcome": "处理结果",
    "payout": "支付编号",
    "policy": "补偿方案",
    "policy_version": "方案版本",
    "quantity_deviation": "面积偏离",
    "reason": "原因",
    "residents": "人口",
    "reviews": "复核对象",
    "size": "字节数",
    "summary": "内容",
    "text": "内容",
    "to": "交办给",
    "valuation": "评估编号",
    "village": "村",
}
# A complaint's channel: the hotline is the telephone here, not the hotline's staff.
CHANNELS_ZH = {"hotline": "电话", "visit": "来访", "letter": "来信", "online": "网上"}
# The fields whose values are the ledger's enumerated words; the others are codes,
# amounts, names or free text, shown as they are.
_ENUMERATED = frozenset({"method", "finding", "kind"})


def details(data: dict[str, Any], lang: str = "en") -> str:
    """An event's fields as `name=value`; in Chinese, the names of FIELDS_ZH and the
    enumerated words (a method, a finding, a document's kind, a channel, what a
    complaint is about)."""
    return " ".join(
        f"{_field(k, lang)}={_value(k, v, lang)}" for k, v in data.items() if v is not None
    )


def _field(key: str, lang: str) -> str:
    return FIELDS_ZH.get(key, key) if lang == "zh" else key


def _value(key: str, value: Any, lang: str) -> str:
    if lang == "zh":
        if key == "channel" and isinstance(value, str):
            return CHANNELS_ZH.get(value, value)
        if key in _ENUMERATED and isinstance(value, str):
            return WORDS_ZH.get(value, value)
        if key == "about" and isinstance(value, dict):
            return "、".join(f"{WORDS_ZH.get(kind, kind)} {code}" for kind, code in value.items())
        if isinstance(value, bool):
            return "是" if value else "否"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
