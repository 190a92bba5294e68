"""``/api/v1/monitoring``: other departments deliver monitoring records (政务数据共享)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import utcnow
from models.enums import MonitoringSource
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.monitoring import BatchResultSchema, BatchSchema, MonitoringRecordSchema
from web.services.errors import NotFound
from web.services.monitoring import batch_template, check_may_download, deliver_batch

from .ledgers import xlsx_response

PREFIX = "/monitoring"
blp = Blueprint(
    "monitoring",
    __name__,
    description="监测数据报送：医保、残联、教育、民政、人社、应急等部门按批次报送，"
    "整批校验、整批接收，重复报送不重复登记",
)


@blp.route("/batches")
class Batches(MethodView):
    @login_required
    @blp.arguments(BatchSchema)
    @blp.response(201, BatchResultSchema, description="已接收：新批次")
    @blp.alt_response(
        200,
        schema=BatchResultSchema,
        description="此前已报送过完全相同的批次（is_repeat 为 true），未作任何改动",
    )
    @blp.alt_response(
        403, schema=ErrorSchema, description="无权报送：非本账号的部门，或非部门报送账号与民政部门"
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="有误：fields.rows 列出每个错误记录的序号（从 1 起）及原因（含字段名），"
        "未接收任何记录",
    )
    def post(self, batch: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Deliver a batch of monitoring records; any bad record and none is kept.

        每条记录的字段见 MonitoringRecord 结构；event 须为报送部门可报送的事件。
        """
        result = deliver_batch(
            get_db(), actor(), batch["source"], batch["delivered_on"], batch["records"], utcnow()
        )
        body = {
            "batch_id": result.batch.id, "is_repeat": result.is_repeat,
            "record_count": result.record_count, "matched_count": result.matched_count,
            "warnings_raised": result.warnings_raised,
        }  # fmt: skip
        return body, 200 if result.is_repeat else 201


@blp.route("/templates/<source>")
class Template(MethodView):
    @login_required
    @blp.response(200, description="该部门的 .xlsx 报送模板（中文表头、填写说明）")
    @blp.alt_response(404, schema=ErrorSchema, description="没有这个部门")
    def get(self, source: str) -> Response:
        """The source's .xlsx template, with its instructions sheet."""
        if source not in MonitoringSource.codes():
            raise NotFound("没有这个报送部门。")
        kind = MonitoringSource(source)
        check_may_download(actor())
        return xlsx_response(batch_template(kind), f"{kind.label}监测数据模板.xlsx")


def register_schemas(api: Any) -> None:
    """Name the record's schema in the OpenAPI document (a batch's records refer to it)."""
    api.spec.components.schema("MonitoringRecord", schema=MonitoringRecordSchema)
