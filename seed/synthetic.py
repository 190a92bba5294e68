"""Synthetic data for tests and benchmarks: ledger import files of any size."""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any

from openpyxl import Workbook

from models.enums import Domain, HouseholdCategory, ServiceForm, ServiceType, TargetGroup
from web.services.excel import HEADERS

_NAMES = ("助学", "助医", "助残", "关爱", "探访", "康复", "暖冬", "护苗", "颐养", "安居")
_AREAS = ("440117000000", "440232000000", "440100000000", "440200000000", "440000000000")


def project_row(rng: random.Random, number: int) -> dict[str, Any]:
    """One template row (Chinese headers → cell values) of a plausible project."""
    start = dt.date(2026, rng.choice((1, 4, 7)), 1)
    return {
        "项目名称": f"{rng.choice(_NAMES)}行动·第{number}期",
        "项目简介": "面向困难家庭提供帮扶，优先失能老人、未成年人、残疾人和重病患者。",
        "帮扶领域": "、".join(d.label for d in rng.sample(list(Domain), 2)),
        "帮扶对象": rng.choice(list(TargetGroup)).label,
        "帮扶形式": rng.choice(list(ServiceForm)).label,
        "服务类型": rng.choice(list(ServiceType)).label,
        "服务区域代码": rng.choice(_AREAS),
        "最大年龄": rng.choice((None, 18, 60)),
        "家庭类别": "、".join(c.label for c in rng.sample(list(HouseholdCategory), 2)),
        "月人均收入上限（元）": rng.choice((None, 1200, 2000)),
        "每人帮扶金额（元）": rng.choice((500, 2000, 5000)),
        "名额": rng.randint(5, 300),
        "开始日期": start,
        "结束日期": start + dt.timedelta(days=364),
        "接受简化程序": rng.choice(("是", "否")),
        "联系人": "王老师",
        "联系电话": "020-83000000",
    }


def projects_workbook(rows: list[dict[str, Any]]) -> bytes:
    """An ``.xlsx`` in the import template holding ``rows`` (keys are the Chinese headers)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("项目")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(header) for header in HEADERS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def project_rows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [project_row(rng, n) for n in range(1, count + 1)]
