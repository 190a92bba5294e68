"""The navigation bar, per role.

A role's bar is a short list of entries: a link, or a named group of links that opens as a
dropdown. Five entries or fewer keep the header on one line at 1280 px. Administration pages
join the 系统管理 group (``SYSTEM``) of the roles that may open them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models import User
from models.enums import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str


@dataclass(frozen=True)
class NavGroup:
    label: str
    items: tuple[NavItem, ...]

    def holds(self, endpoint: str | None) -> bool:
        """Whether the page at ``endpoint`` is one of this group's."""
        return any(item.endpoint == endpoint for item in self.items)


NavEntry = NavItem | NavGroup

_HOME = NavItem(_l("首页"), "pages.home")
_HOUSEHOLDS = NavItem(_l("困难家庭"), "pages.households")
_API_DOCS = NavItem(_l("接口文档"), "pages.api_docs")
_MY_PROJECTS = NavItem(_l("我的项目"), "pages.my_projects")
_IMPORT = NavItem(_l("导入项目"), "pages.import_page")
_RECORD = NavItem(_l("帮扶记录"), "pages.charity_record_page")
_REVIEW = NavItem(_l("审核"), "pages.review_queue")
_LEDGERS = NavItem(_l("资源台账"), "pages.ledgers")
_LOCAL_LEDGERS = NavItem(_l("资源台账"), "pages.current_ledgers")
_LOCAL_RESOURCES = NavItem(_l("本地资源"), "pages.local_resources_page")
_WORKLIST = NavItem(_l("待办需求"), "pages.worklist_page")
_MY_REFERRALS = NavItem(_l("我的转介"), "pages.referrals_page")
_APPROVALS = NavItem(_l("转介审批"), "pages.referrals_page")
_INBOX = NavItem(_l("转介收件箱"), "pages.referrals_page")
_BACK = NavItem(_l("双向转介"), "pages.back_referrals_page")
_ALLOCATION = NavItem(_l("联合分配"), "pages.allocation_plans")
_JOBS = NavItem(_l("定时任务"), "pages.jobs_page")
_DASHBOARD = NavItem(_l("统计看板"), "pages.dashboard")
_DEMAND = NavItem(_l("需求缺口"), "pages.demand_page")
_COUNTY = NavItem(_l("本县设置"), "pages.county_settings")
_WARNINGS = NavItem(_l("预警工作台"), "pages.warnings_page")
_WARNING_RULES = NavItem(_l("预警规则"), "pages.warning_settings")
_FEEDS = NavItem(_l("部门数据报送"), "pages.monitoring_upload")
_USERS = NavItem(_l("用户账号"), "pages.users_page")
_ORGANIZATIONS = NavItem(_l("慈善组织"), "pages.organizations_page")
_STATIONS = NavItem(_l("服务站"), "pages.stations_page")
_AUDIT = NavItem(_l("审计日志"), "pages.audit_page")
_ADMINISTRATION = (_USERS, _ORGANIZATIONS, _STATIONS, _AUDIT)

#: The group that user, organization, station and audit-log pages join as they are added.
SYSTEM = _l("系统管理")

_BY_ROLE: dict[Role, list[NavEntry]] = {
    Role.STATION_STAFF: [
        _HOME,
        _HOUSEHOLDS,
        _WORKLIST,
        _WARNINGS,
        _MY_REFERRALS,
        NavGroup(_l("资源"), (_LOCAL_LEDGERS, _LOCAL_RESOURCES)),
        _API_DOCS,
    ],
    Role.CIVIL_AFFAIRS: [
        _HOME,
        NavGroup(
            _l("需求与转介"),
            (_HOUSEHOLDS, _WORKLIST, _WARNINGS, _APPROVALS, _ALLOCATION, _BACK, _DEMAND),
        ),
        NavGroup(_l("资源台账"), (_LEDGERS, _REVIEW)),
        _DASHBOARD,
        NavGroup(SYSTEM, (*_ADMINISTRATION, _COUNTY, _WARNING_RULES, _FEEDS, _JOBS, _API_DOCS)),
    ],
    # Six entries at most: a charity's projects, their Excel import and its half-year record
    # share one.
    Role.CHARITY_STAFF: [
        _HOME,
        _INBOX,
        _DEMAND,
        NavGroup(_l("我的项目"), (_MY_PROJECTS, _IMPORT, _RECORD)),
        _LEDGERS,
        _API_DOCS,
    ],
    Role.ADMIN: [
        _HOME,
        _DASHBOARD,
        _HOUSEHOLDS,
        _LEDGERS,
        NavGroup(SYSTEM, (*_ADMINISTRATION, _JOBS, _API_DOCS)),
    ],
    # A department's account delivers monitoring batches and reaches nothing else.
    Role.DATA_PROVIDER: [_HOME, _FEEDS, _API_DOCS],
}


def navigation_for(user: User) -> list[NavEntry]:
    """The entries of ``user``'s navigation bar, in order (修改密码 is in the account menu)."""
    return list(_BY_ROLE.get(user.role, [_HOME]))
