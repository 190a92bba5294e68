"""The base schema and Chinese messages for marshmallow's built-in errors.

Users read field errors in Chinese, so the library's English defaults are replaced once, here,
when this module is imported (before any schema is declared).
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from web.services.contracts import FieldRule

_FIELD_MESSAGES: dict[type[fields.Field[Any]], dict[str, str]] = {
    fields.Field: {"required": "必填。", "null": "不能为空。", "validator_failed": "取值无效。"},
    fields.String: {"invalid": "应为文本。", "invalid_utf8": "不是有效的 UTF-8 文本。"},
    fields.Integer: {"invalid": "应为整数。"},
    fields.Number: {"invalid": "应为数字。", "too_large": "数值过大。"},
    fields.Boolean: {"invalid": "应为是或否（true/false）。"},
    fields.Date: {"invalid": "应为日期（YYYY-MM-DD）。", "format": "无法格式化为日期。"},
    fields.DateTime: {
        "invalid": "应为日期时间（ISO 8601）。",
        "invalid_awareness": "日期时间需带时区。",
        "format": "无法格式化为日期时间。",
    },
    fields.List: {"invalid": "应为列表。"},
    fields.Nested: {"type": "类型无效。"},
    fields.Email: {"invalid": "不是有效的电子邮箱地址。"},
    fields.Enum: {"unknown": "应为以下之一：{choices}。"},
    fields.Dict: {"invalid": "应为对象。"},
    fields.Decimal: {"special": "不允许 NaN 或无穷大。"},
}

for _cls, _messages in _FIELD_MESSAGES.items():
    _cls.default_error_messages = {**_cls.default_error_messages, **_messages}

validate.Length.message_min = "长度不能少于 {min} 个字符。"
validate.Length.message_max = "长度不能超过 {max} 个字符。"
validate.Length.message_all = "长度应在 {min} 到 {max} 个字符之间。"
validate.Length.message_equal = "长度应为 {equal} 个字符。"
validate.Range.message_min = "不能小于 {{min}}。"
validate.Range.message_max = "不能大于 {{max}}。"
validate.Range.message_all = "应在 {{min}} 到 {{max}} 之间。"
validate.OneOf.default_message = "应为以下之一：{choices}。"
validate.Regexp.default_message = "格式不正确。"


#: The largest row id: primary keys are ``INTEGER``, 32-bit on PostgreSQL, so a larger id in a
#: request would overflow the database driver instead of simply finding nothing.
MAX_ROW_ID = 2**31 - 1
ROW_ID = validate.Range(min=1, max=MAX_ROW_ID)


def follows(rule: FieldRule, **kwargs: Any) -> dict[str, Any]:
    """A schema field's arguments from its contract rule: required (with the rule's message)
    or optional (``load_default`` None unless given), and the rule's bounds and lengths as
    validators with the rule's messages, so the OpenAPI document states them too."""
    checks: list[validate.Validator] = []
    if rule.required and rule.kind == "text":
        checks.append(validate.Length(min=1, error=rule.missing_message))
    if rule.max_length is not None:
        checks.append(validate.Length(max=rule.max_length, error=rule.length_message))
    if rule.is_bounded:
        checks.append(
            validate.Range(min=rule.min_value, max=rule.max_value, error=rule.range_message)
        )
    if rule.max_items is not None:
        checks.append(validate.Length(max=rule.max_items, error=rule.items_message))
    if rule.kind == "choice" and rule.allowed_codes is not None:
        checks.append(validate.OneOf(rule.allowed_codes, error=_unknown(rule)))
    if rule.required:
        kwargs.pop("load_default", None)
        kwargs["required"] = True
        kwargs["error_messages"] = {"required": rule.missing_message}
    else:
        kwargs.setdefault("load_default", None)
    return {"validate": checks, **kwargs}


def code_of(rule: FieldRule, **kwargs: Any) -> fields.String:
    """A string that must be one of the rule's codes (its vocabulary's or the catalogue's)."""
    codes = rule.allowed_codes
    assert codes is not None
    return fields.String(validate=validate.OneOf(codes, error=_unknown(rule)), **kwargs)


def _unknown(rule: FieldRule) -> str:
    # OneOf fills in {input}; the words are the rule's for one unknown value.
    return rule.unknown_message(["{input}"])


class BaseSchema(Schema):
    """Unknown fields are an error, in Chinese."""

    class Meta:
        unknown = RAISE
        ordered = True

    error_messages = {"type": "输入类型无效，应为 JSON 对象。", "unknown": "不认识的字段。"}


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "稳定的错误代码"})
    message = fields.String(required=True, metadata={"description": "中文说明"})
    # Named by ``data_key``: an attribute called ``fields`` would shadow ``Schema.fields``.
    field_errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        data_key="fields",
        metadata={"description": "各字段的错误信息"},
    )


class ErrorSchema(Schema):
    """The error envelope every API error uses."""

    error = fields.Nested(ErrorDetailSchema, required=True)
