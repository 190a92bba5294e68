"""The condition catalogue (病种目录): illnesses and disabling conditions, and the words for them.

A charity project may be for named conditions only (a 两癌 fund: 乳腺癌、宫颈癌; a surgery fund:
先天性心脏病、唇腭裂 …), and a household member carries the conditions a doctor named. Both sides
pick entries of one catalogue, shipped as ``seed/data/conditions.json`` and described in
``seed/data/README.md``. Each entry has a stable ASCII code, a Chinese name, official synonyms,
the everyday words households and station staff use (尿毒症 is also 终末期肾病, 洗血, 透析), an
ICD-10 code or range where there is one, a parent (恶性肿瘤 covers 乳腺癌) and the illness kind
it counts as (``serious`` / ``chronic`` / ``rare``, inherited from the parent when left empty).

This module is pure: it reads the parsed file, validates it whole and answers questions about it.
Words are compared after NFKC normalisation, case folding and removal of whitespace, so "Ⅱ型",
"II 型" and "ii型" are one word. Free text is scanned in one pass (Aho-Corasick, as in
:mod:`matcher.thesaurus`); of overlapping words the longest wins, and the file's look-alike
words (中风险, 身心衰竭, 交通瘫痪 …) take part in that contest but name nothing, so a catalogue
word inside them does not fire. Negations ("没有糖尿病") are not recognised.
"""

from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick

#: The illness kinds an entry may count as: the codes of ``models.enums.IllnessKind``.
KINDS = ("serious", "chronic", "rare")

#: Where the catalogue ships: the seed data folder, a sibling of this package.
SHIPPED_PATH = Path(__file__).resolve().parent.parent / "seed" / "data" / "conditions.json"

_CODE = re.compile(r"[a-z][a-z0-9_]*")
# A category (C50), a subcategory (C54.1, G82.0) or a range of either (C00-C97, G82.0-G82.2).
_ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9])?(-[A-Z][0-9]{2}(\.[0-9])?)?")
_FIELDS = ("code", "name", "synonyms", "everyday", "icd10", "parent", "kind")


class CatalogueError(ValueError):
    """The catalogue file is malformed: the message names the entry and what is wrong."""


class UnknownCondition(KeyError):
    """A code or a name that is not in the catalogue."""

    def __str__(self) -> str:
        return f"病种目录中没有“{self.args[0]}”"


@dataclass(frozen=True)
class Condition:
    """One entry of the catalogue, as written in the file."""

    code: str
    name: str
    synonyms: tuple[str, ...] = ()
    everyday: tuple[str, ...] = ()
    icd10: str | None = None
    parent: str | None = None
    kind: str | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """Every word that names this entry: its name, synonyms and everyday words."""
        return (self.name, *self.synonyms, *self.everyday)


@dataclass(frozen=True)
class Mention:
    """A catalogue word found in a text: ``text[start:end]`` is ``word`` as it was written."""

    condition: Condition
    word: str
    start: int
    end: int


def normalise(word: str) -> str:
    """The form words are compared in: NFKC, case-folded, without whitespace."""
    return "".join(_fold(ch) for ch in word)


def _fold(ch: str) -> str:
    return "" if ch.isspace() else unicodedata.normalize("NFKC", ch).casefold()


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _stands_alone(haystack: str, origin: list[int], start: int, end: int) -> bool:
    """Whether a match beginning or ending in Latin letters or digits is not part of a longer
    Latin word or number. Removed whitespace (a gap in ``origin``) separates words."""

    def joined(left: int) -> bool:
        right = left + 1
        return (
            _is_ascii_alnum(haystack[left])
            and _is_ascii_alnum(haystack[right])
            and origin[right] - origin[left] <= 1
        )

    if start > 0 and _is_ascii_alnum(haystack[start]) and joined(start - 1):
        return False
    return not (end + 1 < len(haystack) and _is_ascii_alnum(haystack[end]) and joined(end))


@dataclass(frozen=True, eq=False)
class ConditionCatalogue:
    """The validated catalogue; it never changes once built.

    Build it with :func:`load_catalogue`, or directly from :class:`Condition` entries and
    look-alike words. Codes passed to its methods must be catalogue codes: an unknown one raises
    :class:`UnknownCondition`, because a stored code the catalogue lost is a data error to see,
    not a rule to pass or fail quietly.

    :raise CatalogueError: when built from entries with a repeated code; a word (name, synonym
        or everyday word) that names two entries, naming both; a parent that is not in the
        catalogue; a cycle of parents; an unknown kind; a look-alike word that is itself a
        catalogue word or contains none.
    """

    entries: tuple[Condition, ...]
    look_alikes: tuple[str, ...] = ()
    _by_code: dict[str, Condition] = field(init=False, repr=False)
    _by_word: dict[str, str] = field(init=False, repr=False)
    _children: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    _automaton: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        entries, guards = tuple(self.entries), tuple(self.look_alikes)
        by_code: dict[str, Condition] = {}
        for entry in entries:
            if entry.code in by_code:
                raise CatalogueError(f"病种代码 {entry.code} 重复")
            by_code[entry.code] = entry
            if entry.kind is not None and entry.kind not in KINDS:
                raise CatalogueError(f"{entry.code}: 疾病类别 {entry.kind!r} 不在 {KINDS} 中")

        by_word: dict[str, str] = {}
        for entry in entries:
            for word in entry.words:
                key = normalise(word)
                if not key:
                    raise CatalogueError(f"{entry.code}: 有空的名称")
                owner = by_word.setdefault(key, entry.code)
                if owner != entry.code:
                    raise CatalogueError(
                        f"“{word}”同时指 {owner}（{by_code[owner].name}）"
                        f"和 {entry.code}（{entry.name}）"
                    )

        children: dict[str, list[str]] = {}
        for entry in entries:
            if entry.parent is None:
                continue
            if entry.parent not in by_code:
                raise CatalogueError(f"{entry.code}: 上级病种 {entry.parent} 不在目录中")
            children.setdefault(entry.parent, []).append(entry.code)
        for entry in entries:
            seen = {entry.code}
            parent = entry.parent
            while parent is not None:
                if parent in seen:
                    raise CatalogueError(f"{entry.code}: 上级病种成环（经过 {parent}）")
                seen.add(parent)
                parent = by_code[parent].parent

        automaton = ahocorasick.Automaton()
        for key, code in by_word.items():
            automaton.add_word(key, (len(key), code))
        for guard in guards:
            key = normalise(guard)
            if key in by_word:
                raise CatalogueError(f"形近词“{guard}”本身就是 {by_word[key]} 的名称")
            automaton.add_word(key, (len(key), None))
        automaton.make_automaton()
        for guard in guards:
            if not any(code for _, (_, code) in automaton.iter(normalise(guard))):
                raise CatalogueError(f"形近词“{guard}”不含任何病种名称，无需列出")

        # Frozen: the indexes are set once, here.
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "look_alikes", guards)
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_by_word", by_word)
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})
        object.__setattr__(self, "_automaton", automaton)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Condition]:
        return iter(self.entries)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Condition:
        """The entry with this code. :raise UnknownCondition: no such code."""
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownCondition(code) from None

    def lookup(self, name: str) -> Condition | None:
        """The entry a whole word names (its name, a synonym or an everyday word), or None."""
        code = self._by_word.get(normalise(name or ""))
        return None if code is None else self._by_code[code]

    def resolve(self, names: Iterable[str]) -> tuple[str, ...]:
        """The codes of the entries the words name, each once, in order.

        For rules written by name (case files, imports). :raise UnknownCondition: a word that
        names no entry.
        """
        codes: dict[str, None] = {}
        for name in names:
            entry = self.lookup(name)
            if entry is None:
                raise UnknownCondition(name)
            codes.setdefault(entry.code, None)
        return tuple(codes)

    def mentions(self, text: str) -> tuple[Mention, ...]:
        """Every catalogue word in a free text, in order, with where it stands in the text.

        Of overlapping words the longest wins (then the leftmost); a look-alike word wins like
        any other and names nothing. A word that starts or ends with a Latin letter or digit
        must not continue a Latin word or number ("HIV" is not found in "archive").
        """
        if not text:
            return ()
        folded: list[str] = []
        origin: list[int] = []  # the index in ``text`` of each character of ``folded``
        for index, ch in enumerate(text):
            for out in _fold(ch):
                folded.append(out)
                origin.append(index)
        haystack = "".join(folded)

        found = []
        for end, (length, code) in self._automaton.iter(haystack):
            start = end - length + 1
            if not _stands_alone(haystack, origin, start, end):
                continue
            found.append((start, end, code))
        found.sort(key=lambda m: (m[0] - m[1], m[0]))  # longest first, then leftmost

        taken = [False] * len(haystack)
        chosen = []
        for start, end, code in found:
            if any(taken[start : end + 1]):
                continue
            taken[start : end + 1] = [True] * (end - start + 1)
            if code is not None:
                chosen.append((start, end, code))
        chosen.sort()
        mentions = []
        for start, end, code in chosen:
            first, last = origin[start], origin[end] + 1
            mentions.append(Mention(self._by_code[code], text[first:last], first, last))
        return tuple(mentions)

    def find_in_text(self, text: str) -> tuple[Condition, ...]:
        """The entries a free text names, each once, in the order they first appear."""
        found: dict[str, Condition] = {}
        for mention in self.mentions(text):
            found.setdefault(mention.condition.code, mention.condition)
        return tuple(found.values())

    def ancestors(self, code: str) -> tuple[str, ...]:
        """The codes above an entry, nearest first (empty for a top-level entry)."""
        chain = []
        parent = self.get(code).parent
        while parent is not None:
            chain.append(parent)
            parent = self._by_code[parent].parent
        return tuple(chain)

    def descendants(self, code: str) -> tuple[str, ...]:
        """The codes below an entry, at every depth: depth first, siblings in file order."""
        self.get(code)
        below: list[str] = []
        stack = list(reversed(self._children.get(code, ())))
        while stack:
            child = stack.pop()
            below.append(child)
            stack.extend(reversed(self._children.get(child, ())))
        return tuple(below)

    def covers(self, rule_codes: Iterable[str], member_codes: Iterable[str]) -> bool:
        """Whether a member's conditions meet a rule: any of them is, or is below, a rule entry.

        A rule naming 恶性肿瘤 covers a member with 乳腺癌; a rule naming 乳腺癌 does not cover
        a member whose record says only 恶性肿瘤. An empty rule covers no one: the caller
        decides that no rule means no restriction.
        """
        rules = set(rule_codes)
        for code in rules:
            self.get(code)
        for code in member_codes:
            if code in rules or not rules.isdisjoint(self.ancestors(code)):
                return True
        return False

    def kind_of(self, code: str) -> str | None:
        """The illness kind an entry counts as: its own, else its nearest ancestor's, else None."""
        entry = self.get(code)
        if entry.kind is not None:
            return entry.kind
        for parent in self.ancestors(code):
            kind = self._by_code[parent].kind
            if kind is not None:
                return kind
        return None

    def label(self, code: str) -> str:
        """The Chinese name of an entry, for pages and reasons."""
        return self.get(code).name

    def labels(self, codes: Iterable[str]) -> str:
        """The Chinese names joined with 、, as in 限乳腺癌、宫颈癌患者."""
        return "、".join(self.label(code) for code in codes)


def load_catalogue(
    source: str | os.PathLike[str] | Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> ConditionCatalogue:
    """Read and validate a catalogue.

    ``source`` is a path to the JSON file (for the shipped one, :data:`SHIPPED_PATH`), the
    file's parsed content (``{"conditions": [...], "look_alikes": {...}}``) or just the list of
    entries. :raise CatalogueError: the file is malformed (see :class:`ConditionCatalogue`);
    also a missing or unknown field, or a code or ICD-10 code in the wrong form.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, encoding="utf-8") as handle:
            source = json.load(handle)
    if isinstance(source, Mapping):
        unknown = set(source) - {"about", "conditions", "look_alikes"}
        if unknown:
            raise CatalogueError(f"未知的键：{', '.join(sorted(unknown))}")
        rows = source.get("conditions", ())
        look_alikes = tuple(source.get("look_alikes", {}))
    else:
        rows, look_alikes = source, ()
    return ConditionCatalogue(tuple(_entry(row) for row in rows), look_alikes)


def _entry(row: Mapping[str, Any]) -> Condition:
    name = row.get("code", row.get("name", "?"))
    missing = [key for key in _FIELDS if key not in row]
    unknown = sorted(set(row) - set(_FIELDS))
    if missing or unknown:
        raise CatalogueError(f"{name}: 缺少 {missing}，未知 {unknown}")
    code, icd10 = row["code"], row["icd10"]
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise CatalogueError(f"{name}: 代码须为小写 ASCII 字母、数字和下划线")
    if icd10 is not None and not _ICD10.fullmatch(icd10):
        raise CatalogueError(f"{code}: ICD-10 编码 {icd10!r} 格式不对")
    words = [row["name"], *row["synonyms"], *row["everyday"]]
    if not all(isinstance(word, str) for word in words):
        raise CatalogueError(f"{code}: 名称须为文字")
    return Condition(
        code=code,
        name=row["name"],
        synonyms=tuple(row["synonyms"]),
        everyday=tuple(row["everyday"]),
        icd10=icd10,
        parent=row["parent"],
        kind=row["kind"],
    )


@functools.lru_cache(maxsize=1)
def shipped_catalogue() -> ConditionCatalogue:
    """The catalogue shipped in ``seed/data/conditions.json``, read once per process."""
    return load_catalogue(SHIPPED_PATH)


def recorded_conditions(codes: Iterable[str] | None, illness: str | None) -> tuple[str, ...]:
    """A person's condition codes: those recorded, else those the illness text names.

    ``codes`` is None when no condition was ever recorded for the person (a record made
    before the catalogue, or an imported row awaiting the station's confirmation); the free
    text is then mapped to the shipped catalogue. An empty list means "none", as recorded.
    """
    if codes is not None:
        return tuple(codes)
    if not illness:
        return ()
    return tuple(entry.code for entry in shipped_catalogue().find_in_text(illness))
