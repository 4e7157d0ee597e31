"""What a command did, as the API's answer to it (specs/web.md, `POST /api/v1/commands`)
and `--json` of every write command print it, and in one sentence for people, in English
(the command line) or Chinese (the pages): the household, the amount, the payee, never
an event class."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from domain.base import Recorded
from domain.complaint import Complaint, assigned_complaint_code
from domain.household import Household
from domain.ids import payout_id
from domain.payout import PayoutIndex
from domain.policy import DOCUMENT_NAMES
from domain.roles import ROLE_NAMES
from ledger.commands.declaration import Command

if TYPE_CHECKING:
    from ledger.application import Ledger


def event_type(event: Recorded) -> str:
    """The stored name of an event, such as Household.AgreementSigned."""
    return str(type(event).TOPIC).partition(":")[2]  # type: ignore[attr-defined]


def command_outcome(command: Command | str, events: Sequence[Recorded] | None) -> dict[str, Any]:
    """The API's document for a command run by `Ledger.execute`: applied, with the
    events it recorded (201), or, events None, skipped as already applied under its id
    (200). A complaint filed without an id also says the id the ledger gave it
    (`assigned`), also when skipped: it follows from the command's id."""
    command_id = command if isinstance(command, str) else command.id
    document: dict[str, Any]
    if events is None:
        document = {"id": command_id, "applied": False}
    else:
        document = {
            "id": command_id,
            "applied": True,
            "events": [
                {
                    "type": event_type(e),
                    "originator": str(e.originator_id),
                    "version": e.originator_version,
                }
                for e in events
            ],
        }
    if isinstance(command, Command):
        assigned = assigned_code(command)
        if assigned is not None:
            document["assigned"] = {"complaint": assigned}
    return document


def assigned_code(command: Command) -> str | None:
    """The complaint id the ledger gives a complaint filed without one (None: the
    command named its own, or is not a filing)."""
    if command.cmd != "file_complaint" or command.body.complaint is not None:
        return None
    return assigned_complaint_code(command.id)


def describe(
    command: Command,
    events: Sequence[Recorded],
    ledger: Ledger | None = None,
    lang: str = "en",
) -> str:
    """What an applied command did, in one sentence that names what it is about, in
    English ("en") or Chinese ("zh"). ledger: for a confirmation, which names only its
    payout, to name the payee and the amount."""
    zh = lang == "zh"
    said = _SENTENCES.get(command.cmd)
    if said is None:
        return f"已办理 {command.cmd}" if zh else f"{command.cmd} applied"
    return said(_Chinese(command.body) if zh else command.body, events, ledger, zh)


def already_sent(command: Command, lang: str = "en") -> str:
    """A form sent again under the same command id: nothing was done again."""
    if lang == "zh":
        return f"此表单已提交过（指令 {command.id}），未重复办理。"
    return f"this form was already sent (command {command.id}); nothing was done again."


# The words a sentence names that are the ledger's enumerations (a method, a finding, a
# role, a document's kind, what a complaint is about), in Chinese. Codes, names and
# amounts are said as they are.
WORDS_ZH = {
    "monetary": "货币补偿",
    "property_swap": "产权调换",
    "substantiated": "属实",
    "unsubstantiated": "不属实",
    "partial": "部分属实",
    **{role: names[0] for role, names in ROLE_NAMES.items()},
    **{kind: names[0] for kind, names in DOCUMENT_NAMES.items()},
    "household": "住户",
    "group": "工作组",
    "staff": "工作人员",
}


# The fields whose values are such words; a name, a file name or a reason is free text.
_ENUMERATED = frozenset({"method", "finding", "role", "kind"})


class _Chinese:
    """A command's body whose enumerated fields read in Chinese (WORDS_ZH)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._body, name)
        if name in _ENUMERATED and isinstance(value, str):
            return WORDS_ZH.get(value, value)
        return value


def _named(about: dict[str, str], zh: bool) -> str:
    if zh:
        return "、".join(f"{WORDS_ZH.get(kind, kind)} {code}" for kind, code in about.items())
    return ", ".join(f"{kind} {code}" for kind, code in about.items())


def _filed(body: Any, events: Sequence[Recorded], _ledger: Ledger | None, zh: bool) -> str:
    code = next((e.complaint for e in events if isinstance(e, Complaint.Filed)), body.complaint)
    if zh:
        return f"已登记投诉 {code}，反映对象：{_named(body.about, zh)}"
    return f"filed complaint {code} about {_named(body.about, zh)}"


def _confirmed(body: Any, events: Sequence[Recorded], ledger: Ledger | None, zh: bool) -> str:
    said = f"已确认支付单 {body.payout}" if zh else f"confirmed payout {body.payout}"
    if ledger is not None:
        index: PayoutIndex = ledger.repository.get(payout_id(body.payout))
        household: Household = ledger.repository.get(
            next(e.originator_id for e in events if isinstance(e, Household.PayoutConfirmed))
        )
        amount = household.payouts[body.payout].amount
        said += (
            f"：向 {index.household} 支付 {amount} 元"
            if zh
            else f" of {amount} yuan to {index.household}"
        )
    if zh:
        return f"{said}（银行流水号 {body.bank_reference}）"
    return f"{said} (bank reference {body.bank_reference})"


def _signed(body: Any, events: Sequence[Recorded], _ledger: Ledger | None, zh: bool) -> str:
    if zh:
        said = f"已记录 {body.household} 的协议 {body.agreement}：{body.amount} 元，{body.method}"
    else:
        said = (
            f"recorded agreement {body.agreement} of {body.household}: {body.amount} yuan, "
            f"{body.method.replace('_', ' ')}"
        )
    # The deviation as recorded: the approval on record it rests on names who approved.
    deviation = next(
        (e.deviation for e in events if isinstance(e, Household.AgreementSigned)), None
    )
    if deviation:
        approver = deviation.get("approved_by")
        said += f"，偏离标准，经 {approver} 批准" if zh else f", a deviation approved by {approver}"
    return said


def _enrolled(body: Any, _events: Sequence[Recorded], _ledger: Ledger | None, zh: bool) -> str:
    if zh:
        said = f"已登记工作人员 {body.staff}（{body.name}），角色：{body.role}"
        return said + (f"，{body.group}" if body.group else "")
    said = f"enrolled {body.staff} ({body.name}) as {body.role}"
    return said + (f" of {body.group}" if body.group else "")


def _published(body: Any, _events: Sequence[Recorded], _ledger: Ledger | None, zh: bool) -> str:
    document = body.document
    policy = getattr(document, "policy", None) or document.get("policy")
    version = getattr(document, "version", None) or document.get("version")
    if zh:
        return f"已发布补偿方案 {policy} 第 {version} 版"
    return f"published policy {policy} version {version}"


Sentence = Callable[[Any, Sequence[Recorded], "Ledger | None", bool], str]


def _simple(english: str, chinese: str) -> Sentence:
    return lambda body, _events, _ledger, zh: (chinese if zh else english).format(b=body)


_SENTENCES: dict[str, Sentence] = {
    "enroll_staff": _enrolled,
    "publish_policy": _published,
    "create_group": _simple(
        "created group {b.group} ({b.name})", "已设立工作组 {b.group}（{b.name}）"
    ),
    "register_household": _simple(
        "registered household {b.household} ({b.head}) in {b.group}, {b.village}",
        "已登记住户 {b.household}（{b.head}），{b.group}，{b.village}",
    ),
    "record_survey": _simple(
        "recorded the survey of {b.household}", "已记录 {b.household} 的入户调查"
    ),
    "record_valuation": _simple(
        "recorded valuation {b.valuation} of {b.household} under {b.policy} "
        "version {b.policy_version}",
        "已记录 {b.household} 的评估 {b.valuation}（补偿方案 {b.policy} 第 {b.policy_version} 版）",
    ),
    "sign_agreement": _signed,
    "add_village": _simple("declared village {b.village}", "已添加村 {b.village}"),
    "approve_deviation": _simple(
        "approved {b.amount} yuan for {b.household}",
        "已批准 {b.household} 的协议金额 {b.amount} 元",
    ),
    "refuse_deviation": _simple(
        "refused {b.amount} yuan for {b.household}", "已拒绝 {b.household} 的协议金额 {b.amount} 元"
    ),
    "void_agreement": _simple(
        "voided agreement {b.agreement} of {b.household}",
        "已作废 {b.household} 的协议 {b.agreement}",
    ),
    "attach_document": _simple(
        "attached {b.kind} ({b.filename}) to the file of {b.household}",
        "已将{b.kind}（{b.filename}）归入 {b.household} 的档案",
    ),
    "record_vacated": _simple("recorded {b.household} as vacated", "已记录 {b.household} 腾空交房"),
    "file_complaint": _filed,
    "acknowledge_complaint": _simple(
        "acknowledged complaint {b.complaint}", "已受理投诉 {b.complaint}"
    ),
    "add_to_complaint": _simple(
        "added to complaint {b.complaint}", "已补充投诉 {b.complaint} 的内容"
    ),
    "note_complaint": _simple(
        "added a note to complaint {b.complaint}", "已为投诉 {b.complaint} 添加调查备注"
    ),
    "assign_complaint": _simple(
        "assigned complaint {b.complaint} to {b.to}", "已将投诉 {b.complaint} 交办给 {b.to}"
    ),
    "resolve_complaint": _simple(
        "resolved complaint {b.complaint}: {b.finding}", "已办结投诉 {b.complaint}：{b.finding}"
    ),
    "reopen_complaint": _simple("reopened complaint {b.complaint}", "已重新打开投诉 {b.complaint}"),
    "request_payout": _simple(
        "requested payout {b.payout} of {b.amount} yuan to {b.household}",
        "已申请向 {b.household} 支付 {b.amount} 元（支付编号 {b.payout}）",
    ),
    "confirm_payout": _confirmed,
    "suspend_staff": _simple("suspended {b.staff}", "已停用工作人员 {b.staff}"),
    "reinstate_staff": _simple("reinstated {b.staff}", "已恢复工作人员 {b.staff}"),
    "change_staff_role": _simple(
        "changed the role of {b.staff} to {b.role}", "已将 {b.staff} 的角色改为{b.role}"
    ),
    "transfer_staff": _simple(
        "transferred {b.staff} to {b.group}", "已将 {b.staff} 调到 {b.group}"
    ),
}
