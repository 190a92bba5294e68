"""The navigation bar, per role."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models import User
from models.enums import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str


_HOME = NavItem(_l("首页"), "pages.home")
_HOUSEHOLDS = NavItem(_l("困难家庭"), "pages.households")
_API_DOCS = NavItem(_l("接口文档"), "pages.api_docs")
_PASSWORD = NavItem(_l("修改密码"), "pages.change_password")
_MY_PROJECTS = NavItem(_l("我的项目"), "pages.my_projects")
_IMPORT = NavItem(_l("导入项目"), "pages.import_page")
_REVIEW = NavItem(_l("审核"), "pages.review_queue")
_LEDGERS = NavItem(_l("资源台账"), "pages.ledgers")
_LOCAL_LEDGERS = NavItem(_l("资源台账"), "pages.current_ledgers")
_WORKLIST = NavItem(_l("待办需求"), "pages.worklist_page")
_MY_REFERRALS = NavItem(_l("我的转介"), "pages.referrals_page")
_APPROVALS = NavItem(_l("转介审批"), "pages.referrals_page")
_INBOX = NavItem(_l("转介收件箱"), "pages.referrals_page")
_BACK = NavItem(_l("双向转介"), "pages.back_referrals_page")
_JOBS = NavItem(_l("定时任务"), "pages.jobs_page")
_DASHBOARD = NavItem(_l("统计看板"), "pages.dashboard")

_BY_ROLE: dict[Role, list[NavItem]] = {
    Role.STATION_STAFF: [_HOME, _HOUSEHOLDS, _WORKLIST, _MY_REFERRALS, _LOCAL_LEDGERS, _API_DOCS],
    Role.CIVIL_AFFAIRS: [
        _HOME,
        _DASHBOARD,
        _HOUSEHOLDS,
        _WORKLIST,
        _APPROVALS,
        _BACK,
        _REVIEW,
        _LEDGERS,
        _JOBS,
        _API_DOCS,
    ],  # fmt: skip
    Role.CHARITY_STAFF: [_HOME, _INBOX, _MY_PROJECTS, _IMPORT, _LEDGERS, _API_DOCS],
    Role.ADMIN: [_HOME, _DASHBOARD, _HOUSEHOLDS, _LEDGERS, _JOBS, _API_DOCS],
}


def navigation_for(user: User) -> list[NavItem]:
    return [*_BY_ROLE.get(user.role, [_HOME]), _PASSWORD]
