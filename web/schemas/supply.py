"""Schemas for charities, projects, ledger editions and imports."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from models.enums import (
    LocalProviderKind,
    OrganizationStatus,
    ProjectStatus,
    RegionLevel,
)
from web.services.contracts import PROJECT, project_order_problems
from web.services.local_resources import LocalResourceInput
from web.services.projects import ProjectInput

from .base import ROW_ID, BaseSchema, code_of, follows

_CODE = validate.Regexp(r"^\d{12}$", error="应为 12 位行政区划代码。")


def _enum_value(attr: str) -> fields.Function:
    return fields.Function(lambda obj: getattr(obj, attr).value)


def _enum_label(attr: str) -> fields.Function:
    return fields.Function(lambda obj: getattr(obj, attr).label)


class OrganizationSchema(BaseSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    uscc = fields.String(
        required=True, allow_none=True,
        metadata={"description": "统一社会信用代码；本地资源提供方可为空"},
    )  # fmt: skip
    registered_region_code = fields.String(required=True)
    registered_level = _enum_value("registered_level")
    is_certified_charity = fields.Boolean()
    has_public_fundraising = fields.Boolean()
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    status = _enum_value("status")
    status_label = _enum_label("status")
    status_reason = fields.String(allow_none=True)


class OrganizationRegistrationSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=128))
    uscc = fields.String(
        required=True, validate=validate.Length(equal=18),
        metadata={"description": "统一社会信用代码，也是首个工作人员账号的用户名"},
    )  # fmt: skip
    registered_region_code = fields.String(required=True, validate=_CODE)
    is_certified_charity = fields.Boolean(load_default=False)
    has_public_fundraising = fields.Boolean(load_default=False)
    contact_name = fields.String(load_default=None, validate=validate.Length(max=64))
    contact_phone = fields.String(load_default=None, validate=validate.Length(max=32))
    address = fields.String(load_default=None, validate=validate.Length(max=255))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=64))


class OrganizationQuerySchema(BaseSchema):
    status = fields.Enum(OrganizationStatus, by_value=True, load_default=None)


class ReviewSchema(BaseSchema):
    approve = fields.Boolean(required=True, metadata={"description": "true 通过，false 驳回"})
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class ReasonSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


def _project(name: str, field_cls: type[fields.Field] = fields.Integer, **kwargs: Any) -> Any:
    return field_cls(**follows(PROJECT[name], **kwargs))


def _project_codes(name: str) -> fields.List:
    rule = PROJECT[name]
    return fields.List(code_of(rule), **follows(rule, load_default=list))


class ProjectInputSchema(BaseSchema):
    """A project as a charity fills it in; amounts in fen (分). Bounds and messages are the
    project contract's (``web/services/contracts.py``), as on the form and in the import."""

    name = _project("name", fields.String)
    description = _project("description", fields.String, load_default="")
    domains = _project_codes("domains")
    target_groups = _project_codes("target_groups")
    forms = _project_codes("forms")
    service_types = _project_codes("service_types")
    service_area = fields.List(fields.String(validate=_CODE), **follows(PROJECT["service_area"]))
    min_age = _project("min_age")
    max_age = _project("max_age")
    household_categories = _project_codes("household_categories")
    max_income_per_head_fen = _project("max_income_per_head_fen")
    max_disability_grade = _project("max_disability_grade")
    illness_kinds = _project_codes("illness_kinds")
    school_stages = _project_codes("school_stages")
    sexes = _project_codes("sexes")
    disability_types = _project_codes("disability_types")
    conditions = _project_codes("conditions")
    child_statuses = _project_codes("child_statuses")
    household_situations = _project_codes("household_situations")
    amount_per_beneficiary_fen = _project("amount_per_beneficiary_fen")
    budget_fen = _project("budget_fen")
    quota = _project("quota")
    starts_on = _project("starts_on", fields.Date)
    ends_on = _project("ends_on", fields.Date)
    accepts_simplified = _project("accepts_simplified", fields.Boolean, load_default=False)
    response_days = _project("response_days", load_default=7)
    contact_name = _project("contact_name", fields.String)
    contact_phone = _project("contact_phone", fields.String)

    @validates_schema(skip_on_field_errors=False)
    def _across_fields(self, data: dict[str, Any], **_: Any) -> None:
        errors = project_order_problems(data)
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ProjectInput:
        return ProjectInput(**data)


class ProjectSchema(BaseSchema):
    id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    organization_name = fields.Function(lambda p: p.organization.name)
    name = fields.String(required=True)
    description = fields.String()
    domains = fields.List(fields.String())
    target_groups = fields.List(fields.String())
    forms = fields.List(fields.String())
    service_types = fields.List(fields.String())
    service_area = fields.Function(lambda p: p.service_area_codes)
    min_age = fields.Integer(allow_none=True)
    max_age = fields.Integer(allow_none=True)
    household_categories = fields.List(fields.String())
    max_income_per_head_fen = fields.Integer(allow_none=True)
    max_disability_grade = fields.Integer(allow_none=True)
    illness_kinds = fields.List(fields.String())
    school_stages = fields.List(fields.String())
    sexes = fields.List(fields.String())
    disability_types = fields.List(fields.String())
    conditions = fields.List(
        fields.String(), metadata={"description": "病种目录代码；上级病种涵盖其下级"}
    )
    child_statuses = fields.List(fields.String())
    household_situations = fields.List(fields.String())
    amount_per_beneficiary_fen = fields.Integer(allow_none=True)
    budget_fen = fields.Integer(allow_none=True)
    quota = fields.Integer()
    quota_used = fields.Integer()
    starts_on = fields.Date()
    ends_on = fields.Date()
    accepts_simplified = fields.Boolean()
    response_days = fields.Integer()
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    status = fields.Enum(ProjectStatus, by_value=True)
    status_label = _enum_label("status")
    status_reason = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    pending_changes = fields.Dict(allow_none=True, metadata={"description": "待审核的修改"})


class ProjectQuerySchema(BaseSchema):
    status = fields.Enum(ProjectStatus, by_value=True, load_default=None)
    organization_id = fields.Integer(load_default=None, validate=ROW_ID)
    reviewable = fields.Boolean(load_default=False, metadata={"description": "只看待我审核的"})


class LedgerEntrySchema(BaseSchema):
    project_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    name = fields.String(required=True)
    change = fields.String(required=True, metadata={"description": "added / changed / unchanged"})
    changed_fields = fields.List(fields.String())
    snapshot = fields.Dict(required=True, metadata={"description": "发布时冻结的项目信息"})


class LedgerEditionSchema(BaseSchema):
    id = fields.Integer(required=True)
    level = fields.Enum(RegionLevel, by_value=True)
    region_code = fields.String(required=True)
    period = fields.String(required=True)
    revision = fields.Integer(required=True)
    status = fields.Function(lambda e: e.status.value)
    published_at = fields.DateTime()
    effective_from = fields.Date(metadata={"description": "生效日（该半年度第一天，北京时间）"})
    superseded_on = fields.Date(
        allow_none=True, metadata={"description": "被新版本替代之日（北京时间）；尚未替代为空"}
    )
    previous_id = fields.Integer(allow_none=True)
    project_count = fields.Integer()
    added_count = fields.Integer()
    removed_count = fields.Integer()
    changed_count = fields.Integer()


class LedgerEditionDetailSchema(LedgerEditionSchema):
    entries = fields.List(fields.Nested(LedgerEntrySchema))


class LedgerDiffSchema(BaseSchema):
    added = fields.List(fields.Nested(LedgerEntrySchema))
    changed = fields.List(fields.Nested(LedgerEntrySchema))
    removed = fields.List(fields.Nested(LedgerEntrySchema))


class HsdsEditionSchema(BaseSchema):
    id = fields.Integer(required=True)
    region_code = fields.String(required=True)
    region_name = fields.String(required=True)
    level = fields.String(required=True)
    period = fields.String(required=True)
    period_name = fields.String(required=True, metadata={"description": "如 2026年下半年"})
    revision = fields.Integer(required=True)
    published_at = fields.String(required=True, metadata={"format": "date-time"})
    effective_from = fields.String(required=True, metadata={"format": "date"})
    superseded_on = fields.String(allow_none=True, metadata={"format": "date"})
    state = fields.String(
        required=True, metadata={"description": "upcoming / current / superseded"}
    )
    project_count = fields.Integer(required=True)
    schema_url = fields.String(
        required=True, metadata={"description": "HSDS JSON Schema 的发布地址"}
    )


class LedgerHsdsSchema(BaseSchema):
    """An edition in Open Referral HSDS 3.0 JSON (``web/services/hsds.py``)."""

    hsds_version = fields.String(required=True, metadata={"description": "如 3.0.1"})
    edition = fields.Nested(HsdsEditionSchema, required=True)
    organizations = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "HSDS organization（organization.json），附其服务的 id、名称、状态"
        },
    )
    services = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "HSDS service（service.json），内嵌组织、服务区域、联系人等"},
    )


class LedgerBuildSchema(BaseSchema):
    region_code = fields.String(required=True, validate=_CODE)
    period = fields.String(
        required=True, validate=validate.Regexp(r"^\d{4}H[12]$", error="应为如 2026H2 的期次。")
    )


class LedgerQuerySchema(BaseSchema):
    region_code = fields.String(load_default=None, validate=_CODE)


class ImportResultSchema(BaseSchema):
    created = fields.Integer(required=True)
    project_ids = fields.List(fields.Integer())


class FileUploadSchema(BaseSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class LocalResourceInputSchema(ProjectInputSchema):
    """A local resource (本地资源) as a station fills it in: a project's fields (amounts in
    fen), the giver, and the person responsible (``contact_name`` and ``contact_phone``,
    required here). Loaded with ``partial`` (PATCH), only the fields given, as a mapping."""

    provider_name = fields.String(
        required=True, validate=validate.Length(min=2, max=128),
        metadata={"description": "提供方名称（乡贤、村集体、爱心商户……）；同乡镇同名即同一提供方"},
    )  # fmt: skip
    provider_kind = fields.Enum(
        LocalProviderKind, by_value=True, required=True, metadata={"description": "提供方类型"}
    )
    contact_name = fields.String(
        required=True, validate=validate.Length(min=1, max=64), metadata={"description": "负责人"}
    )
    contact_phone = fields.String(
        required=True, validate=validate.Length(min=1, max=32),
        metadata={"description": "负责人联系电话"},
    )  # fmt: skip

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Any:
        if self.partial:
            return data
        name = data.pop("provider_name")
        kind = data.pop("provider_kind")
        return LocalResourceInput(ProjectInput(**data), name, kind)


class LocalResourceSchema(ProjectSchema):
    provider_name = fields.Function(lambda p: p.organization.name)
    provider_kind = fields.Function(
        lambda p: p.organization.provider_kind.value if p.organization.provider_kind else None
    )
    provider_kind_label = fields.Function(
        lambda p: p.organization.provider_kind.label if p.organization.provider_kind else None
    )
    responsible_station_id = fields.Function(lambda p: p.organization.responsible_station_id)
    township_code = fields.Function(lambda p: p.organization.registered_region_code)


class LocalResourceQuerySchema(BaseSchema):
    status = fields.Enum(ProjectStatus, by_value=True, load_default=None)


class LocalResourcePatchSchema(LocalResourceInputSchema):
    """Some fields of a local resource (``PATCH``): those given change, the rest stay."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(partial=True, **kwargs)
