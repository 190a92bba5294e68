"""Schemas of 结对帮扶 (pairings): setting one up, ending it early, and how it is shown."""

from __future__ import annotations

from marshmallow import fields

from models.enums import CompanionRole
from web.services.referrals.pairings import PAIRING, PAIRING_END

from .base import BaseSchema, follows


class PairingInputSchema(BaseSchema):
    """A pairing as the charity sets it up (``pairings.PAIRING``)."""

    companion_name = fields.String(
        metadata={"description": "结对人（慈善组织的志愿者、社工、爱心妈妈等）姓名"},
        **follows(PAIRING["companion_name"]),
    )
    companion_role = fields.Enum(CompanionRole, by_value=True,
                                 **follows(PAIRING["companion_role"]))  # fmt: skip
    member_id = fields.Integer(
        metadata={"description": "结对的家庭成员（该需求所属家庭的成员）"},
        **follows(PAIRING["member_id"]),
    )
    starts_on = fields.Date(**follows(PAIRING["starts_on"]))
    ends_on = fields.Date(**follows(PAIRING["ends_on"]))
    visits_per_month = fields.Integer(
        metadata={"description": "每月计划探访次数"}, **follows(PAIRING["visits_per_month"])
    )
    note = fields.String(allow_none=True, **follows(PAIRING["note"]))


class PairingEndSchema(BaseSchema):
    """Ending a pairing before its end date: the last day and why."""

    ended_on = fields.Date(**follows(PAIRING_END["ended_on"]))
    reason = fields.String(**follows(PAIRING_END["reason"]))


class PairingMonthSchema(BaseSchema):
    month = fields.String(metadata={"description": "月份，如 2026-11"})
    first_on = fields.Date(metadata={"description": "本月结对覆盖的第一天"})
    last_on = fields.Date(metadata={"description": "本月结对覆盖的最后一天"})
    planned = fields.Integer(
        metadata={"description": "计划探访次数（不足整月按天数折算，向下取整）"}
    )
    visits = fields.Integer(
        metadata={"description": "已登记的探访次数（访视照料、心理慰藉服务记录）"}
    )
    is_current = fields.Boolean(metadata={"description": "本月尚未结束"})
    is_short = fields.Boolean(metadata={"description": "已结束且探访少于计划"})
    is_alerted = fields.Boolean(metadata={"description": "已提醒慈善组织和服务站"})


class PairingSchema(BaseSchema):
    companion_name = fields.String()
    companion_role = fields.String()
    companion_role_label = fields.String()
    member_id = fields.Integer(allow_none=True)
    member_name = fields.String(
        allow_none=True,
        metadata={"description": "慈善组织仅在服务期间（已接收、服务中）可见姓名"},
    )
    member_relation_label = fields.String(allow_none=True)
    member_birth_year = fields.Integer(allow_none=True)
    member_removed = fields.Boolean(metadata={"description": "该成员已从家庭信息中移除"})
    starts_on = fields.Date()
    ends_on = fields.Date()
    visits_per_month = fields.Integer()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    ended_on = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    is_ended_early = fields.Boolean()
    is_active = fields.Boolean()
    months = fields.List(
        fields.Nested(PairingMonthSchema), metadata={"description": "按月，最近的在前"}
    )
    can_end = fields.Boolean()
