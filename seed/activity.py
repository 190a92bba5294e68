"""A few referrals of the demo households in every state, made through the workflow's own
services (so their timelines, audit records and notifications are real): what a station, an
office and a charity see on a demo server. ``flask seed activity``; the test suite does not
load them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Household, Need, Project, Referral, User, utcnow
from models.enums import DeclineReason, Domain, ServiceType
from web.services.referrals import episodes, workflow


@dataclass(frozen=True)
class Story:
    head_name: str
    domain: Domain
    project: str
    #: How far it goes: submitted, approved, declined, in_service or completed.
    until: str
    delivered_yuan: int | None = None


STORIES = (
    Story("赵金福", Domain.MEDICAL, "粤善同行·重特大疾病医疗救助", "completed", 20_000),
    Story("盘桂清", Domain.HEATING, "瑶山暖冬·高寒山区取暖关爱行动", "completed", 500),
    Story("冯志明", Domain.DISABILITY, "乳源县重度残疾人康复训练资助", "in_service"),
    Story("邓四妹", Domain.EDUCATION, "瑶乡助学金·困难家庭中小学生资助", "approved"),
    Story("林秀梅", Domain.MEDICAL, "木棉关爱·困难妇女两癌救助", "declined"),
    Story("黄金水", Domain.HOUSING, "安居工程·困难老人住房修缮与适老化改造", "submitted"),
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
        workflow.submit_referral(db, station, referral.id, acknowledge_duplicate=True)
        if story.until != "submitted":
            workflow.approve_referral(db, office, referral.id)
        if story.until == "declined":
            workflow.decline_referral(
                db, charity, referral.id, DeclineReason.NOT_ELIGIBLE,
                "该项目仅资助两癌患者，建议转介其他大病救助项目。",
            )  # fmt: skip
        if story.until in ("in_service", "completed"):
            began = utcnow() - dt.timedelta(days=21)
            workflow.accept_referral(db, charity, referral.id, now=began)
            workflow.start_service(db, charity, referral.id, now=began)
        if story.until == "in_service":
            for days_ago in (14, 7):
                episodes.add_episode(db, charity, referral.id, episodes.EpisodeInput(
                    on=today - dt.timedelta(days=days_ago), kind=ServiceType.REHABILITATION,
                    quantity=2, unit="课时", note="上门康复训练"), today=today)  # fmt: skip
        if story.until == "completed":
            amount = (story.delivered_yuan or 0) * 100
            workflow.complete_referral(db, charity, referral.id, delivered_amount_fen=amount)
        made += 1
    return made
