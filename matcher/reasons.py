"""Reasons as the matcher gives them: Chinese text that remembers how it was made.

A :class:`Reason` is the Chinese sentence itself (a ``str``: the API, the command line and the
evaluation read it as text), and also its template and parameters, so that a page can say it
in the reader's language. The template is the catalogue's message id: Chinese with named
``%(name)s`` placeholders. A parameter is a number, a text kept as written (a date, the words
of a need), or a :class:`Labels` list of vocabulary labels that are translated one by one.
"""

from __future__ import annotations

from collections.abc import Mapping

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
