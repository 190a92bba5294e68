"""Reading the audit log: who did what, filtered by person, household, action and day, on a
page or as an ``.xlsx``. Reading it is itself recorded."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session

from models import AuditLog, Region, User, clock
from models.enums import ReferralStatus, Role

from .audit import write_audit
from .excel import _neutralise
from .scoping import require_role, scoped

#: Most entries a page shows, newest first; an export holds up to ``EXPORT_LIMIT``.
PAGE_LIMIT = 200
EXPORT_LIMIT = 50_000

#: What each recorded action means, in the words of the people who read the log.
ACTION_LABELS: dict[str, str] = {
    "auth.login": "登录",
    "auth.login_failed": "登录失败",
    "auth.login_throttled": "登录被锁定拒绝",
    "auth.logout": "退出登录",
    "auth.password_changed": "修改密码",
    "auth.token_issued": "签发接口令牌",
    "auth.token_revoked": "撤销接口令牌",
    "access.refused": "越权访问被拒绝",
    "user.create": "创建账号",
    "user.disable": "停用账号",
    "user.enable": "启用账号",
    "user.password_reset": "重置密码",
    "audit.read": "查阅审计日志",
    "audit.export": "导出审计日志",
    "household.create": "登记困难家庭",
    "household.read": "查看困难家庭",
    "household.dossier": "查看帮扶档案",
    "charity_record.read": "查看慈善组织帮扶记录",
    "charity_households.read": "查看慈善组织服务的家庭",
    "case.archive": "结案归档",
    "household.update": "修改困难家庭",
    "household.list": "查看家庭列表",
    "household.search": "查找困难家庭",
    "household.import": "导入困难家庭",
    "household.export": "导出困难家庭",
    "household.phone_revealed": "查看完整电话",
    "household.consent_recorded": "登记授权",
    "household.consent_withdrawn": "撤回授权",
    "household.aid_added": "登记政府救助",
    "household.aid_removed": "删除政府救助",
    "member.id_revealed": "查看完整身份证号",
    "member.duplicate_check": "核查身份证号是否已登记",
    "member.duplicate_check_refused": "身份证号核查超出当日次数",
    "need.create": "登记帮扶需求",
    "need.read": "查看帮扶需求",
    "need.list": "查看需求列表",
    "need.status": "更改需求状态",
    "need.public_summary": "填写对外情况说明",
    "needs.worklist": "查看待办需求",
    "needs.rematch": "重新匹配待办需求",
    "referral.create": "发起转介",
    "referral.read": "查看转介",
    "referral.list": "查看转介列表",
    "referral.episode": "登记服务记录",
    "referral.contact_revealed": "查看家庭联系方式",
    "referral.need_text_read": "慈善组织查看需求原文",
    "referral.follow_up": "登记回访",
    "referral.follow_up_resolved": "核实回访存疑",
    "referral.pairing": "设立结对帮扶",
    "referral.pairing_ended": "提前结束结对帮扶",
    "referral.pairing_read": "查看结对帮扶",
    "attachment.upload": "上传附件",
    "attachment.download": "下载附件",
    **{f"referral.{s.value}": f"转介{s.label}" for s in ReferralStatus},
    "back_referral.create": "双向转介",
    "back_referral.list": "查看双向转介",
    "back_referral.handle": "处理双向转介",
    "organization.register": "慈善组织登记",
    "organization.register_throttled": "慈善组织登记过于频繁被拒绝",
    "organization.register_refused": "慈善组织登记未通过校验",
    "organization.verify": "认证慈善组织",
    "organization.reject": "驳回慈善组织",
    "organization.suspend": "暂停慈善组织",
    "project.create": "新建项目",
    "project.update": "修改项目",
    "project.submit": "提交项目审核",
    "project.verify": "审核通过项目",
    "project.reject": "驳回项目",
    "project.withdraw": "撤回项目",
    "project.confirm": "确认项目信息",
    "project.expire": "项目到期",
    "project.import": "导入项目",
    "project.change_approved": "批准项目修改",
    "project.change_rejected": "驳回项目修改",
    "project.stale_excluded": "项目久未确认未入台账",
    "local_resource.create": "登记本地资源",
    "local_resource.update": "修改本地资源",
    "local_resource.withdraw": "撤回本地资源",
    "ledger.publish": "发布台账",
    "station.create": "设立服务站",
    "station.update": "修改服务站",
    "station.close": "关闭服务站",
    "county.self_approval": "设置是否允许同一人发起并审批",
    "stats.read": "查看统计看板",
    "stats.report": "下载半年度报告",
    "demand.read": "查看需求缺口",
    "job.queue": "手动运行定时任务",
    "matcher.train": "训练匹配模型",
    "warning_rule.set": "设置预警规则",
    "warning_rule.reset": "恢复预警规则默认值",
    "warning.list": "查看预警清单",
    "warning.read": "查看预警",
    "warning.confirm": "确认预警并登记需求",
    "warning.dismiss": "排除预警",
    "monitoring.deliver": "报送监测数据",
    "monitoring.records_read": "查看家庭的监测记录",
    "allocation_plan.create": "制定联合分配方案",
    "allocation_plan.read": "查看联合分配方案",
    "allocation_plan.weights": "调整联合分配方案的权重",
    "allocation_plan.change_line": "改派联合分配方案的一行",
    "allocation_plan.remove_line": "从联合分配方案中移除一行",
    "allocation_plan.add_line": "向联合分配方案加入一行",
    "allocation_plan.approve": "批准联合分配方案",
}

#: The kinds of record an entry may name.
OBJECT_LABELS: dict[str, str] = {
    "User": "账号",
    "Household": "困难家庭",
    "Member": "家庭成员",
    "Need": "帮扶需求",
    "Referral": "转介",
    "BackReferral": "双向转介",
    "Organization": "慈善组织",
    "Project": "项目",
    "LedgerEdition": "台账",
    "Station": "服务站",
    "GovAid": "政府救助",
    "JobRun": "定时任务",
    "MonitoringWarning": "监测预警",
    "WarningRuleSetting": "预警规则",
    "MonitoringBatch": "监测数据批次",
    "AllocationPlan": "联合分配方案",
}


def action_label(action: str) -> str:
    """The Chinese name of a recorded action (one not yet named reads as 其他操作)."""
    return ACTION_LABELS.get(action, "其他操作")


@dataclass(frozen=True)
class AuditFilter:
    """What a reader narrows the log to; every part is optional.

    ``person`` is a username as typed at sign-in; days are Guangdong days, both included.
    """

    person: str | None = None
    household_id: int | None = None
    action: str | None = None
    from_on: dt.date | None = None
    to_on: dt.date | None = None

    def recorded(self) -> dict[str, Any]:
        """The filter as the audit record of the reading keeps it."""
        return {
            k: v.isoformat() if isinstance(v, dt.date) else v
            for k, v in asdict(self).items()
            if v not in (None, "")
        }


@dataclass(frozen=True)
class AuditRow:
    """One entry as a person reads it."""

    at: dt.datetime
    person: str
    action: str
    target: str
    region: str
    ip: str
    #: The kind of record named (困难家庭) and its number, for pages that translate the kind.
    object_label: str = ""
    object_id: str = ""


def _statement(actor: User, filters: AuditFilter) -> sa.Select[Any]:
    stmt = scoped(sa.select(AuditLog), actor)
    if filters.person:
        stmt = stmt.where(AuditLog.actor_name == filters.person.strip())
    if filters.household_id is not None:
        stmt = stmt.where(
            AuditLog.object_type == "Household", AuditLog.object_id == str(filters.household_id)
        )
    if filters.action:
        stmt = stmt.where(AuditLog.action == filters.action)
    if filters.from_on is not None:
        stmt = stmt.where(AuditLog.at >= clock.start_of(filters.from_on))
    if filters.to_on is not None:
        stmt = stmt.where(AuditLog.at < clock.start_of(filters.to_on + dt.timedelta(days=1)))
    return stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc())


def _rows(db: Session, entries: list[AuditLog]) -> list[AuditRow]:
    codes = {e.region_code for e in entries if e.region_code}
    names = {
        k: v
        for k, v in db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes)))
    }
    people = {e.actor_id for e in entries if e.actor_id is not None}
    shown = {
        k: v
        for k, v in db.execute(sa.select(User.id, User.display_name).where(User.id.in_(people)))
    }
    rows = []
    for e in entries:
        person = e.actor_name or "—"
        if e.actor_id in shown:
            person = f"{shown[e.actor_id]}（{e.actor_name}）"
        target = object_label = object_id = ""
        if e.object_type:
            object_label = OBJECT_LABELS.get(e.object_type, "记录")
            object_id = str(e.object_id) if e.object_id else ""
            target = f"{object_label} {object_id}" if object_id else object_label
        rows.append(
            AuditRow(
                at=e.at,
                person=person,
                action=action_label(e.action),
                target=target,
                region=names.get(e.region_code or "", ""),
                ip=e.ip or "",
                object_label=object_label,
                object_id=object_id,
            )
        )
    return rows


def list_audit(
    db: Session, actor: User, filters: AuditFilter, *, limit: int = PAGE_LIMIT
) -> list[AuditRow]:
    """The entries ``actor`` may read that match ``filters``, newest first, at most ``limit``.

    Administrators read everything; civil-affairs staff what happened in their region and
    what they did themselves. The reading is recorded (``audit.read``) with its filter.

    :raise Forbidden: station and charity staff.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    entries = list(db.scalars(_statement(actor, filters).limit(limit)))
    write_audit(db, actor, "audit.read", region_code=actor.region_code, detail=filters.recorded())
    return _rows(db, entries)


EXPORT_HEADERS = ("时间", "操作人", "操作", "对象", "所在区划", "来源地址")


def export_audit(db: Session, actor: User, filters: AuditFilter) -> bytes:
    """The matching entries as an ``.xlsx`` (times in Guangdong), cells safe from formulas.

    Recorded as ``audit.export`` with its filter and row count.

    :raise Forbidden: station and charity staff.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    entries = list(db.scalars(_statement(actor, filters).limit(EXPORT_LIMIT)))
    rows = _rows(db, entries)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("审计日志")
    sheet.append(list(EXPORT_HEADERS))
    for row in rows:
        at = row.at.astimezone(clock.TZ).strftime("%Y-%m-%d %H:%M:%S")
        sheet.append(
            [_neutralise(v) for v in (at, row.person, row.action, row.target, row.region, row.ip)]
        )
    out = io.BytesIO()
    book.save(out)
    write_audit(
        db,
        actor,
        "audit.export",
        region_code=actor.region_code,
        detail={**filters.recorded(), "rows": len(rows)},
    )
    return out.getvalue()
