"""How a page answers a service's refusal: the request's work undone, the reasons shown.

The after-request hook commits every response under 400, and a page that is refused mostly
answers with a redirect, or with its form again; whatever the service had flushed before it
refused would be committed with it. So a page never catches a :class:`ServiceError` without
calling :func:`refuse`, which rolls the session back first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import flash
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField

from web.db import get_db
from web.services.errors import ServiceError


def refuse(
    error: ServiceError,
    form: FlaskForm | None = None,
    *,
    fallback: str | None = None,
    rename: Mapping[str, str] | None = None,
    flash_message: bool = True,
) -> list[str]:
    """Undo the request's work and show why ``error`` refused it.

    Field errors go beside the form's fields (see :func:`place_errors`); with ``flash_message``
    the error's message is flashed, followed by any field error the form had no place for (all
    of them when there is no form). The page then redirects or renders its form again, with
    the status it chooses (``error.status`` mostly).

    :returns: the field errors neither placed nor flashed, for the page to list.
    """
    get_db().rollback()
    fields = {k: v for k, v in error.fields.items() if isinstance(v, list)}
    unplaced = place_errors(form, fields, fallback=fallback, rename=rename) if form else [
        m for ms in fields.values() for m in ms
    ]  # fmt: skip
    if flash_message:
        detail = "；".join(str(m) for m in unplaced)
        flash(f"{error.message}（{detail}）" if detail else error.message, "error")
        return []
    return unplaced


def place_errors(
    form: FlaskForm,
    fields: Mapping[str, list[Any]],
    *,
    fallback: str | None = None,
    rename: Mapping[str, str] | None = None,
) -> list[str]:
    """Put a service's field errors beside the form's fields; returns the messages left over.

    A service names a field as its input does (``budget_fen``, ``members.1.name``); ``rename``
    maps that name, or its part before the last dot (``members.1``), to the form's
    (``budget``, ``members-3``). Without a rename the dots become the form's dashes. Errors of
    a field the form lacks go to the ``fallback`` field, or are left over.
    """
    rename = rename or {}
    by_name = {field.name: field for field in _leaves(form)}
    left: list[str] = []
    for key, messages in fields.items():
        field = by_name.get(_form_name(key, rename)) or by_name.get(fallback or "")
        if field is None:
            left.extend(str(m) for m in messages)
        else:
            field.errors = [*field.errors, *messages]
    return left


def _form_name(key: str, rename: Mapping[str, str]) -> str:
    if key in rename:
        return rename[key]
    head, dot, tail = key.rpartition(".")
    if dot and head in rename:
        return f"{rename[head]}-{tail}"
    return key.replace(".", "-")


def _leaves(form: Any) -> Iterator[Field]:
    """The fields that show errors: rows of a list and sub-forms are walked into."""
    for field in form:
        if isinstance(field, FieldList):
            for entry in field.entries:
                yield from _leaves([entry])
        elif isinstance(field, FormField):
            yield from _leaves(field.form)
        else:
            yield field
