"""``/api/v1/imports/projects``: projects from an ``.xlsx`` in the ledger template."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.needs_ledger import HouseholdImportResultSchema
from web.schemas.supply import FileUploadSchema, ImportResultSchema
from web.services.excel import import_projects, template
from web.services.households_excel import households_template, import_households

from .ledgers import xlsx_response

PREFIX = "/imports"
blp = Blueprint("imports", __name__, description="Excel 导入")


@blp.route("/projects")
class ProjectImport(MethodView):
    @login_required
    @blp.arguments(FileUploadSchema, location="files")
    @blp.response(201, ImportResultSchema)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="有误：fields.rows 列出每个错误行号及原因，未导入任何数据",
    )
    def post(self, files: dict[str, Any]) -> dict[str, Any]:
        """Import projects as drafts; any bad row and nothing is imported."""
        result = import_projects(get_db(), actor(), files["file"].stream)
        return {"created": len(result.created), "project_ids": [p.id for p in result.created]}


@blp.route("/projects/template.xlsx")
class ProjectImportTemplate(MethodView):
    @login_required
    @blp.response(200, description="空白导入模板")
    def get(self) -> Response:
        """The empty import template (Chinese headers)."""
        return xlsx_response(template(), "慈善帮扶项目导入模板.xlsx")


@blp.route("/households")
class HouseholdImport(MethodView):
    @login_required
    @blp.arguments(FileUploadSchema, location="files")
    @blp.response(201, HouseholdImportResultSchema)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="有误：fields.rows 列出每个错误行及原因，未导入任何数据",
    )
    def post(self, files: dict[str, Any]) -> dict[str, Any]:
        """Import households (one row per member) into the caller's station; any bad row and
        nothing is imported. Members registered at another station are reported."""
        result = import_households(
            get_db(), actor(), files["file"].stream,
            duplicate_limit=current_app.config["DUPLICATE_CHECKS_PER_DAY"],
        )  # fmt: skip
        return {
            "households": len(result.households),
            "members": result.members,
            "duplicates": result.duplicates,
            "duplicates_checked": not result.is_duplicate_check_skipped,
        }


@blp.route("/households/template.xlsx")
class HouseholdImportTemplate(MethodView):
    @login_required
    @blp.response(200, description="空白需求台账导入模板")
    def get(self) -> Response:
        """The empty household import template (Chinese headers, one row per member)."""
        return xlsx_response(households_template(), "困难家庭导入模板.xlsx")
