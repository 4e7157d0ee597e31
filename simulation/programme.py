"""A realistic renewal programme as ingest commands: set-up, a survey week, the
valuations, a signing campaign at the pace of a real one (most in the first three
days, a few holdouts at the end), reviews, deviations, a voided agreement,
complaints, files, payouts and vacating. Deterministic for a given seed."""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from domain.policy import Item, PolicyVersion, entitlement
from domain.values import LEDGER_TZ, id_number_check

START = date(2018, 3, 1)
DAYS = 30
CAMPAIGN = 13  # signing opens on the 13th day (倒排工期: counted back from the deadline)
POLICY: dict[str, Any] = {
    "policy": "XC-2018",
    "version": 1,
    "effective": "2018-03-01",
    "title": "兴城镇棚户区改造房屋征收补偿方案",
    "rates": {
        "building:brick_concrete": "3200.00",
        "building:brick_wood": "2600.00",
        "building:simple": "800.00",
        "land:homestead": "500.00",
    },
    "per_household": {"moving": "2000.00", "temporary_resettlement": "12000.00"},
    "incentives": [
        {"name": "early_signing", "amount": "20000.00", "signed_by": "2018-03-31T23:59:59+08:00"}
    ],
    "required_documents": [
        "id_card",
        "hukou",
        "property_certificate",
        "survey_form",
        "valuation_report",
        "agreement",
        "bank_account",
    ],
    "block_payout_on_open_complaint": True,
    "complaint_deadlines": {"acknowledge_days": 2, "resolve_days": 15},
}
VILLAGES = ("一村", "二村", "三村", "四村")
NUMERALS = "一二三四五六七八九十"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰凤建国文斌春梅红志海林波云峰鹏辉立新宏"
# (the share of households signed by the end of each campaign day)
SIGNING_PACE = (0.45, 0.70, 0.82, 0.88, 0.92, 0.95, 0.97, 0.98, 0.985, 0.99, 0.993, 0.996)


def group_name(index: int) -> str:
    """第一工作组 ... 第十二工作组."""
    number = NUMERALS[index - 1] if index <= 10 else "十" + NUMERALS[index - 11]
    return f"第{number}工作组"


def id_number(rng: random.Random, serial: int) -> str:
    """An 18-digit resident ID with a valid ISO 7064 check digit (never a real person's)."""
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 20_000))
    body = f"211481{born:%Y%m%d}{serial % 1000:03d}"
    return body + id_number_check(body)


def at(day: int, rng: random.Random, hour_from: int = 8, hour_to: int = 18) -> datetime:
    """A moment in office hours on programme day `day` (1-based)."""
    minute = rng.randrange(hour_from * 60, hour_to * 60)
    return datetime.combine(START + timedelta(days=day - 1), datetime.min.time(), LEDGER_TZ) + (
        timedelta(minutes=minute, seconds=rng.randrange(60))
    )


@dataclass
class Staffing:
    clerks: dict[str, list[str]] = field(default_factory=dict)  # group -> clerk ids
    appraisers: list[str] = field(default_factory=list)
    supervisors: list[str] = field(default_factory=list)
    hotline: list[str] = field(default_factory=list)
    finance: list[str] = field(default_factory=list)


class Programme:
    """Generates the commands of one programme, in business-time order within
    each block of households (the whole programme is one block up to `block`)."""

    def __init__(
        self, households: int = 1431, groups: int = 12, seed: int = 2018, block: int = 20_000
    ) -> None:
        if households < 1 or groups < 1:
            raise ValueError("a programme needs at least one household and one group.")
        self.households = households
        self.groups = min(groups, households)
        self.rng = random.Random(seed)
        self.block = block
        self.policy = PolicyVersion.from_document(POLICY)
        self.staff = Staffing()
        self.serial = 0
        # Groups of unequal size, as in a real town (100 to 145 households each).
        weights = [self.rng.randint(100, 145) for _ in range(self.groups)]
        total, running = sum(weights), 0
        self.bounds: list[int] = []
        for weight in weights:
            running += weight
            self.bounds.append(max(len(self.bounds) + 1, round(running * self.households / total)))

    # --- commands -------------------------------------------------------------

    def command(self, cmd: str, actor: str, when: datetime, **fields: Any) -> dict[str, Any]:
        self.serial += 1
        return {
            "id": f"demo-{self.serial:08d}",
            "cmd": cmd,
            "actor": actor,
            "at": when.isoformat(),
            **fields,
        }

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self.set_up()
        for first in range(1, self.households + 1, self.block):
            last = min(first + self.block - 1, self.households)
            commands = [c for n in range(first, last + 1) for c in self.household(n)]
            commands.extend(self.other_complaints(first, last))
            commands.sort(key=lambda c: c["at"])
            yield from commands

    def group_of(self, n: int) -> str:
        return f"G{bisect_left(self.bounds, n) + 1:02d}"

    def set_up(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        yield self.command("publish_policy", "admin", at(1, rng, 8, 9), document=POLICY)
        declared = datetime.combine(START, time(9), LEDGER_TZ)
        for village in VILLAGES:
            yield self.command("add_village", "admin", declared, village=village)
        for g in range(1, self.groups + 1):
            code = f"G{g:02d}"
            yield self.command(
                "create_group",
                "admin",
                at(1, rng, 9, 10),
                group=code,
                name=group_name(g) if g <= 20 else f"第{g}工作组",
            )
            clerks = [f"{code}-c{i}" for i in range(1, 9)]
            self.staff.clerks[code] = clerks
            for clerk in clerks:
                yield self.command(
                    "enroll_staff",
                    "admin",
                    at(1, rng, 10, 11),
                    staff=clerk,
                    name=self.name(),
                    role="clerk",
                    group=code,
                )
        roles = (
            ("appraiser", self.staff.appraisers, 8),
            ("supervisor", self.staff.supervisors, 6),
            ("hotline", self.staff.hotline, 4),
            ("finance", self.staff.finance, 6),
        )
        for role, members, count in roles:
            for i in range(1, count + 1):
                members.append(f"{role[:3]}-{i}")
                yield self.command(
                    "enroll_staff",
                    "admin",
                    at(1, rng, 11, 12),
                    staff=members[-1],
                    name=self.name(),
                    role=role,
                )

    def name(self) -> str:
        rng = self.rng
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))

    def signing_day(self, n: int) -> int | None:
        """The campaign day a household signs on, following SIGNING_PACE; the last
        0.4% hold out past the calendar."""
        share = self.rng.random()
        for offset, reached in enumerate(SIGNING_PACE):
            if share < reached:
                return CAMPAIGN + offset
        return None

    def household(self, n: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        code = f"XC-{n:04d}" if self.households < 10_000 else f"XC-{n:07d}"
        group = self.group_of(n)
        clerk = rng.choice(self.staff.clerks[group])
        village = VILLAGES[(int(group[1:]) - 1) * len(VILLAGES) // self.groups]
        yield self.command(
            "register_household",
            "admin",
            at(1, rng, 13, 18),
            household=code,
            group=group,
            village=village,
            head=self.name(),
            id_number=id_number(rng, n),
            address=f"兴城镇{village}{n}号",
        )
        # The survey week, then the valuations a few days later.
        survey_day = rng.randint(2, 8)
        areas = {"brick_concrete": Decimal(rng.randint(600, 1600)) / 10}
        if rng.random() < 0.3:
            areas["brick_wood"] = Decimal(rng.randint(100, 600)) / 10
        if rng.random() < 0.4:
            areas["simple"] = Decimal(rng.randint(50, 300)) / 10
        land = Decimal(rng.randint(800, 3000)) / 10
        surveyed_at = at(survey_day, rng)
        residents = rng.randint(1, 7)
        yield self.command(
            "record_survey",
            clerk,
            surveyed_at,
            household=code,
            residents=residents,
            building_area_m2={k: f"{v:.2f}" for k, v in areas.items()},
            land_area_m2=f"{land:.2f}",
        )
        items = [Item(f"building:{k}", quantity=v) for k, v in areas.items()]
        items.append(Item("land:homestead", quantity=land))
        if rng.random() < 0.3:
            items.append(Item("well", value=Decimal(rng.randint(10, 30)) * 100))
        if rng.random() < 0.2:
            items.append(Item("fruit_trees", value=Decimal(rng.randint(5, 60)) * 100))
        valuation_day = survey_day + rng.randint(1, 4)
        appraiser = rng.choice(self.staff.appraisers)
        yield self.valuation(code, appraiser, at(valuation_day, rng), f"V-{code}", items)
        sign_day = self.signing_day(n)
        if rng.random() < 0.02:
            # A review (复核) asked for by the household: the area is re-measured.
            # The clerks correct the survey, then the appraiser prices the new area.
            review_day = max(valuation_day + 1, CAMPAIGN - 1)
            items[0] = Item(items[0].item, quantity=items[0].quantity + Decimal("3.50"))  # type: ignore[operator]
            reviewed_at = at(review_day, rng, 8, 12)
            areas["brick_concrete"] += Decimal("3.50")
            yield self.command(
                "record_survey",
                clerk,
                reviewed_at - timedelta(minutes=20),
                household=code,
                residents=residents,
                building_area_m2={k: f"{v:.2f}" for k, v in areas.items()},
                land_area_m2=f"{land:.2f}",
                reason="户主申请复核，重新丈量砖混面积 (re-measured at the household's request)",
            )
            yield self.valuation(
                code, appraiser, reviewed_at, f"V-{code}-R", items, reviews=f"V-{code}"
            )
            if sign_day is not None:
                sign_day = max(sign_day, review_day + 1)
        complaint_day = None
        if rng.random() < 0.012:
            # Filed and settled before any payout of the campaign could be requested.
            complaint_day = rng.randint(3, CAMPAIGN - 4)
            yield from self.complaint_about(code, complaint_day, resolved=sign_day is not None)
        if sign_day is None:
            return
        signed_at = at(sign_day, rng, 9, 17)
        amount = entitlement(items, self.policy, signed_at).total
        agreement = f"A-{code}"
        if rng.random() < 0.0025:
            # Signed for the wrong amount by mistake, voided by a supervisor, signed again.
            yield self.command(
                "sign_agreement",
                clerk,
                signed_at,
                household=code,
                agreement=agreement + "-0",
                method="monetary",
                amount=f"{amount:.2f}",
            )
            yield self.command(
                "void_agreement",
                rng.choice(self.staff.supervisors),
                signed_at + timedelta(hours=1),
                household=code,
                agreement=agreement + "-0",
                reason="合同面积抄写错误，作废重签",
            )
            signed_at += timedelta(hours=2)
        deviation = None
        if rng.random() < 0.002:
            amount += Decimal("5000.00")
            reason = "低保困难户生活补助 (hardship allowance)"
            supervisor = rng.choice(self.staff.supervisors)
            # The supervisor approves the amount in the record before the clerk signs.
            yield self.command(
                "approve_deviation",
                supervisor,
                signed_at - timedelta(minutes=30),
                household=code,
                amount=f"{amount:.2f}",
                reason=reason,
            )
            deviation = {"reason": reason, "approved_by": supervisor}
        method = "property_swap" if rng.random() < 0.15 else "monetary"
        fields: dict[str, Any] = {
            "household": code,
            "agreement": agreement,
            "method": method,
            "amount": f"{amount:.2f}",
        }
        if deviation:
            fields["deviation"] = deviation
        yield self.command("sign_agreement", clerk, signed_at, **fields)
        # "Sign one, complete one": the file is completed over the next days.
        file_day: int | None = sign_day
        for kind in POLICY["required_documents"]:
            if kind == "bank_account" and rng.random() < 0.04:
                file_day = None  # this household has not brought its bank details yet
                break
            day = min(DAYS, sign_day + rng.randint(0, 3))
            file_day = max(file_day or day, day)
            digest = hashlib.sha256(f"{code}/{kind}/{self.serial}".encode()).hexdigest()
            yield self.command(
                "attach_document",
                clerk,
                at(day, rng, 8, 12),
                household=code,
                kind=kind,
                sha256=digest,
                filename=f"{code}-{kind}.pdf",
            )
        if file_day is None or file_day + 1 > DAYS:
            return
        request_day = file_day + 1
        yield self.command(
            "request_payout",
            clerk,
            at(request_day, rng, 9, 11),
            payout=f"P-{code}",
            household=code,
            amount=f"{amount:.2f}",
        )
        confirm_day = request_day + rng.randint(0, 2)
        if confirm_day > DAYS or rng.random() < 0.02:
            return  # the payout still waits for finance at the end of the calendar
        yield self.command(
            "confirm_payout",
            rng.choice(self.staff.finance),
            at(confirm_day, rng, 14, 17),
            payout=f"P-{code}",
            bank_reference=f"NXS{confirm_day:02d}{n:07d}",
        )
        vacate_day = confirm_day + rng.randint(1, 6)
        if vacate_day <= DAYS:
            yield self.command("record_vacated", clerk, at(vacate_day, rng), household=code)

    def valuation(
        self,
        code: str,
        appraiser: str,
        when: datetime,
        valuation: str,
        items: list[Item],
        reviews: str | None = None,
    ) -> dict[str, Any]:
        extra = {"reviews": reviews} if reviews else {}
        return self.command(
            "record_valuation",
            appraiser,
            when,
            household=code,
            valuation=valuation,
            policy="XC-2018",
            policy_version=1,
            items=[
                {"item": i.item, "quantity": f"{i.quantity:.2f}"}
                if i.quantity is not None
                else {"item": i.item, "value": f"{i.value:.2f}"}
                for i in items
            ],
            **extra,
        )

    def complaint_about(self, code: str, day: int, resolved: bool) -> Iterator[dict[str, Any]]:
        rng = self.rng
        complaint = f"C-{code}"
        filed = at(day, rng, 8, 10)
        yield self.command(
            "file_complaint",
            rng.choice(self.staff.hotline),
            filed,
            complaint=complaint,
            channel=rng.choice(("hotline", "visit", "letter")),
            about={"household": code},
            summary="户主反映邻居同类房屋补偿单价更高，要求说明 (asks why a neighbour got more)",
        )
        yield self.command(
            "acknowledge_complaint",
            rng.choice(self.staff.hotline),
            filed + timedelta(hours=rng.randint(2, 20)),
            complaint=complaint,
        )
        if resolved:
            yield self.command(
                "resolve_complaint",
                rng.choice(self.staff.supervisors),
                filed + timedelta(days=rng.randint(1, 4)),
                complaint=complaint,
                finding=rng.choice(("unsubstantiated", "partial")),
                outcome="已按同一补偿方案复核并向户主说明 (explained by replaying the record)",
            )

    def other_complaints(self, first: int, last: int) -> Iterator[dict[str, Any]]:
        """A few complaints about a group or a staff member, some still open at the end."""
        rng = self.rng
        for k in range(max(1, (last - first + 1) // 400)):
            group = self.group_of(rng.randint(first, last))
            day = rng.randint(5, DAYS)
            filed = at(day, rng, 8, 10)
            about: dict[str, str] = (
                {"group": group} if k % 2 == 0 else {"staff": rng.choice(self.staff.clerks[group])}
            )
            complaint = f"C-{group}-{first}-{k}"
            yield self.command(
                "file_complaint",
                rng.choice(self.staff.hotline),
                filed,
                complaint=complaint,
                channel="hotline",
                about=about,
                summary="反映工作人员入户测量态度生硬 (a measuring team was rude)",
            )
            if day + 3 <= DAYS and k % 3 != 2:
                yield self.command(
                    "resolve_complaint",
                    rng.choice(self.staff.supervisors),
                    filed + timedelta(days=3),
                    complaint=complaint,
                    finding="partial",
                    outcome="已约谈并通报批评 (team warned)",
                )


def last_day() -> datetime:
    """The end of the programme's last calendar day."""
    return datetime.combine(START + timedelta(days=DAYS - 1), datetime.max.time(), LEDGER_TZ)
