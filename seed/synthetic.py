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


_SURNAMES = "陈李黄张梁刘林何罗郑谢邓冯曾钟赖彭朱温"
_GIVEN = (
    "伟明",
    "秀英",
    "嘉怡",
    "浩然",
    "志强",
    "丽娟",
    "国良",
    "婉清",
    "少华",
    "振邦",
    "雪梅",
    "文辉",
)
_NEED_TEXTS = (
    ("medical", "户主长期透析，医保和医疗救助报销后自付仍较高。"),
    ("education", "孩子上学的住宿费和资料费家里负担不起。"),
    ("elderly", "老人半失能，子女外出务工，日常照料无人。"),
    ("living", "家中缺少过冬棉被和取暖用品。"),
    ("psychological", "家庭变故后情绪低落，需要心理疏导。"),
)


def id_number(area: str, born: dt.date, sequence: int) -> str:
    """A 身份证号 with a valid check digit (fictitious)."""
    from stdnum.cn import ric

    body = f"{area}{born:%Y%m%d}{sequence % 1000:03d}0"
    return body[:-1] + ric.calc_check_digit(body)


def conghua_area_code(born: dt.date) -> str:
    """从化's division code in force when someone born on ``born`` was registered: 从化县 until
    1994, 从化市 until 2014, 从化区 since (ID numbers keep the code of their time)."""
    if born.year < 1994:
        return "440122"
    return "440184" if born.year < 2014 else "440117"


def household_rows(
    households: int, region_codes: list[str], seed: int = 11
) -> list[dict[str, Any]]:
    """Template rows (one per member) of ``households`` plausible households."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    counter = 0

    def person(relation: str, age: int, **extra: Any) -> dict[str, Any]:
        nonlocal counter
        while True:
            counter += 1
            born = dt.date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
            number = id_number(conghua_area_code(born), born, counter)
            if number not in used:
                used.add(number)
                break
        return {
            "与户主关系": relation,
            "姓名": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
            "身份证号": number,
            "性别": rng.choice(("男", "女")),
            "自理能力": "自理",
            **extra,
        }

    for number in range(1, households + 1):
        key = f"S{seed}-{number}"
        head = person(
            "户主", rng.randint(30, 80),
            家庭类别=rng.choice(("低保对象", "特困人员", "低保边缘", "刚性支出困难")),
            **{"月人均收入（元）": rng.choice((600, 900, 1200)),
               "年医疗自付（元）": rng.choice((0, 8000, 30000)),
               "年教育支出（元）": rng.choice((0, 3000)),
               "所在村（社区）代码": rng.choice(region_codes),
               "住址": f"{rng.randint(1, 99)}号",
               "联系电话": f"13{rng.randint(100000000, 999999999)}",
               "授权日期": dt.date(2026, 3, 1)},
        )  # fmt: skip
        members = [head]
        if rng.random() < 0.6:
            members.append(person("配偶", rng.randint(30, 75)))
        for _ in range(rng.randint(0, 2)):
            members.append(person("子女", rng.randint(3, 17), 就学阶段="小学"))
        if rng.random() < 0.2:
            members.append(person("父母", rng.randint(70, 90), 自理能力="半失能"))
        for member in members:
            member["户编号"] = key
            rows.append(member)
    return rows


def households_workbook(rows: list[dict[str, Any]]) -> bytes:
    from web.services.households_excel import HOUSEHOLD_HEADERS

    book = Workbook(write_only=True)
    sheet = book.create_sheet("需求台账")
    sheet.append(HOUSEHOLD_HEADERS)
    for row in rows:
        sheet.append([row.get(header) for header in HOUSEHOLD_HEADERS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def need_texts() -> tuple[tuple[str, str], ...]:
    return _NEED_TEXTS
