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
        "open_complaints": "未结举报",
        "total": "全镇合计",
        "rank": "排名",
        "as_of": "截至",
    },
}

LANGUAGES = tuple(LABELS)


def label(key: str, lang: str) -> str:
    return LABELS[lang][key]


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"
