"""The pages' words in Chinese (the default) and English, and which a visitor reads:
`?lang=en` or `?lang=zh` switches and is remembered in the `lang` cookie."""

from __future__ import annotations

from starlette.requests import Request

from domain.policy import DOCUMENT_NAMES, ITEM_NAMES
from domain.roles import ROLE_NAMES
from ledger.event_names import event_name

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
    **{f"role_{role}": names for role, names in ROLE_NAMES.items()},
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
    "confirmed_by": ("确认人", "Confirmed by"),
    "select": ("选择", "Select"),
    "why": ("原因", "Why"),
    "ready_hint": (
        "只列出现在确认即可通过的支付（协议有效、档案齐全、无阻止支付的投诉、不超过协议金额）。",
        "Only the payouts that a confirmation would now pass (agreement in force, file "
        "complete, no blocking complaint, within the agreed amount).",
    ),
    "nothing_ready": ("目前没有可以支付的款项。", "Nothing is ready to pay."),
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


# A household's status and a document's kind, as the pages name them.
TERMS: dict[str, tuple[str, str]] = {
    "registered": ("已登记", "registered"),
    "surveyed": ("已摸底", "surveyed"),
    "valued": ("已评估", "valued"),
    "signed": ("已签约", "signed"),
    "paid": ("已付清", "paid"),
    **DOCUMENT_NAMES,
    # a line of an entitlement, by kind, and the items the policies price (domain/policy.py;
    # an item not named there is shown by its key)
    "rate": ("按面积计价", "rate × quantity"),
    "appraised": ("评估作价", "appraised"),
    "per_household": ("按户补助", "per household"),
    "incentive": ("奖励", "incentive"),
    **ITEM_NAMES,
    # a step of a household's pricing record
    "survey": ("入户调查", "survey"),
    "valuation": ("评估", "valuation"),
    "review": ("复核", "review"),
    "void": ("作废协议", "agreement voided"),
    "signing": ("签订协议", "agreement signed"),  # the step "agreement" (a document's kind too)
}


def term(value: str, lang: str) -> str:
    """A status or a document kind in the page's language (as stored if unknown)."""
    names = TERMS.get(value)
    return names[LANGUAGES.index(lang)] if names else value


def event_label(event_type: str, lang: str) -> str:
    """What the household's timeline names an event (ledger/event_names.py)."""
    return event_name(event_type, lang)


# The role pages' words (web/views/clerk.py, supervisor.py, complaints.py,
# printable.py): kept apart so that the two lists grow without touching each other.
LABELS.update(
    {
        # the clerk
        "my_group": ("本组住户", "My group's households"),
        "open_file": ("打开", "Open"),
        "stage_registered": ("已登记", "registered"),
        "stage_surveyed": ("已调查", "surveyed"),
        "stage_valued": ("已评估", "valued"),
        "stage_signed": ("已签约", "signed"),
        "stage_paid": ("已支付", "paid"),
        "first_listed": (
            "只列出前100户；按状态筛选，或输入户编号打开。",
            "Only the first 100 are listed; narrow by status, or open one by its code.",
        ),
        "actions": ("办理", "Actions"),
        "household_page": ("住户页面", "Household page"),
        "survey": ("入户调查", "Survey"),
        "residents": ("常住人口", "Residents"),
        "correction_reason": (
            "更正原因（更正已有调查时填写）",
            "Why it corrects an earlier survey (if it does)",
        ),
        "notes": ("备注", "Notes"),
        "agreement": ("协议", "Agreement"),
        "agreement_number": ("协议编号", "Agreement number"),
        "method": ("补偿方式", "Method"),
        "method_monetary": ("货币补偿", "money"),
        "method_property_swap": ("产权调换", "replacement property"),
        "deviation": ("偏离标准", "Deviation"),
        "deviation_reason": ("偏离原因", "Why it departs from the entitlement"),
        "approved_by": ("批准人", "Approved by"),
        "file": ("档案材料", "File"),
        "document_kind": ("材料类型", "Document"),
        "required": ("必需", "Required"),
        "present": ("已上传", "present"),
        "missing": ("缺少", "missing"),
        "filename": ("文件名", "File name"),
        "not_kept_here": ("文件未存于本系统", "file not kept here"),
        "upload_document": ("上传材料", "Upload a document"),
        "scanned_file": ("扫描件", "Scanned file"),
        "upload": ("上传", "Upload"),
        "record_vacated": ("登记腾退", "Record vacating"),
        "vacated_confirm": (
            "确认该户已搬离并交付钥匙。",
            "Confirm that the household has moved out and handed over the keys.",
        ),
        "request_payout": ("申请支付", "Request a payout"),
        # the supervisor
        "dispute": ("争议复核", "Dispute"),
        "what_if_version": ("假设按方案版本", "What if under version"),
        "what_if": ("假设按其他方案版本", "What if under another version"),
        "what_if_versions": ("按其他版本试算", "Try another version"),
        "what_if_entitlement": ("按该版本应补偿", "Entitlement under that version"),
        "what_if_rate": ("该版本单价", "Its rate"),
        "what_if_amount": ("该版本金额", "Its amount"),
        "show": ("查看", "Show"),
        "policy": ("补偿方案", "Policy"),
        "valuation": ("评估", "Valuation"),
        "per_m2": ("每平方米", "Per m²"),
        "line_items": ("计算明细", "Line items"),
        "kind": ("类别", "Kind"),
        "item": ("项目", "Item"),
        "quantity": ("数量", "Quantity"),
        "rate": ("单价", "Rate"),
        "condition": ("条件", "Condition"),
        "incentives_not_applied": ("未适用的奖励", "Incentives not applied"),
        "peers": ("同类住户", "Peers"),
        "peers_definition": (
            "同一村中其他已评估、且现行评估所计价的房屋结构类型与本户相同的住户。",
            "The other valued households of the same village whose current valuation "
            "prices the same set of building types.",
        ),
        "record": ("记录", "Record"),
        "step": ("环节", "Step"),
        "consistency": ("一把尺子检查", "Consistency report"),
        "deviations": ("偏离标准审批", "Deviations"),
        "deviations_signed": ("已签订的偏离协议", "Agreements that deviate"),
        "approve_deviation_hint": (
            "批准后，经办人签订协议时须写明批准人为您。",
            "Once approved, the clerk's agreement names you as its approver.",
        ),
        "approve": ("批准", "Approve"),
        "refuse": ("不予批准", "Refuse"),
        "decide_deviation": ("审批偏离标准的金额", "Approve or refuse another amount"),
        "approval_recorded_at": ("批准记录时间", "Approval recorded"),
        "not_recorded": ("未单独记录", "not recorded apart"),
        "difference": ("差额", "Difference"),
        "reason": ("原因", "Reason"),
        "signed_by": ("签订经办人", "Signed by"),
        "reviews": ("复核", "Reviews"),
        "reviews_of": ("复核对象", "Reviews"),
        "before": ("复核前", "Before"),
        "after": ("复核后", "After"),
        "changes": ("变更", "Changes"),
        "policy_versions_used": ("使用的方案版本", "Policy versions in use"),
        "voided": ("作废的协议", "Voided agreements"),
        "entered_for_others": ("代录事项", "Entered for someone else"),
        "void_agreement": ("作废协议", "Void an agreement"),
        # complaints
        "complaints_inbox": ("投诉待办", "Complaints inbox"),
        "take_call": ("接听来电", "Take a call"),
        "filter_open": ("办理中", "Open"),
        "filter_due_soon": ("即将到期", "Due soon"),
        "filter_overdue": ("已超期", "Overdue"),
        "filter_all": ("全部", "All"),
        "about": ("反映对象", "About"),
        "about_household": ("住户", "household"),
        "about_group": ("工作组", "group"),
        "about_staff": ("工作人员", "staff member"),
        "about_policy": ("补偿方案", "policy"),
        "acknowledge_by": ("受理期限", "Acknowledge by"),
        "resolve_by": ("办结期限", "Resolve by"),
        "acknowledged_at": ("受理时间", "acknowledged"),
        "resolved_at": ("办结时间", "resolved"),
        "overdue": ("超期", "overdue"),
        "due_soon": ("即将到期", "due soon"),
        "assignee": ("承办人", "Assigned to"),
        "find_household": ("查找住户", "Find the household"),
        "choose": ("选择", "Choose"),
        "the_call": ("来电内容", "The call"),
        "caller": ("来电人", "Caller"),
        "caller_name": ("来电人姓名", "Caller's name"),
        "caller_phone": ("来电人电话", "Caller's telephone"),
        "channel": ("来源", "Channel"),
        "channel_hotline": ("热线电话", "hotline"),
        "channel_visit": ("来访", "visit"),
        "channel_letter": ("来信", "letter"),
        "channel_online": ("网上", "online"),
        "file_complaint": ("登记投诉", "File the complaint"),
        "tell_caller": (
            "请告知来电人投诉编号和以上两个期限。",
            "Tell the caller the complaint's id and both deadlines.",
        ),
        "act_on_complaint": ("办理", "Act on it"),
        "complaint_filed": ("登记", "filed"),
        "complaint_acknowledged": ("受理", "acknowledged"),
        "complaint_note": ("备注", "note"),
        "complaint_assigned": ("交办", "assigned"),
        "complaint_resolved": ("办结", "resolved"),
        "complaint_reopened": ("重新打开", "reopened"),
        "act_acknowledge": ("受理", "Acknowledge"),
        "act_add": ("补充内容", "Add to it"),
        "act_note": ("添加调查备注", "Add a note"),
        "act_assign": ("交办监督人员", "Assign to a supervisor"),
        "act_resolve": ("办结", "Resolve"),
        "act_reopen": ("重新打开", "Reopen"),
        "assign_to": ("交办给（工号）", "Assign to (staff id)"),
        "outcome": ("处理结果", "What was done"),
        "finding_substantiated": ("属实", "substantiated"),
        "finding_unsubstantiated": ("不属实", "unsubstantiated"),
        "finding_partial": ("部分属实", "partly substantiated"),
        # printables
        "print_agreement": ("打印协议", "Print the agreement"),
        "print_payment_notice": ("打印支付通知", "Print the payment notice"),
        "print_receipt": ("打印回执", "Print a receipt"),
        "print_hint": ("用浏览器的打印功能打印本页。", "Print this page with the browser's Print."),
        "agreement_title": ("房屋征收补偿协议", "Housing expropriation compensation agreement"),
        "payment_notice_title": ("征收补偿款支付通知", "Compensation payment notice"),
        "receipt_title": ("台账记录回执", "Ledger receipt"),
        "receipt_qr": ("回执签名的二维码", "QR code of the signed receipt"),
        "receipt_hint": (
            "本回执由台账的签名密钥签署，承诺下一个检查点包含该记录；"
            "可用 oneruler audit-verify --receipt 核验。",
            "Signed by the ledger's key: its next checkpoint includes this record. "
            "Check it with oneruler audit-verify --receipt.",
        ),
        "yuan": ("元", "yuan"),
        "signed_at": ("签订时间", "Signed at"),
        "household_signature": ("被征收人（签字、手印）", "The household (signature, thumbprint)"),
        "office_signature": ("征收部门（盖章）", "The renewal office (seal)"),
        "paid_on": ("已于", "Paid on"),
        "awaiting_confirmation": ("待财务确认", "awaiting finance's confirmation"),
        "provenance": ("出处", "Where this comes from"),
        "command_id": ("指令编号", "Command"),
        "log_leaf": ("公开日志叶序号", "Log leaf"),
        "not_logged": ("尚未记入日志", "not in the log yet"),
        "checkpoint_includes": ("包含该记录的签名检查点", "Signed checkpoint that includes it"),
        "no_checkpoint_yet": (
            "尚无签名检查点包含该记录（下一个检查点将包含）。",
            "No signed checkpoint includes it yet (the next one will).",
        ),
        "size": ("大小", "size"),
    }
)
