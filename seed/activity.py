"""A few referrals of the demo households in every state, made through the workflow's own
services (so their timelines, audit records and notifications are real): what a station, an
office and a charity see on a demo server. ``flask seed activity``; the test suite does not
load them.

The charity serving 冯志明's son refers the household back to the county office (双向转介):
it may qualify for the disability subsidies it does not yet get.

One of them is a pairing (结对帮扶): an 爱心妈妈 of 青苗助学基金会 paired for a year with 李子轩,
a left-behind child (留守儿童) of 温泉镇 whose parents work in Shenzhen, two visits a month
from the first day of the month three months back. The month two months back saw one visit
only, so the demo's charity and station find that month raised in their inboxes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Household, Need, Project, Referral, User, clock, utcnow
from models.enums import CompanionRole, DeclineReason, Domain, GovAidType, ServiceType
from web.services.referrals import back_referrals, episodes, pairings, workflow


@dataclass(frozen=True)
class Story:
    head_name: str
    domain: Domain
    project: str
    #: How far it goes: submitted, approved, declined, in_service, paired (in service, with a
    #: pairing) or completed.
    until: str
    delivered_yuan: int | None = None
    #: What the charity, having met the household, tells the office it may qualify for (双向转介).
    back_referral: tuple[tuple[GovAidType, ...], str] | None = None


STORIES = (
    Story("赵金福", Domain.MEDICAL, "粤善同行·重特大疾病医疗救助", "completed", 20_000),
    Story("盘桂清", Domain.HEATING, "瑶山暖冬·高寒山区取暖关爱行动", "completed", 500),
    Story(
        "冯志明",
        Domain.DISABILITY,
        "乳源县重度残疾人康复训练资助",
        "in_service",
        back_referral=(
            (GovAidType.DISABILITY_SUBSIDY,),
            "上门康复时了解到，子豪评了二级精神残疾，家里还没有申领困难残疾人生活补贴和"
            "重度残疾人护理补贴，请核实是否符合残疾人两项补贴。",
        ),
    ),
    Story("邓四妹", Domain.EDUCATION, "瑶乡助学金·困难家庭中小学生资助", "approved"),
    Story("林秀梅", Domain.MEDICAL, "木棉关爱·困难妇女两癌救助", "declined"),
    Story("黄金水", Domain.HOUSING, "安居工程·困难老人住房修缮与适老化改造", "submitted"),
    Story("李国强", Domain.CHILDREN, "四点半课堂·留守儿童课后托管与陪伴", "paired"),
)
#: The pairing's visits: (months back, day of the month, kind, note). Two a month are planned;
#: the month two back has one.
VISITS = (
    (3, 6, ServiceType.VISITING_CARE, "入户陪伴，辅导数学作业"),
    (3, 20, ServiceType.PSYCHOLOGICAL_COMFORT, "谈心：和同学打架的事，约定先找老师"),
    (2, 17, ServiceType.VISITING_CARE, "入户陪伴，检查作业；原定月初一次因台风改期未补"),
    (1, 8, ServiceType.VISITING_CARE, "入户陪伴，和奶奶一起看成绩单"),
    (1, 22, ServiceType.PSYCHOLOGICAL_COMFORT, "带子轩和妹妹到镇图书馆借书，视频联系在深圳的父母"),
)


def _user(db: Session, **where: object) -> User:
    user = db.scalar(sa.select(User).filter_by(**where).order_by(User.id).limit(1))
    assert user is not None, where
    return user


def load_activity(db: Session, today: dt.date) -> int:
    """Walk each story's referral as far as it goes; nothing if referrals exist already."""
    if db.scalar(sa.select(sa.func.count()).select_from(Referral)):
        return 0
    made = 0
    for story in STORIES:
        need = db.scalar(
            sa.select(Need)
            .join(Household)
            .where(Household.head_name == story.head_name, Need.domain == story.domain)
        )
        project = db.scalar(sa.select(Project).where(Project.name == story.project))
        if need is None or project is None:
            continue
        station = _user(db, station_id=need.household.station_id)
        office = _user(
            db, role="civil_affairs", region_code=need.household.region_code[:6] + "0" * 6
        )
        charity = _user(db, organization_id=project.organization_id)
        referral = workflow.start_referral(db, station, need.id, project.id, score=0.82,
                                           model_version="weighted-v1")  # fmt: skip
        # A pairing began months ago: its referral was sent and approved just before.
        paired_from = _paired_from(today) if story.until == "paired" else None
        workflow.submit_referral(
            db, station, referral.id, acknowledge_duplicate=True,
            now=paired_from - dt.timedelta(days=3) if paired_from else None,
        )  # fmt: skip
        if story.until != "submitted":
            workflow.approve_referral(
                db, office, referral.id,
                now=paired_from - dt.timedelta(days=2) if paired_from else None,
            )  # fmt: skip
        if story.until == "declined":
            workflow.decline_referral(
                db, charity, referral.id, DeclineReason.NOT_ELIGIBLE,
                "该项目仅资助两癌患者，建议转介其他大病救助项目。",
            )  # fmt: skip
        if story.until == "paired":
            _pair(db, charity, referral, today)
        if story.until in ("in_service", "completed"):
            began = utcnow() - dt.timedelta(days=21)
            workflow.accept_referral(db, charity, referral.id, now=began)
            workflow.start_service(db, charity, referral.id, now=began)
        if story.until == "in_service":
            for days_ago in (14, 7):
                episodes.add_episode(db, charity, referral.id, episodes.EpisodeInput(
                    on=today - dt.timedelta(days=days_ago), kind=ServiceType.REHABILITATION,
                    quantity=2, unit="课时", note="上门康复训练"), today=today)  # fmt: skip
            if story.back_referral:
                aid_types, note = story.back_referral
                back_referrals.refer_back(db, charity, referral.id, list(aid_types), note)
        if story.until == "completed":
            amount = (story.delivered_yuan or 0) * 100
            workflow.complete_referral(db, charity, referral.id, delivered_amount_fen=amount)
        made += 1
    pairings.raise_missed_visits(db, today, utcnow())
    return made


def _paired_from(today: dt.date) -> dt.datetime:
    """When the pairing's referral was accepted: two days before the pairing starts."""
    starts_on = pairings.months_before(today, 3)
    return clock.start_of(starts_on - dt.timedelta(days=2)).astimezone(dt.UTC)


def _pair(db: Session, charity: User, referral: Referral, today: dt.date) -> None:
    """Accept and serve the referral from three months back, pair an 爱心妈妈 with the child
    the need is about, and log the visits in :data:`VISITS`."""
    starts_on = pairings.months_before(today, 3)
    began = _paired_from(today)
    workflow.accept_referral(db, charity, referral.id, now=began)
    workflow.start_service(db, charity, referral.id, now=began)
    child = referral.need.member or referral.need.household.members[-1]
    pairings.set_up_pairing(
        db, charity, referral.id,
        pairings.PairingInput(
            companion_name="何秀珍", companion_role=CompanionRole.CARING_MOTHER,
            member_id=child.id, starts_on=starts_on,
            ends_on=pairings.months_before(starts_on, -12) - dt.timedelta(days=1),
            visits_per_month=2,
            note="每月两次入户陪伴，辅导作业、谈心；寒暑假带孩子参加营地活动。",
        ),
        today=today, now=began + dt.timedelta(days=1),
    )  # fmt: skip
    for back, day, kind, note in VISITS:
        on = pairings.months_before(today, back) + dt.timedelta(days=day - 1)
        episodes.add_episode(db, charity, referral.id, episodes.EpisodeInput(
            on=on, kind=kind, unit="次", note=note), today=today)  # fmt: skip
