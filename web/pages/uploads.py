"""The shared upload step of the Excel import pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, TypeVar

from flask import render_template, request

from web.forms import UploadForm
from web.services.errors import ValidationFailed

from .refusals import refuse

R = TypeVar("R")


def run_upload(form: UploadForm, do_import: Callable[[IO[bytes]], R]) -> tuple[R | None, Any]:
    """Import the uploaded file; on failure, the rows' errors and the status to answer with.

    :returns: ``(result, None)`` on success, else ``(None, (problems, status))``.
    """
    if not form.validate_on_submit():
        return None, (None, 422 if request.method == "POST" else 200)
    try:
        return do_import(form.file.data.stream), None
    except ValidationFailed as error:
        refuse(error, form, fallback="file", flash_message=False)
        form.file.errors = form.file.errors or [error.message]
        return None, (error.fields.get("rows"), 422)


def upload_page(form: UploadForm, failure: tuple[Any, int], **texts: str) -> tuple[str, int]:
    """The upload page, with every bad row listed after a failed import."""
    problems, status = failure
    return render_template("imports/upload.html", form=form, problems=problems, **texts), status
