"""Finding households: what a search box query is (a name, an ID number or a phone), the
households it finds (numbers through their keyed hashes, never decrypted), and a query sealed
to stand in the households list's address."""

from __future__ import annotations

import contextlib
import enum
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Household, Member, User

from .crypto import cipher_of, normalize_phone
from .errors import ValidationFailed
from .id_numbers import normalize_id_number


class SearchKind(enum.Enum):
    NAME = "name"
    ID_NUMBER = "id_number"
    PHONE = "phone"


#: A query of digits (spaces, dashes, brackets and a leading + allowed) this long or longer is
#: a phone; shorter digit strings are searched as text in names.
MIN_PHONE_DIGITS = 7
_ID_SHAPE = re.compile(r"^(\d{17}[\dX]|\d{15})$")
_PHONE_SHAPE = re.compile(r"^\+?[\d\s()-]+$")


#: How long a sealed search opens its results (a working day, as a session lasts).
SEARCH_MAX_AGE_SECONDS = 8 * 3600
#: What a search's term is sealed for (``PersonalDataCipher.seal``).
SEARCH_SEAL = "household-search"


def seal_search(db: Session, actor: User, query: str) -> str:
    """``query`` sealed to stand in an address (the households list's): it opens only for
    ``actor``, only as a search, for :data:`SEARCH_MAX_AGE_SECONDS`; logs, history and
    Referer headers then hold nothing of the name or number searched."""
    return cipher_of(db).seal(SEARCH_SEAL, f"{actor.id}:{query}")


def open_search(db: Session, actor: User, token: str) -> str | None:
    """The query :func:`seal_search` sealed for ``actor``, or None: forged, too old, sealed
    for another user, or not a search."""
    opened = cipher_of(db).unseal(SEARCH_SEAL, token, SEARCH_MAX_AGE_SECONDS) or ""
    owner, _sep, query = opened.partition(":")
    return query if owner == str(actor.id) and query else None


def search_kind(query: str) -> SearchKind:
    """What a search box query is: an ID number (18 characters, or an old 15-digit one), a
    phone (digits), or else (part of) a name."""
    compact = re.sub(r"\s", "", query).upper()
    if _ID_SHAPE.match(compact):
        return SearchKind.ID_NUMBER
    if _PHONE_SHAPE.match(query) and len(normalize_phone(query)) >= MIN_PHONE_DIGITS:
        return SearchKind.PHONE
    return SearchKind.NAME


def search_condition(db: Session, query: str) -> tuple[SearchKind, sa.ColumnElement[bool]]:
    """The households a query finds: a member (the head included) whose name contains it;
    the household one of whose members has exactly that ID number; or the household with
    exactly that phone. Numbers are compared as keyed hashes, never decrypted."""
    kind = search_kind(query)
    if kind == SearchKind.ID_NUMBER:
        compact = re.sub(r"\s", "", query).upper()
        # An invalid number is never stored, so its hash finds nothing either.
        with contextlib.suppress(ValidationFailed):
            compact = normalize_id_number(compact)
        digest = cipher_of(db).lookup_hash(compact)
        members = sa.select(Member.household_id).where(Member.id_number_hash == digest)
        return kind, Household.id.in_(members)
    if kind == SearchKind.PHONE:
        return kind, Household.phone_hash == cipher_of(db).lookup_hash(normalize_phone(query))
    named = sa.select(Member.household_id).where(Member.name.contains(query, autoescape=True))
    return kind, sa.or_(
        Household.head_name.contains(query, autoescape=True), Household.id.in_(named)
    )
