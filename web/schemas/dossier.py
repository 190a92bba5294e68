"""帮扶档案 (``GET /api/v1/households/<id>/dossier``): labels beside values, amounts in fen,
ID numbers and phones masked."""

from __future__ import annotations

from marshmallow import fields

from .base import BaseSchema

_Label = fields.String
_Fen = fields.Integer


class DossierHouseholdSchema(BaseSchema):
    id = fields.Integer()
    head_name = fields.String()
    station = fields.String(metadata={"description": "服务站名称"})
    place = fields.String(metadata={"description": "所在地（省市县镇村）"})
    address = fields.String(allow_none=True)
    phone_masked = fields.String(allow_none=True, metadata={"description": "脱敏电话"})
    categories = fields.List(_Label(), metadata={"description": "家庭类别（中文）"})
    situations = fields.List(_Label(), metadata={"description": "家庭情形（中文）"})
    income_per_head_fen = _Fen()
    medical_expense_fen = _Fen()
    education_expense_fen = _Fen()
    consent_on = fields.Date(allow_none=True)
    consent_scope = fields.String(allow_none=True)
    consent_withdrawn_on = fields.Date(allow_none=True)
    status_label = _Label()
    registered_on = fields.Date(allow_none=True)


class DossierMemberSchema(BaseSchema):
    name = fields.String()
    relation_label = _Label()
    id_number_masked = fields.String(allow_none=True, metadata={"description": "脱敏身份证号"})
    birth_year = fields.Integer(allow_none=True)
    sex_label = _Label(allow_none=True)
    disability_label = _Label(allow_none=True)
    disability_grade = fields.Integer(allow_none=True)
    illness = fields.String(allow_none=True)
    self_care_label = _Label()
    school_stage_label = _Label(allow_none=True)


class DossierAidSchema(BaseSchema):
    aid_type = fields.String()
    aid_type_label = _Label()
    amount_fen = _Fen()
    period_start_on = fields.Date()
    period_end_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)


class DossierNeedEventSchema(BaseSchema):
    on = fields.Date()
    status_label = _Label()
    reason = fields.String(allow_none=True)


class DossierReferralEventSchema(BaseSchema):
    on = fields.Date()
    label = _Label(metadata={"description": "事项：转介状态，或回访存疑、回访核实"})
    note = fields.String(allow_none=True)


class DossierEpisodeSchema(BaseSchema):
    on = fields.Date()
    kind_label = _Label()
    quantity = fields.Integer()
    unit = fields.String()
    value_fen = _Fen()
    note = fields.String(allow_none=True)


class DossierFollowUpSchema(BaseSchema):
    is_done = fields.Boolean()
    due_on = fields.Date()
    done_on = fields.Date(allow_none=True)
    received = fields.Boolean(allow_none=True)
    as_recorded = fields.Boolean(allow_none=True)
    satisfaction = fields.Integer(allow_none=True, metadata={"description": "1–5"})
    satisfaction_label = _Label(allow_none=True)
    need_met = fields.Boolean(allow_none=True)
    note = fields.String(allow_none=True)
    is_flagged = fields.Boolean(metadata={"description": "回访存疑，已提请民政部门核实"})
    flagged_on = fields.Date(allow_none=True)
    resolved_on = fields.Date(allow_none=True)
    resolution = fields.String(allow_none=True)


class DossierAttachmentSchema(BaseSchema):
    id = fields.Integer(
        metadata={"description": "GET /api/v1/attachments/<id> 下载（记入审计日志）"}
    )
    kind_label = _Label(metadata={"description": "附于：服务记录、帮扶完成或回访"})
    filename = fields.String()
    caption = fields.String(allow_none=True)
    media_type = fields.String()
    is_image = fields.Boolean()
    size_bytes = fields.Integer()
    sha256 = fields.String(metadata={"description": "所存文件的 SHA-256，可据此核对打印件"})
    uploaded_on = fields.Date()


class DossierPairingMonthSchema(BaseSchema):
    month = fields.String(metadata={"description": "月份，YYYY-MM"})
    planned = fields.Integer(metadata={"description": "计划探访次数（不足整月按天折算）"})
    visits = fields.Integer(metadata={"description": "已登记的探访次数"})
    is_current = fields.Boolean(metadata={"description": "本月进行中"})
    is_short = fields.Boolean(metadata={"description": "已过去且少于计划"})
    is_alerted = fields.Boolean(metadata={"description": "已提醒慈善组织和服务站"})


class DossierPairingSchema(BaseSchema):
    companion_name = fields.String()
    companion_role_label = _Label()
    member_name = fields.String(allow_none=True)
    starts_on = fields.Date()
    ends_on = fields.Date()
    visits_per_month = fields.Integer()
    note = fields.String(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    months = fields.List(fields.Nested(DossierPairingMonthSchema))


class DossierReferralSchema(BaseSchema):
    id = fields.Integer()
    project = fields.String()
    charity = fields.String()
    status_label = _Label()
    created_on = fields.Date()
    submitted_on = fields.Date(allow_none=True)
    approved_on = fields.Date(allow_none=True)
    answered_on = fields.Date(allow_none=True)
    started_on = fields.Date(allow_none=True)
    completed_on = fields.Date(allow_none=True)
    archived_on = fields.Date(allow_none=True, metadata={"description": "归档（只读）日期"})
    delivered_amount_fen = _Fen(allow_none=True)
    delivered_service = fields.String(allow_none=True)
    events = fields.List(fields.Nested(DossierReferralEventSchema))
    episodes = fields.List(fields.Nested(DossierEpisodeSchema))
    follow_up = fields.Nested(DossierFollowUpSchema, allow_none=True)
    pairing = fields.Nested(DossierPairingSchema, allow_none=True)
    attachments = fields.List(fields.Nested(DossierAttachmentSchema))


class DossierNeedSchema(BaseSchema):
    id = fields.Integer()
    domain_label = _Label()
    urgency_label = _Label()
    text = fields.String()
    member = fields.String(allow_none=True)
    amount_gap_fen = _Fen(allow_none=True)
    delivered_fen = _Fen()
    remaining_gap_fen = _Fen(allow_none=True)
    status_label = _Label()
    close_reason = fields.String(allow_none=True)
    archived_on = fields.Date(allow_none=True, metadata={"description": "归档（只读）日期"})
    registered_on = fields.Date(allow_none=True)
    history = fields.List(fields.Nested(DossierNeedEventSchema))
    referrals = fields.List(fields.Nested(DossierReferralSchema))


class DossierSchema(BaseSchema):
    household = fields.Nested(DossierHouseholdSchema)
    members = fields.List(fields.Nested(DossierMemberSchema))
    gov_aid = fields.List(fields.Nested(DossierAidSchema))
    needs = fields.List(fields.Nested(DossierNeedSchema))
    made_on = fields.Date(metadata={"description": "生成日期（本地）"})
