"""What people call each kind of event, in Chinese and in English: the household
timeline of the pages and the command line's history and late entries read one table."""

from __future__ import annotations

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
    "PayoutIndex.Indexed": ("登记付款编号", "payout indexed"),
    "BankReferenceIndex.Indexed": ("登记银行流水号", "bank reference indexed"),
}


def event_name(event_type: str, lang: str) -> str:
    """What people call an event in lang ("zh" or "en"): its stored name if unknown."""
    names = EVENTS.get(event_type)
    if names is None:
        return event_type
    return names[0] if lang == "zh" else names[1]
