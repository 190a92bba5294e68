"""Synthetic data for tests and benchmarks: ledger import files of any size."""

from __future__ import annotations

import datetime as dt
import io
import random  # seeded generators: reproducible data, never a secret
from collections.abc import Iterator
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
    rng = random.Random(seed)  # nosec B311
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
    rng = random.Random(seed)  # nosec B311
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


# --- A synthetic province for the matcher benchmark -------------------------------------------

_DOMAIN_TEXT = {
    "medical": (
        "重特大疾病医疗救助",
        "为低收入家庭重病患者资助医保报销后的自付医疗费用，优先尿毒症透析、恶性肿瘤放化疗患者。",
    ),
    "education": (
        "困难学生助学金",
        "资助困难家庭在读学生的学费、住宿费和生活费，帮助孩子安心完成学业。",
    ),
    "disability": ("残疾人康复训练", "为残疾人提供上门康复训练、辅具适配和家属照护培训。"),
    "elderly": ("失能老人上门照护", "组织社工和志愿者为失能、半失能独居老人上门助餐、助浴、陪诊。"),
    "children": (
        "留守儿童关爱行动",
        "为留守儿童和事实无人抚养儿童提供课后托管、心理陪伴和假期营地。",
    ),
    "housing": ("困难家庭危房改造", "为农村困难家庭修缮危房、改造厨卫，适老化改造防跌倒。"),
    "employment": (
        "就业技能培训",
        "为困难家庭劳动力提供电商、家政、养殖等技能培训并推荐就业岗位。",
    ),
    "psychological": (
        "心理疏导服务",
        "为遭遇家庭变故、重病或残疾的困难群众提供专业心理咨询和情绪疏导。",
    ),
    "emergency": (
        "急难临时援助金",
        "对因交通事故、火灾、突发重病陷入困境的家庭给予一次性急难援助。",
    ),
    "living": ("生活物资帮扶", "为困难家庭发放米面油、衣物被褥等基本生活物资。"),
    "heating": ("寒冬送暖", "冬季为山区困难群众送去棉被、电暖器和过冬衣物。"),
    "rural": ("乡村振兴产业帮扶", "扶持脱贫户发展种养产业，提供种苗和技术指导。"),
}
_DOMAIN_GROUPS = {
    "medical": ("serious_illness",), "education": ("student", "minor"), "disability": ("disabled",),
    "elderly": ("disabled_elderly", "elderly"), "children": ("minor",), "housing": ("elderly",),
    "employment": (), "psychological": ("disabled", "serious_illness"), "emergency": (),
    "living": (), "heating": ("elderly",), "rural": (),
}  # fmt: skip
_PLACES = ("粤善", "南粤", "暖心", "同心", "山海", "红棉", "乡情", "阳光", "启明", "安康")


def province_projects(
    count: int, departments: list[tuple[str, str]], seed: int = 2026, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """``count`` project rows spread over ``departments`` ((region code, level) pairs).

    About 10% are provincial, 30% city and 60% county projects; most run through ``today``,
    some have ended or not started, some are full, and many carry eligibility rules.
    """
    rng = random.Random(seed)  # nosec B311
    today = today or dt.date(2026, 11, 23)
    by_level: dict[str, list[str]] = {}
    for code, level in departments:
        by_level.setdefault(level, []).append(code)
    rows = []
    domains = list(_DOMAIN_TEXT)
    for number in range(count):
        level = rng.choices(("province", "city", "county"), weights=(1, 3, 6))[0]
        department = rng.choice(by_level[level])
        domain = rng.choice(domains)
        second = rng.choice(domains) if rng.random() < 0.2 else None
        title, description = _DOMAIN_TEXT[domain]
        start = today - dt.timedelta(days=rng.randint(-30, 300))
        end = start + dt.timedelta(days=rng.choice((90, 180, 365, 730)))
        quota = rng.randint(5, 400)
        rules: dict[str, Any] = {}
        if rng.random() < 0.3:
            rules["max_age"] = rng.choice((14, 17, 25))
        elif rng.random() < 0.2:
            rules["min_age"] = 60
        if rng.random() < 0.3:
            rules["household_categories"] = rng.sample(
                ["dibao", "tekun", "dibao_edge", "rigid_expense"], 2
            )
        if rng.random() < 0.2:
            rules["max_income_per_head_fen"] = rng.choice((100_000, 150_000, 200_000))
        rows.append(
            {
                "department": department,
                "level": level,
                "name": f"{rng.choice(_PLACES)}{title}·第{number + 1}期",
                "description": description,
                "domains": [domain] + ([second] if second and second != domain else []),
                "target_groups": list(_DOMAIN_GROUPS[domain]),
                "service_area": [department],
                "quota": quota,
                "quota_used": quota if rng.random() < 0.05 else rng.randint(0, quota - 1),
                "amount_per_beneficiary_fen": rng.choice((None, 100_000, 500_000, 2_000_000)),
                "starts_on": start,
                "ends_on": end,
                "accepts_simplified": rng.random() < 0.4,
                **rules,
            }
        )
    return rows


def province_needs(count: int, regions: list[str], seed: int = 7) -> list[dict[str, Any]]:
    """``count`` households, each with one need, in ``regions`` (codes)."""
    rng = random.Random(seed)  # nosec B311
    rows = []
    texts = {
        "medical": "家里老人癌症化疗，报销后还要自己出好几万，实在拿不出来了。",
        "education": "孩子考上高中，学费住宿费家里凑不齐，担心读不下去。",
        "disability": "儿子脑瘫十几年，一直想做康复训练但附近没有机构。",
        "elderly": "奶奶中风后瘫在床上，儿女都在外打工，没人照顾吃饭洗澡。",
        "children": "父母外出打工，孩子跟着爷爷住，放学后没人辅导功课。",
        "housing": "泥砖房下雨漏水，墙也裂了，老两口住着很危险。",
        "emergency": "丈夫上个月车祸住院，家里一下子没了收入，押金都交不上。",
        "heating": "山里冬天冷，家里只有一床旧被子，老人晚上冻得睡不着。",
        "psychological": "家里出事以后她整天不说话，情绪很低落。",
        "living": "家里米和油都快吃完了，孩子的冬衣也没有。",
    }
    for number in range(count):
        domain = rng.choice(list(texts))
        age = rng.choice((8, 15, 45, 72, 80))
        rows.append(
            {
                "region_code": rng.choice(regions),
                "domain": domain,
                "text": texts[domain],
                "age": age,
                "categories": [rng.choice(["dibao", "tekun", "dibao_edge", "rigid_expense"])],
                "income_per_head_fen": rng.choice((60_000, 90_000, 120_000, 180_000)),
                "urgent": rng.random() < 0.15,
                "amount_gap_fen": rng.choice((None, 300_000, 2_000_000)),
                "key": number,
            }
        )
    return rows


# --- A synthetic Guangdong for the dashboard and worklist benchmarks --------------------------

#: What becomes of a referral, and how often (weights).
_FATES = (("submitted", 8), ("approved", 10), ("returned", 4), ("accepted", 10),
          ("declined", 12), ("in_service", 16), ("completed", 30), ("cancelled", 5),
          ("expired", 5))  # fmt: skip
#: A need's status after its latest referral.
_NEED_AFTER = {"submitted": "referred", "approved": "referred", "accepted": "referred",
               "in_service": "in_service", "completed": "fulfilled", "returned": "open",
               "declined": "open", "cancelled": "open", "expired": "open"}  # fmt: skip
_DECLINE_REASONS = ("not_eligible", "no_capacity", "out_of_area", "duplicate_aid", "other")


def guangdong(
    villages: list[tuple[str, int]],
    project_ids: list[int],
    households: int,
    referrals: int,
    now: dt.datetime,
    *,
    first_id: int = 1_000_000,
    chunk: int = 20_000,
    seed: int = 20261207,
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Rows of a synthetic Guangdong, ``chunk`` households at a time, for bulk inserts:
    ``households`` over ``villages`` ((village code, its township station's id), the real
    villages of ``guangdong_townships_villages.csv``), about 2.5 members each (head, spouse,
    children, an old parent), one need each and a second for three in ten, and ``referrals``
    of those needs in every state over the year before ``now`` (a need referred more than once
    was declined, returned or left to expire before). Ids count from ``first_id``; no ID
    numbers (the rows carry no personal data to encrypt)."""
    rng = random.Random(seed)  # nosec B311 - synthetic data
    fates = [fate for fate, weight in _FATES for _ in range(weight)]
    retried = ("declined", "returned", "expired", "cancelled")
    domains = list(_DOMAIN_TEXT_SHORT)
    needs_expected = households * 1.3
    # Needs referred at all (two in three), and referrals per referred need.
    per_referred = referrals / (needs_expected * 2 / 3)
    member_id = need_id = referral_count = 0
    for start in range(0, households, chunk):
        rows: dict[str, list[dict[str, Any]]] = {
            "households": [], "members": [], "needs": [], "referrals": []
        }  # fmt: skip
        for n in range(start, min(start + chunk, households)):
            household_id = first_id + n
            code, station_id = villages[rng.randrange(len(villages))]
            head_age = rng.randint(28, 85)
            rows["households"].append({
                "id": household_id, "station_id": station_id, "region_code": code,
                "head_name": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                "categories": [rng.choice(("dibao", "tekun", "dibao_edge", "rigid_expense"))],
                "situations": [], "income_per_head_fen": rng.choice((60_000, 90_000, 120_000)),
                "medical_expense_fen": rng.choice((0, 800_000, 3_000_000)),
                "education_expense_fen": rng.choice((0, 300_000)),
                "consent_on": (now - dt.timedelta(days=rng.randint(30, 400))).date(),
                "status": "active", "created_at": now, "updated_at": now,
            })  # fmt: skip
            ages = [("head", head_age)]
            if rng.random() < 0.55:
                ages.append(("spouse", max(20, head_age + rng.randint(-5, 5))))
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                ages.append(("child", rng.randint(1, 17)))
            if head_age < 60 and rng.random() < 0.2:
                ages.append(("parent", head_age + rng.randint(22, 30)))
            for relation, age in ages:
                member_id += 1
                rows["members"].append({
                    "id": first_id + member_id, "household_id": household_id,
                    "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN), "relation": relation,
                    "birth_year": now.year - age, "sex": rng.choice(("male", "female")),
                    "self_care": "dependent" if age > 78 else "independent",
                    "illness_kind": rng.choice(("serious", "chronic")) if rng.random() < 0.15
                    else None,
                    "disability_type": "physical" if rng.random() < 0.07 else None,
                    "school_stage": "primary" if 6 <= age <= 12 else None,
                })  # fmt: skip
            for _ in range(2 if rng.random() < 0.3 else 1):
                need_id += 1
                domain = rng.choice(domains)
                created = now - dt.timedelta(days=rng.randint(0, 365), hours=rng.randint(0, 23))
                need_row_id = first_id + need_id
                need = {
                    "id": need_row_id, "household_id": household_id, "domain": domain,
                    "text": _DOMAIN_TEXT_SHORT[domain], "status": "open",
                    "urgency": "urgent" if rng.random() < 0.1 else "normal",
                    "amount_gap_fen": rng.choice((None, 300_000, 2_000_000)),
                    "created_at": created, "updated_at": now,
                }  # fmt: skip
                rows["needs"].append(need)
                if rng.random() >= 2 / 3 or referral_count >= referrals:
                    continue
                times = int(per_referred) + (rng.random() < per_referred - int(per_referred))
                submitted = created
                for k in range(max(1, times)):
                    last = k == max(1, times) - 1
                    fate = rng.choice(fates) if last else rng.choice(retried)
                    submitted = submitted + dt.timedelta(days=rng.randint(1, 20))
                    if submitted > now:
                        submitted = now - dt.timedelta(hours=rng.randint(1, 48))
                    rows["referrals"].append(
                        _referral(rng, need_row_id, rng.choice(project_ids), fate, submitted, now)
                    )
                    referral_count += 1
                    if last:
                        need["status"] = _NEED_AFTER[fate]
        yield rows


def _referral(
    rng: random.Random, need_id: int, project_id: int, fate: str, submitted: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:  # fmt: skip
    approved = submitted + dt.timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 20))
    answered = approved + dt.timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 20))
    row: dict[str, Any] = {
        "need_id": need_id, "project_id": project_id, "status": fate, "is_simplified": False,
        "version": 1, "submitted_at": submitted, "created_at": submitted, "updated_at": now,
    }  # fmt: skip
    if fate not in ("submitted", "returned"):
        row["approved_at"] = approved
    if fate in ("accepted", "declined", "in_service", "completed"):
        row["answered_at"] = answered
    if fate == "declined":
        row["decline_reason"] = rng.choice(_DECLINE_REASONS)
    if fate in ("in_service", "completed"):
        row["started_at"] = answered + dt.timedelta(days=1)
    if fate == "completed":
        row["completed_at"] = answered + dt.timedelta(days=rng.randint(2, 40))
        row["delivered_amount_fen"] = rng.randint(50, 3000) * 100
    return row


_DOMAIN_TEXT_SHORT = {
    "medical": "家里老人癌症化疗，报销后还要自己出好几万。",
    "education": "孩子考上高中，学费住宿费家里凑不齐。",
    "disability": "儿子脑瘫十几年，想做康复训练但附近没有机构。",
    "elderly": "奶奶中风后瘫在床上，儿女在外打工，没人照顾。",
    "children": "父母外出打工，孩子放学后没人辅导功课。",
    "housing": "泥砖房下雨漏水，老两口住着很危险。",
    "emergency": "丈夫车祸住院，家里一下子没了收入。",
    "living": "家里米和油都快吃完了，孩子的冬衣也没有。",
}
