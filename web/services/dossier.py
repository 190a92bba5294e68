"""帮扶档案: one household's whole record of help — members, government aid, every need with
its history, every referral of each need with its timeline, the service delivered and the
follow-up (回访), the pairing (结对帮扶) with its months of visits against the plan, and the
receipts, photos and signed confirmations attached to them — for the station to print or
export and the office to review.

ID numbers and phones appear only masked, as on the household page. Every opening is audited
as a read of personal data (``household.dossier``), whichever form it takes (page, export, API).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session, selectinload

from models import Attachment, FollowUp, Household, Pairing, Project, Referral, User, clock
from models.enums import (
    DisabilityType,
    HouseholdCategory,
    HouseholdSituation,
    NeedStatus,
    ReferralStatus,
    SchoolStage,
)

from .audit import looked_at, write_audit
from .excel import _neutralise
from .households import household_in_scope
from .referrals.pairings import pairing_view, visit_days
from .regions import region_label

#: How a follow-up step on a referral's timeline reads (the referral's status is unchanged).
FOLLOW_UP_STEPS = {"flagged": "回访存疑", "resolved": "回访核实"}
#: The household's satisfaction, 1–5, as the follow-up form puts it.
SATISFACTION = {1: "很不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "很满意"}


def _on(at: dt.datetime | None) -> dt.date | None:
    return clock.local_date(at) if at is not None else None


def _label(enum: Any, code: str | None) -> str | None:
    """The label of a stored code; a code the vocabulary no longer has reads as itself."""
    if code is None:
        return None
    try:
        return str(enum(code).label)
    except ValueError:
        return code


def dossier(db: Session, actor: User, household_id: int, *, form: str = "page") -> dict[str, Any]:
    """The household's 帮扶档案 as plain data: dates local, amounts in fen, every coded value
    with its Chinese label beside it; ``form`` (page, xlsx, api) goes into the audit record.

    :raise Forbidden: a charity (its view of the households it served is another thing).
    :raise NotFound: no such household, or one outside the actor's station or region.
    """
    household = household_in_scope(db, actor, household_id)
    referrals = list(
        db.scalars(
            sa.select(Referral)
            .where(Referral.need_id.in_([n.id for n in household.needs]))
            .options(
                selectinload(Referral.events),
                selectinload(Referral.episodes),
                selectinload(Referral.project).selectinload(Project.organization),
            )
            .order_by(Referral.created_at, Referral.id)
            # The whole record as stored, even where this session holds older collections.
            .execution_options(populate_existing=True)
        )
    )
    follow_ups = {
        f.referral_id: f
        for f in db.scalars(
            sa.select(FollowUp).where(FollowUp.referral_id.in_([r.id for r in referrals]))
        )
    }
    attached: dict[int, list[Attachment]] = {}
    for a in db.scalars(
        sa.select(Attachment)
        .where(Attachment.referral_id.in_([r.id for r in referrals]))
        .order_by(Attachment.uploaded_at, Attachment.id)
    ):
        attached.setdefault(a.referral_id, []).append(a)
    paired = {
        p.referral_id: p
        for p in db.scalars(
            sa.select(Pairing)
            .where(Pairing.referral_id.in_([r.id for r in referrals]))
            .options(selectinload(Pairing.alerts), selectinload(Pairing.member))
        )
    }
    visits = visit_days(db, list(paired))
    by_need: dict[int, list[dict[str, Any]]] = {}
    today = clock.today()
    for referral in referrals:
        view = _referral(referral, follow_ups.get(referral.id), attached.get(referral.id, []))
        pairing = paired.get(referral.id)
        view["pairing"] = _pairing(
            pairing_view(db, actor, referral, pairing, today, visits.get(referral.id, []))
        )
        by_need.setdefault(referral.need_id, []).append(view)
    # The photos the page shows in place are looked at with the dossier: recorded here,
    # not as a download each.
    shown = sorted(a.id for files in attached.values() for a in files)
    write_audit(
        db, actor, "household.dossier", household,
        detail={"form": form, **looked_at([household]), "attachments": shown},
    )  # fmt: skip
    return {
        "household": _household(db, household),
        "members": [_member(m) for m in household.members],
        "gov_aid": [
            {
                "aid_type": a.aid_type.value,
                "aid_type_label": a.aid_type.label,
                "amount_fen": a.amount_fen,
                "period_start_on": a.period_start_on,
                "period_end_on": a.period_end_on,
                "note": a.note,
            }  # fmt: skip
            for a in sorted(household.gov_aid, key=lambda a: a.period_start_on)
        ],
        "needs": [
            _need(n, by_need.get(n.id, []))
            for n in sorted(household.needs, key=lambda n: (n.created_at, n.id))
        ],
        "made_on": clock.today(),
    }


def _household(db: Session, h: Household) -> dict[str, Any]:
    return {
        "id": h.id,
        "head_name": h.head_name,
        "station": h.station.name,
        "place": region_label(db, h.region_code),
        "address": h.address,
        "phone_masked": h.phone_masked,
        "categories": [_label(HouseholdCategory, c) for c in h.categories],
        "situations": [_label(HouseholdSituation, c) for c in h.situations],
        "income_per_head_fen": h.income_per_head_fen,
        "medical_expense_fen": h.medical_expense_fen,
        "education_expense_fen": h.education_expense_fen,
        "consent_on": h.consent_on,
        "consent_scope": h.consent_scope,
        "consent_withdrawn_on": _on(h.consent_withdrawn_at),
        "status_label": h.status.label,
        "registered_on": _on(h.created_at),
    }


def _member(m: Any) -> dict[str, Any]:
    return {
        "name": m.name,
        "relation_label": m.relation.label,
        "id_number_masked": m.id_number_masked,
        "birth_year": m.birth_year,
        "sex_label": m.sex.label if m.sex else None,
        "disability_label": _label(DisabilityType, m.disability_type.value)
        if m.disability_type
        else None,
        "disability_grade": m.disability_grade,
        "illness": m.illness,
        "self_care_label": m.self_care.label,
        "school_stage_label": _label(SchoolStage, m.school_stage.value) if m.school_stage else None,
    }


def _need(n: Any, referrals: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": n.id,
        "domain_label": n.domain.label,
        "urgency_label": n.urgency.label,
        "text": n.text,
        "member": n.member.name if n.member else None,
        "amount_gap_fen": n.amount_gap_fen,
        "delivered_fen": n.delivered_fen or 0,
        "remaining_gap_fen": n.remaining_gap_fen,
        "status_label": n.status.label,
        "close_reason": n.close_reason,
        "registered_on": _on(n.created_at),
        "archived_on": _on(n.archived_at),
        "history": [
            {"on": _on(e.at), "status_label": _label(NeedStatus, e.to_status), "reason": e.reason}
            for e in sorted(n.events, key=lambda e: (e.at, e.id))
        ],
        "referrals": referrals,
    }


def _referral(
    r: Referral, follow_up: FollowUp | None, attachments: list[Attachment]
) -> dict[str, Any]:
    events = []
    for e in sorted(r.events, key=lambda e: (e.at, e.id)):
        step = (e.detail or {}).get("follow_up")
        label = FOLLOW_UP_STEPS.get(step) if step else _label(ReferralStatus, e.to_status)
        events.append({"on": _on(e.at), "label": label or "", "note": e.note})
    return {
        "id": r.id,
        "project": r.project.name,
        "charity": r.project.organization.name,
        "status_label": r.status.label,
        "created_on": _on(r.created_at),
        "submitted_on": _on(r.submitted_at),
        "approved_on": _on(r.approved_at),
        "answered_on": _on(r.answered_at),
        "started_on": _on(r.started_at),
        "completed_on": _on(r.completed_at),
        "archived_on": _on(r.archived_at),
        "delivered_amount_fen": r.delivered_amount_fen,
        "delivered_service": r.delivered_service,
        "events": events,
        "episodes": [
            {
                "on": e.on,
                "kind_label": e.kind.label,
                "quantity": e.quantity,
                "unit": e.unit,
                "value_fen": e.value_fen,
                "note": e.note,
            }  # fmt: skip
            for e in sorted(r.episodes, key=lambda e: (e.on, e.id))
        ],
        "follow_up": _follow_up(follow_up) if follow_up is not None else None,
        "attachments": [_attachment(a) for a in attachments],
    }


def _pairing(view: dict[str, Any] | None) -> dict[str, Any] | None:
    """The pairing as the dossier keeps it: who, with whom, for how long, and each month's
    visits against the plan, oldest first."""
    if view is None:
        return None
    kept = ("companion_name", "companion_role_label", "member_name", "starts_on", "ends_on",
            "visits_per_month", "note", "ended_on", "end_reason")  # fmt: skip
    months = [
        {k: m[k] for k in ("month", "planned", "visits", "is_current", "is_short", "is_alerted")}
        for m in reversed(view["months"])
    ]
    return {**{k: view[k] for k in kept}, "months": months}


def _attachment(a: Attachment) -> dict[str, Any]:
    """What the file is and when it came; its hash lets an inspector check a copy of the
    file against the one stored."""
    return {
        "id": a.id,
        "kind_label": a.kind.label,
        "filename": a.filename,
        "caption": a.caption,
        "media_type": a.media_type,
        "is_image": a.media_type.startswith("image/"),
        "size_bytes": a.size_bytes,
        "sha256": a.sha256,
        "uploaded_on": _on(a.uploaded_at),
    }


def _follow_up(f: FollowUp) -> dict[str, Any]:
    return {
        "is_done": f.is_done,
        "due_on": f.due_on,
        "done_on": _on(f.done_at),
        "received": f.received,
        "as_recorded": f.as_recorded,
        "satisfaction": f.satisfaction,
        "satisfaction_label": SATISFACTION.get(f.satisfaction) if f.satisfaction else None,
        "need_met": f.need_met,
        "note": f.note,
        "is_flagged": f.flagged_at is not None,
        "flagged_on": _on(f.flagged_at),
        "resolved_on": _on(f.resolved_at),
        "resolution": f.resolution,
    }


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen) / 100


def _yes(value: bool | None) -> str | None:
    return None if value is None else ("是" if value else "否")


def _joined(items: list[Any]) -> str:
    return "、".join(str(i) for i in items if i)


#: One sheet per section: its name, and each column's header with how a row gives its value.
#: Amounts are numbers in 元, dates are dates, so the sheet can be added up and sorted.
Sheet = tuple[str, list[tuple[str, Callable[[dict[str, Any]], Any]]]]
SHEETS: dict[str, Sheet] = {
    "household": ("家庭", [
        ("户主", lambda h: h["head_name"]), ("服务站", lambda h: h["station"]),
        ("所在地", lambda h: h["place"]), ("住址", lambda h: h["address"]),
        ("联系电话（已脱敏）", lambda h: h["phone_masked"]),
        ("家庭类别", lambda h: _joined(h["categories"])),
        ("家庭情形", lambda h: _joined(h["situations"])),
        ("月人均收入（元）", lambda h: _yuan(h["income_per_head_fen"])),
        ("年医疗自付（元）", lambda h: _yuan(h["medical_expense_fen"])),
        ("年教育支出（元）", lambda h: _yuan(h["education_expense_fen"])),
        ("授权日期", lambda h: h["consent_on"]), ("授权范围", lambda h: h["consent_scope"]),
        ("撤回授权日期", lambda h: h["consent_withdrawn_on"]),
        ("登记日期", lambda h: h["registered_on"]),
    ]),
    "members": ("家庭成员", [
        ("姓名", lambda m: m["name"]), ("关系", lambda m: m["relation_label"]),
        ("身份证号（已脱敏）", lambda m: m["id_number_masked"]),
        ("出生年份", lambda m: m["birth_year"]), ("性别", lambda m: m["sex_label"]),
        ("残疾", lambda m: m["disability_label"]), ("残疾等级", lambda m: m["disability_grade"]),
        ("疾病", lambda m: m["illness"]), ("自理能力", lambda m: m["self_care_label"]),
        ("就学", lambda m: m["school_stage_label"]),
    ]),
    "gov_aid": ("政府救助", [
        ("类型", lambda a: a["aid_type_label"]), ("金额（元）", lambda a: _yuan(a["amount_fen"])),
        ("起始日期", lambda a: a["period_start_on"]), ("截止日期", lambda a: a["period_end_on"]),
        ("备注", lambda a: a["note"]),
    ]),
    "needs": ("帮扶需求", [
        ("需求编号", lambda n: n["id"]), ("登记日期", lambda n: n["registered_on"]),
        ("帮扶领域", lambda n: n["domain_label"]), ("紧急程度", lambda n: n["urgency_label"]),
        ("需求描述", lambda n: n["text"]), ("对应成员", lambda n: n["member"]),
        ("缺口（元）", lambda n: _yuan(n["amount_gap_fen"])),
        ("已帮扶（元）", lambda n: _yuan(n["delivered_fen"])),
        ("尚缺（元）", lambda n: _yuan(n["remaining_gap_fen"])),
        ("状态", lambda n: n["status_label"]), ("关闭原因", lambda n: n["close_reason"]),
        ("归档日期", lambda n: n["archived_on"]),
    ]),
    "history": ("需求变更记录", [
        ("需求编号", lambda e: e["need_id"]), ("日期", lambda e: e["on"]),
        ("状态", lambda e: e["status_label"]), ("原因", lambda e: e["reason"]),
    ]),
    "referrals": ("转介", [
        ("转介编号", lambda r: r["id"]), ("需求编号", lambda r: r["need_id"]),
        ("帮扶项目", lambda r: r["project"]), ("慈善组织", lambda r: r["charity"]),
        ("状态", lambda r: r["status_label"]), ("发起日期", lambda r: r["created_on"]),
        ("提交日期", lambda r: r["submitted_on"]), ("批准日期", lambda r: r["approved_on"]),
        ("答复日期", lambda r: r["answered_on"]), ("开始服务日期", lambda r: r["started_on"]),
        ("完成日期", lambda r: r["completed_on"]), ("归档日期", lambda r: r["archived_on"]),
        ("已帮扶金额（元）", lambda r: _yuan(r["delivered_amount_fen"])),
        ("已提供服务", lambda r: r["delivered_service"]),
    ]),
    "events": ("转介经过", [
        ("转介编号", lambda e: e["referral_id"]), ("日期", lambda e: e["on"]),
        ("事项", lambda e: e["label"]), ("说明", lambda e: e["note"]),
    ]),
    "episodes": ("服务记录", [
        ("转介编号", lambda e: e["referral_id"]), ("服务日期", lambda e: e["on"]),
        ("服务类型", lambda e: e["kind_label"]), ("数量", lambda e: e["quantity"]),
        ("单位", lambda e: e["unit"]), ("折合金额（元）", lambda e: _yuan(e["value_fen"])),
        ("说明", lambda e: e["note"]),
    ]),
    "follow_ups": ("回访", [
        ("转介编号", lambda f: f["referral_id"]), ("应回访日期", lambda f: f["due_on"]),
        ("回访日期", lambda f: f["done_on"]), ("是否收到帮扶", lambda f: _yes(f["received"])),
        ("与记录一致", lambda f: _yes(f["as_recorded"])),
        ("满意度", lambda f: f["satisfaction_label"]),
        ("需求已满足", lambda f: _yes(f["need_met"])), ("回访说明", lambda f: f["note"]),
        ("提请核实日期", lambda f: f["flagged_on"]), ("核实日期", lambda f: f["resolved_on"]),
        ("核实处理情况", lambda f: f["resolution"]),
    ]),
    "pairings": ("结对帮扶", [
        ("转介编号", lambda p: p["referral_id"]), ("结对人", lambda p: p["companion_name"]),
        ("结对人身份", lambda p: p["companion_role_label"]),
        ("结对对象", lambda p: p["member_name"]), ("开始日期", lambda p: p["starts_on"]),
        ("结束日期", lambda p: p["ends_on"]), ("每月计划探访", lambda p: p["visits_per_month"]),
        ("提前结束日期", lambda p: p["ended_on"]), ("提前结束原因", lambda p: p["end_reason"]),
    ]),
    "pairing_months": ("结对探访", [
        ("转介编号", lambda m: m["referral_id"]), ("月份", lambda m: m["month"]),
        ("计划探访", lambda m: m["planned"]), ("已探访", lambda m: m["visits"]),
        ("情况", lambda m: "本月进行中" if m["is_current"]
                          else ("少于计划" if m["is_short"] else "达到计划")),
    ]),
    "attachments": ("附件", [
        ("转介编号", lambda a: a["referral_id"]), ("附于", lambda a: a["kind_label"]),
        ("文件名", lambda a: a["filename"]), ("说明", lambda a: a["caption"]),
        ("上传日期", lambda a: a["uploaded_on"]), ("大小（字节）", lambda a: a["size_bytes"]),
        ("SHA-256 校验值", lambda a: a["sha256"]),
    ]),
}  # fmt: skip


def dossier_rows(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The dossier flattened into one list of rows per sheet, each row naming its need or
    referral by number."""
    rows: dict[str, list[dict[str, Any]]] = {
        "household": [data["household"]], "members": data["members"],
        "gov_aid": data["gov_aid"], "needs": data["needs"],
        "history": [], "referrals": [], "events": [], "episodes": [], "follow_ups": [],
        "pairings": [], "pairing_months": [], "attachments": [],
    }  # fmt: skip
    for need in data["needs"]:
        rows["history"] += [{"need_id": need["id"], **e} for e in need["history"]]
        for referral in need["referrals"]:
            rows["referrals"].append({"need_id": need["id"], **referral})
            rid = {"referral_id": referral["id"]}
            rows["events"] += [{**rid, **e} for e in referral["events"]]
            rows["episodes"] += [{**rid, **e} for e in referral["episodes"]]
            if referral["follow_up"] is not None:
                rows["follow_ups"].append({**rid, **referral["follow_up"]})
            if referral["pairing"] is not None:
                rows["pairings"].append({**rid, **referral["pairing"]})
                rows["pairing_months"] += [{**rid, **m} for m in referral["pairing"]["months"]]
            rows["attachments"] += [{**rid, **a} for a in referral["attachments"]]
    return rows


def export_dossier(data: dict[str, Any]) -> bytes:
    """The dossier as an ``.xlsx``, one sheet per section; typed text that looks like a
    formula is neutralised, ID numbers and phones stay masked."""
    book = Workbook(write_only=True)
    rows = dossier_rows(data)
    for key, (title, columns) in SHEETS.items():
        sheet = book.create_sheet(title)
        sheet.append([header for header, _ in columns])
        for row in rows[key]:
            sheet.append([_neutralise(value(row)) for _, value in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
