"""Schemas of the referral workflow, its notifications and 双向转介."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate
from werkzeug.datastructures import FileStorage

from models.enums import (
    AttachmentKind,
    BackReferralStatus,
    DeclineReason,
    Domain,
    GovAidType,
    ReferralStatus,
    ServiceType,
    Urgency,
)
from web.services.contracts import MAX_FEN
from web.services.referrals.attachments import CAPTION_MAX_CHARS
from web.services.referrals.followups import FOLLOW_UP, RESOLUTION

from .base import ROW_ID, BaseSchema, follows

_id = ROW_ID
_fen = validate.Range(min=0, max=MAX_FEN)
_text = validate.Length(max=2000)


class ReferralCreateSchema(BaseSchema):
    need_id = fields.Integer(required=True, validate=_id)
    project_id = fields.Integer(required=True, validate=_id)
    score = fields.Float(load_default=None, allow_none=True, validate=validate.Range(0, 1))
    model_version = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=64)
    )
    note = fields.String(load_default=None, allow_none=True, validate=_text)


class ReferralQuerySchema(BaseSchema):
    box = fields.String(
        load_default="all",
        validate=validate.OneOf(["all", "queue", "inbox"]),
        metadata={"description": "queue 待审批（民政）；inbox 收件箱（慈善组织）；all 全部"},
    )
    status = fields.Enum(ReferralStatus, by_value=True, load_default=None)
    urgency = fields.Enum(Urgency, by_value=True, load_default=None)
    domain = fields.Enum(Domain, by_value=True, load_default=None)
    region_code = fields.String(
        load_default=None, validate=validate.Regexp(r"^\d{12}$"),
        metadata={"description": "只看该区划及以下的家庭"},
    )  # fmt: skip
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=500))


class VersionSchema(BaseSchema):
    version = fields.Integer(
        required=True, validate=_id,
        metadata={"description": "读取时的版本号；已被他人更新则返回 409"},
    )  # fmt: skip


class SubmitSchema(VersionSchema):
    acknowledge_duplicate = fields.Boolean(
        load_default=False, metadata={"description": "已知该需求另有慈善组织在帮扶，仍要提交"}
    )


class ReasonActionSchema(VersionSchema):
    reason = fields.String(load_default=None, allow_none=True, validate=_text)


class DeclineSchema(VersionSchema):
    reason = fields.Enum(DeclineReason, by_value=True, load_default=None, allow_none=True)
    note = fields.String(
        load_default=None, allow_none=True, validate=_text,
        metadata={"description": "原因为“其他”时必填"},
    )  # fmt: skip


class CompleteSchema(VersionSchema):
    delivered_amount_fen = fields.Integer(load_default=None, allow_none=True, validate=_fen)
    delivered_service = fields.String(load_default=None, allow_none=True, validate=_text)


class BatchItemSchema(BaseSchema):
    id = fields.Integer(required=True, validate=_id)
    version = fields.Integer(required=True, validate=_id)


class BatchApproveSchema(BaseSchema):
    items = fields.List(
        fields.Nested(BatchItemSchema), required=True, validate=validate.Length(min=1, max=200)
    )


class BatchOutcomeSchema(BaseSchema):
    id = fields.Integer()
    ok = fields.Boolean()
    status = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)


class EpisodeInputSchema(BaseSchema):
    on = fields.Date(required=True, metadata={"description": "服务日期"})
    kind = fields.Enum(ServiceType, by_value=True, required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    unit = fields.String(load_default="次", validate=validate.Length(min=1, max=16))
    value_fen = fields.Integer(load_default=0, validate=_fen)
    note = fields.String(load_default=None, allow_none=True, validate=_text)


class EpisodeSchema(BaseSchema):
    id = fields.Integer()
    on = fields.Date()
    kind = fields.String()
    kind_label = fields.String()
    quantity = fields.Integer()
    unit = fields.String()
    value_fen = fields.Integer()
    note = fields.String(allow_none=True)


class EventSchema(BaseSchema):
    at = fields.DateTime()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    note = fields.String(allow_none=True)
    self_approved = fields.Boolean(metadata={"description": "同一人发起并审批（本县允许）"})
    follow_up = fields.String(
        allow_none=True,
        metadata={"description": "回访的记录：flagged 回访存疑提请核实；resolved 民政部门已核实"},
    )


class FollowUpInputSchema(BaseSchema):
    """回访: what the household said, as its station records it (``followups.FOLLOW_UP``)."""

    received = fields.Boolean(**follows(FOLLOW_UP["received"]))
    as_recorded = fields.Boolean(**follows(FOLLOW_UP["as_recorded"]))
    satisfaction = fields.Integer(**follows(FOLLOW_UP["satisfaction"]))
    need_met = fields.Boolean(**follows(FOLLOW_UP["need_met"]))
    note = fields.String(allow_none=True, **follows(FOLLOW_UP["note"]))


class FollowUpResolveSchema(BaseSchema):
    resolution = fields.String(**follows(RESOLUTION))


class FollowUpSchema(BaseSchema):
    """The follow-up as the caller may see it: a charity gets ``received`` and
    ``satisfaction`` only."""

    is_done = fields.Boolean()
    due_on = fields.Date()
    is_overdue = fields.Boolean()
    received = fields.Boolean(allow_none=True)
    as_recorded = fields.Boolean(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    need_met = fields.Boolean(allow_none=True)
    note = fields.String(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    is_flagged = fields.Boolean(metadata={"description": "回访存疑，已提请民政部门核实"})
    flagged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    can_record = fields.Boolean()
    can_resolve = fields.Boolean()


class ReferralProjectSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    organization = fields.String()
    response_days = fields.Integer()


class ReferralNeedSchema(BaseSchema):
    id = fields.Integer()
    domain = fields.String()
    domain_label = fields.String()
    urgency = fields.String()
    amount_gap_fen = fields.Integer(allow_none=True)
    remaining_gap_fen = fields.Integer(
        allow_none=True, metadata={"description": "尚未由已完成转介覆盖的缺口"}
    )
    text = fields.String(
        allow_none=True,
        metadata={"description": "站点填写的需求描述；慈善组织接收后才能看到（每次查看均审计）"},
    )
    public_summary = fields.String(
        metadata={"description": "对外情况说明：接收前慈善组织只看到这段经过检查的文字"}
    )
    status = fields.String()


class ReferralHouseholdSchema(BaseSchema):
    priority_groups = fields.List(fields.String())
    categories = fields.List(fields.String())
    member_count = fields.Integer()
    township_code = fields.String()
    place = fields.String(metadata={"description": "市、县（区）、乡镇（街道）"})
    id = fields.Integer(metadata={"description": "慈善组织看不到"})
    head_name = fields.String(metadata={"description": "慈善组织看不到"})
    region_code = fields.String(metadata={"description": "慈善组织看不到"})
    station_id = fields.Integer(metadata={"description": "慈善组织看不到"})


class ReferralSchema(BaseSchema):
    """A referral as the caller may see it (a charity sees no name, ID number or phone)."""

    id = fields.Integer()
    version = fields.Integer()
    status = fields.String()
    status_label = fields.String()
    is_simplified = fields.Boolean(metadata={"description": "简化程序"})
    is_urgent = fields.Boolean(metadata={"description": "急难"})
    score = fields.Float(allow_none=True)
    model_version = fields.String(allow_none=True)
    project = fields.Nested(ReferralProjectSchema)
    need = fields.Nested(ReferralNeedSchema)
    household = fields.Nested(ReferralHouseholdSchema)
    reserved_amount_fen = fields.Integer(allow_none=True)
    delivered_amount_fen = fields.Integer(allow_none=True)
    delivered_service = fields.String(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    status_reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True, metadata={"description": "慈善组织答复期限"})
    answered_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    events = fields.List(fields.Nested(EventSchema))
    episodes = fields.List(fields.Nested(EpisodeSchema))
    contact_available = fields.Boolean()
    follow_up = fields.Nested(
        FollowUpSchema, allow_none=True, metadata={"description": "回访；帮扶完成后才有"}
    )


class ReferralLineSchema(BaseSchema):
    id = fields.Integer()
    version = fields.Integer()
    status = fields.String()
    status_label = fields.String()
    is_simplified = fields.Boolean()
    is_urgent = fields.Boolean()
    need_id = fields.Integer()
    domain = fields.String()
    domain_label = fields.String()
    amount_gap_fen = fields.Integer(allow_none=True)
    project_id = fields.Integer()
    project_name = fields.String()
    organization = fields.String()
    township = fields.String()
    score = fields.Float(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()
    household_id = fields.Integer(metadata={"description": "慈善组织看不到"})
    head_name = fields.String(metadata={"description": "慈善组织看不到"})


class ContactSchema(BaseSchema):
    head_name = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    station = fields.String()
    station_phone = fields.String(allow_none=True)


class BackReferralInputSchema(BaseSchema):
    aid_types = fields.List(
        fields.Enum(GovAidType, by_value=True), required=True, validate=validate.Length(min=1)
    )
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class BackReferralSchema(BaseSchema):
    id = fields.Integer()
    referral_id = fields.Integer()
    household_id = fields.Integer(metadata={"description": "慈善组织看不到"})
    organization_id = fields.Integer(metadata={"description": "慈善组织看不到"})
    region_code = fields.String(metadata={"description": "慈善组织看不到"})
    aid_types = fields.List(fields.String())
    note = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    handled_at = fields.DateTime(allow_none=True)
    handled_note = fields.String(allow_none=True)


class BackReferralQuerySchema(BaseSchema):
    status = fields.Enum(BackReferralStatus, by_value=True, load_default=BackReferralStatus.OPEN)


class HandleSchema(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class NotificationSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    message = fields.String()
    link = fields.String(allow_none=True)
    referral_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationListSchema(BaseSchema):
    unread = fields.Integer()
    items = fields.List(fields.Nested(NotificationSchema))


class NotificationQuerySchema(BaseSchema):
    unread_only = fields.Boolean(load_default=False)


class MarkReadSchema(BaseSchema):
    ids = fields.List(
        fields.Integer(validate=_id), load_default=None, allow_none=True,
        metadata={"description": "省略则全部标为已读"},
    )  # fmt: skip


class MarkedSchema(BaseSchema):
    marked = fields.Integer()


def _is_upload(value: object) -> None:
    """A multipart field must be a file, not text with a file's name."""
    if not isinstance(value, FileStorage):
        raise ValidationError("请选择要上传的文件。")


class AttachmentUploadSchema(BaseSchema):
    """An attachment upload (multipart): the file (PDF, JPEG or PNG, told by its content),
    what it is attached to, and a caption."""

    file = fields.Raw(
        required=True, validate=_is_upload, metadata={"type": "string", "format": "binary"}
    )
    kind = fields.Enum(
        AttachmentKind, by_value=True, required=True,
        metadata={"description": "episode 服务记录；completion 帮扶完成；follow_up 回访"},
    )  # fmt: skip
    episode_id = fields.Integer(load_default=None, validate=ROW_ID)
    follow_up_id = fields.Integer(load_default=None, validate=ROW_ID)
    caption = fields.String(load_default=None, validate=validate.Length(max=CAPTION_MAX_CHARS))


class AttachmentSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    episode_id = fields.Integer(allow_none=True)
    follow_up_id = fields.Integer(allow_none=True)
    filename = fields.String()
    media_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    caption = fields.String(allow_none=True)
    uploaded_at = fields.DateTime()
