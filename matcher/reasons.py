"""Reasons as the matcher gives them: Chinese text that remembers how it was made.

A :class:`Reason` is the Chinese sentence itself (a ``str``: the API, the command line and the
evaluation read it as text), and also its template and parameters, so that a page can say it
in the reader's language. The template is the catalogue's message id: Chinese with named
``%(name)s`` placeholders. A parameter is a number, a text kept as written (a date, the words
of a need), or a :class:`Labels` list of vocabulary labels that are translated one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: How Chinese joins the items of a list; the English catalogue turns it into ", ".
LIST_SEPARATOR = "、"


class Names(tuple[str, ...]):
    """Words kept as written (thesaurus concepts, condition names), joined with 、."""

    translated = False


class Labels(Names):
    """Vocabulary labels (女性, 低保家庭 …): each is a message id of its own."""

    translated = True


Param = str | int | Names


class Reason(str):
    """One reason, in Chinese; ``template`` and ``params`` say it in another language."""

    template: str
    params: Mapping[str, Param]

    def __new__(cls, template: str, **params: Param) -> Reason:
        chinese = {k: LIST_SEPARATOR.join(v) if isinstance(v, Names) else v
                   for k, v in params.items()}  # fmt: skip
        self = super().__new__(cls, template % chinese if params else template)
        self.template = template
        self.params = params
        return self


def reason_record(reason: Reason) -> dict[str, Any]:
    """``reason`` as JSON keeps it (a job run's figures): the Chinese text, and its template
    and parameters, so a page can still say it in the reader's language."""
    params: dict[str, Any] = {}
    for name, value in reason.params.items():
        if isinstance(value, Names):
            params[name] = {"labels" if value.translated else "names": list(value)}
        else:
            params[name] = value
    return {"text": str(reason), "template": reason.template, "params": params}


def from_record(record: Mapping[str, Any] | str) -> Reason | str:
    """A reason kept by :func:`reason_record` (text kept before records were: as it is)."""
    if isinstance(record, str):
        return record
    params: dict[str, Param] = {}
    for name, value in record.get("params", {}).items():
        if isinstance(value, dict):
            words: list[str] = list(value.get("labels") or value.get("names") or [])
            params[name] = Labels(words) if "labels" in value else Names(words)
        else:
            params[name] = value
    return Reason(record["template"], **params)
