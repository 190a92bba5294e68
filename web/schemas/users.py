"""Schemas for accounts and tokens."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import BaseSchema


class TokenRequestSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=256)
    )


class TokenResponseSchema(BaseSchema):
    token = fields.String(required=True, metadata={"description": "Bearer 令牌，只返回这一次"})
    token_type = fields.String(required=True, dump_default="Bearer")
    expires_at = fields.DateTime(required=True)


class UserSchema(BaseSchema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.Function(lambda u: u.role.value, required=True)
    role_label = fields.Function(lambda u: u.role.label, required=True)
    region_code = fields.String(required=True)
    station_id = fields.Integer(allow_none=True)
    organization_id = fields.Integer(allow_none=True)
