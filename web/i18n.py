"""The pages' words in Chinese (the default) and English, and which a visitor reads:
`?lang=en` or `?lang=zh` switches and is remembered in the `lang` cookie."""

from __future__ import annotations

from starlette.requests import Request

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
COOKIE = "lang"

# key: (Chinese, English). A page's template asks for t("key"); a key missing here is
# a bug that the tests of every page catch (KeyError).
LABELS: dict[str, tuple[str, str]] = {
    "app": ("兴城镇房屋征收补偿台账", "Xingcheng housing-renewal ledger"),
    "home": ("首页", "Home"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "staff": ("工号", "Staff id"),
    "password": ("密码", "Password"),
    "change_password": ("修改密码", "Change password"),
    "current_password": ("当前密码", "Current password"),
    "new_password": ("新密码", "New password"),
    "repeat_password": ("再次输入新密码", "New password again"),
    "password_changed": ("密码已修改，请重新登录。", "Password changed; log in again."),
    "save": ("保存", "Save"),
    "search": ("搜索", "Search"),
    "language": ("English", "中文"),
    "logged_in_as": ("当前用户", "Logged in as"),
    "role": ("角色", "Role"),
    "role_admin": ("管理员", "administrator"),
    "role_clerk": ("工作组经办人", "group clerk"),
    "role_appraiser": ("评估师", "appraiser"),
    "role_supervisor": ("纪检监督", "supervisor"),
    "role_hotline": ("监督热线", "hotline officer"),
    "role_finance": ("财务", "finance officer"),
    "your_pages": ("您的工作页面", "Your pages"),
    "public_pages": ("公开信息", "Public information"),
    "error": ("出错了", "Something went wrong"),
    "back_home": ("返回首页", "Back to the home page"),
    # households
    "households": ("户查询", "Find a household"),
    "search_hint": (
        "输入户编号、户主姓名或身份证号",
        "A household code, the head's name or an ID number",
    ),
    "household": ("户编号", "Household"),
    "group": ("工作组", "Group"),
    "village": ("村", "Village"),
    "head": ("户主", "Head"),
    "status": ("状态", "Status"),
    "no_results": ("没有找到。", "Nothing found."),
    "as_of": ("查看时点", "As of"),
    "replay": ("回放", "Replay"),
    "now": ("现在", "Now"),
    "entitlement": ("应补偿", "Entitlement"),
    "agreed": ("协议金额", "Agreed"),
    "paid": ("已支付", "Paid"),
    "file_complete": ("档案齐全", "File complete"),
    "missing_documents": ("缺少材料", "Missing documents"),
    "vacated": ("已腾退", "Vacated"),
    "open_complaints": ("未结投诉", "Open complaints"),
    "payouts": ("支付", "Payouts"),
    "complaints": ("投诉", "Complaints"),
    "timeline": ("全部记录", "Timeline"),
    "occurred_at": ("业务时间", "Business time"),
    "recorded_at": ("记录时间", "Recorded at"),
    "actor": ("经办人", "Actor"),
    "entered_by": ("录入人", "Entered by"),
    "event": ("事项", "Event"),
    "details": ("内容", "Details"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none": ("无", "none"),
    # public
    "bulletin": ("每日进度公告", "Daily bulletin"),
    "disclosure": ("分户补偿公示", "Disclosure list"),
    "policies": ("补偿方案", "Published policies"),
    "checkpoint": ("签名检查点", "Signed checkpoint"),
    "checkpoint_size": ("检查点事件数", "Checkpoint size"),
    "no_checkpoint": ("尚未签署检查点。", "No checkpoint has been signed yet."),
    "date": ("日期", "Date"),
    "show": ("查看", "Show"),
    "programme_day": ("工作日", "Programme day"),
    "groups_progress": ("各组进度", "Groups"),
    "ranking": ("各组排名", "Ranking"),
    "chart": ("各组签约率（逐日）", "Signing rate by day"),
    "all_groups": ("全部工作组", "All groups"),
    "households_count": ("户", "households"),
    "id_number": ("身份证号", "ID number"),
    "address": ("住址", "Address"),
    "building_area": ("房屋面积（平方米）", "Building area (m²)"),
    "land_area": ("宅基地面积（平方米）", "Land area (m²)"),
    "method": ("补偿方式", "Method"),
    "version": ("版本", "version"),
    "effective": ("生效日期", "Effective"),
    "rates": ("补偿标准", "Rates"),
    "per_household": ("每户补助", "Per household"),
    "incentives": ("奖励", "Incentives"),
    "required_documents": ("所需材料", "Required documents"),
    "block_on_complaint": ("有未结投诉时暂停支付", "Payouts wait for open complaints"),
    # finance
    "ready_to_pay": ("待支付", "Ready to pay"),
    "paid_list": ("已支付清单", "Paid"),
    "cannot_pay": ("不能支付的原因", "Why it cannot be paid"),
    "confirm": ("确认支付", "Confirm"),
    "bank_reference": ("银行流水号", "Bank reference"),
    "export_xlsx": ("导出 Excel", "Export XLSX"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "payout": ("支付编号", "Payout"),
    "amount": ("金额", "Amount"),
    "requested_by": ("申请人", "Requested by"),
    "requested_at": ("申请时间", "Requested at"),
    "done": ("已完成", "Done"),
    "confirmed_at": ("确认时间", "Confirmed at"),
    "complaint": ("投诉编号", "Complaint"),
    "filed_at": ("投诉时间", "Filed at"),
    "finding": ("结论", "Finding"),
    "summary": ("摘要", "Summary"),
    "open": ("办理中", "open"),
    "resolved": ("已办结", "resolved"),
}


def language(request: Request) -> str:
    """The query's lang if it names one, else the cookie's, else Chinese."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(COOKIE)
    return remembered if remembered in LANGUAGES else DEFAULT


def translator(lang: str):  # type: ignore[no-untyped-def]
    index = LANGUAGES.index(lang)

    def t(key: str) -> str:
        return LABELS[key][index]

    return t


# What a household's timeline names each event: (Chinese, English); an event missing
# here is shown by its stored name.
EVENTS: dict[str, tuple[str, str]] = {
    "Household.Registered": ("登记", "registered"),
    "Household.Surveyed": ("入户调查", "surveyed"),
    "Household.Valued": ("评估", "valued"),
    "Household.AgreementSigned": ("签订协议", "agreement signed"),
    "Household.DeviationApproved": ("批准偏离", "deviation approved"),
    "Household.AgreementVoided": ("协议作废", "agreement voided"),
    "Household.DocumentAttached": ("上传材料", "document attached"),
    "Household.ComplaintAttached": ("关联投诉", "complaint attached"),
    "Household.PayoutRequested": ("申请支付", "payout requested"),
    "Household.PayoutConfirmed": ("确认支付", "payout confirmed"),
    "Household.Vacated": ("腾退", "vacated"),
    "Complaint.Filed": ("投诉登记", "complaint filed"),
    "Complaint.Acknowledged": ("投诉受理", "complaint acknowledged"),
    "Complaint.NoteAdded": ("投诉备注", "note added"),
    "Complaint.Resolved": ("投诉办结", "complaint resolved"),
    "Complaint.Reopened": ("投诉重新打开", "complaint reopened"),
}


def event_label(event_type: str, lang: str) -> str:
    names = EVENTS.get(event_type)
    return names[LANGUAGES.index(lang)] if names else event_type
