"""Finding what would identify a household in text a charity reads before it has taken the
household on: the summary written for charities (对外情况说明), a decline's note, an office's
answer to a 双向转介.

The check works on the NFKC form of the text (full-width digits and letters, ideographic
spaces and circled numbers become plain ones), each traditional character read as its
simplified one (黃志強 is the 黄志强 on the register, 三組 a village group), and looks for:

- numbers: any run of seven or more digits, Chinese numerals included, whatever separates
  them (spaces of every width, dots, dashes, slashes, commas, brackets) — phones, landlines,
  ID numbers, bank cards, written-out dates of birth;
- the name of every member of the household, with or without anything between its characters,
  and the given name alone of names of three characters or more;
- addresses: words that introduce one (家住, 地址 …), numbered doors, floors, rooms and village
  groups (8号, 3栋, 502室, 三组 …), a township followed by a village, the villages of the
  household's township by name (新田村, 新田社区);
- WeChat and QQ ids, e-mail addresses and any run of six or more Latin letters and digits
  (account ids, and names written in pinyin).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import opencc
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Household, Region
from models.enums import Domain, RegionLevel, Urgency
from models.regions import descendant_range

#: Digit runs at least this long are refused whatever separates their digits: shorter ones
#: are ages, amounts and years; longer ones are phones (landlines have 7 or 8), IDs, cards.
MIN_NUMBER_DIGITS = 7
#: Digits after a QQ or WeChat keyword are refused from this length on (QQ ids have 5 or more).
MIN_ACCOUNT_DIGITS = 5
#: Latin tokens at least this long are taken for account ids or names in pinyin.
MIN_LATIN_TOKEN = 6

_NUMERALS = str.maketrans("〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖", "0012345678912123456789")
_SEPARATORS = r"[\s.\-_/\\,、·•~()\[\]+*—–―‐‑‒−:;'\"|]"
_DIGIT_RUN = re.compile(rf"\d(?:{_SEPARATORS}*\d)*")
_ACCOUNT = re.compile(
    rf"(?i)(qq|扣扣|企鹅|微信|威信|薇信|v信|vx|wx|weixin|wechat)\s*(?:号|号码|id)?"
    rf"[\s:是为]*([A-Za-z0-9_-](?:{_SEPARATORS}*[A-Za-z0-9_-])*)"
)
_LATIN = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z0-9_-]*[A-Za-z][A-Za-z0-9_-]*(?![A-Za-z0-9_])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]*@[A-Za-z0-9.-]*")
_ADDRESS = re.compile(
    r"家住|住在|住址|地址|现住|居住在|居住于|住于|门牌|"
    r"(?<!月)(?<!月\s)\d+\s*(?:号楼|号|栋|幢|座|室|单元|楼|层|组|队|巷|弄|排|路|街)|"
    r"[一二三四五六七八九十]+(?:组|队|社|巷|栋|幢)|"
    r"[\u4e00-\u9fff]{1,6}(?:镇|乡|街道)[\u4e00-\u9fff]{1,6}(?:村|社区|居委)|"
    r"[\u4e00-\u9fff]{2}社(?![会区保工团交员])|"
    r"[\u4e00-\u9fff]{2,4}(?:路|大道|街)\s*\d"
)
_VILLAGE_SUFFIX = re.compile(
    r"(?:村民委员会|村委会|社区居民委员会|居民委员会|社区居委会|居委会|委员会|社区|村)$"
)
_SQUEEZE = re.compile(rf"{_SEPARATORS}+")


@dataclass(frozen=True)
class Finding:
    """One piece of identifying text: what kind (in Chinese) and the text as found."""

    kind: str
    text: str
    start: int
    end: int


_TO_SIMPLIFIED = opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=8192)
def _plain(ch: str) -> str:
    """One character's NFKC form, a traditional character as its simplified one (character by
    character, so every character of the result still points at one that was typed)."""
    plain = unicodedata.normalize("NFKC", ch)
    if len(plain) == 1 and "\u3400" <= plain <= "\u9fff":
        simplified = str(_TO_SIMPLIFIED.convert(plain))
        if len(simplified) == 1:
            return simplified
    return plain


def normalise(text: str) -> tuple[str, list[int]]:
    """The NFKC form of ``text`` in simplified characters, and for each of its characters the
    position in ``text`` of the character it came from (so findings point at what was
    typed)."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        plain = _plain(ch)
        chars.append(plain)
        origin.extend([i] * len(plain))
    return "".join(chars), origin


def _squeezed(text: str) -> tuple[str, list[int]]:
    """``text`` without separators, and where each remaining character stood."""
    kept = [(i, ch) for i, ch in enumerate(text) if not _SQUEEZE.fullmatch(ch)]
    return "".join(ch for _i, ch in kept), [i for i, _ch in kept]


def _name_spans(text: str, names: Iterable[str]) -> list[tuple[int, int]]:
    squeezed, where = _squeezed(text)
    wanted: set[str] = set()
    for raw in names:
        name, _ = _squeezed(normalise(raw or "")[0])
        if len(name) >= 2:
            wanted.add(name)
        if len(name) >= 3:
            wanted.add(name[1:])
    spans = []
    for name in sorted(wanted, key=len, reverse=True):
        for match in re.finditer(re.escape(name), squeezed):
            spans.append((where[match.start()], where[match.end() - 1] + 1))
    return spans


def _spans(text: str, names: Iterable[str], places: Iterable[str]) -> list[tuple[str, int, int]]:
    numerals = text.translate(_NUMERALS)
    spans: list[tuple[str, int, int]] = []
    for match in _DIGIT_RUN.finditer(numerals):
        if sum(ch.isdigit() for ch in match.group()) >= MIN_NUMBER_DIGITS:
            spans.append(("号码", *match.span()))
    for match in _ACCOUNT.finditer(numerals):
        if len(match.group(2)) >= MIN_ACCOUNT_DIGITS:
            spans.append(("微信或QQ号", *match.span()))
    spans.extend(("电子邮箱", *m.span()) for m in _EMAIL.finditer(text))
    latin = (m for m in _LATIN.finditer(text) if len(m.group()) >= MIN_LATIN_TOKEN)
    spans.extend(("账号或拼音", *m.span()) for m in latin)
    spans.extend(("地址", *m.span()) for m in _ADDRESS.finditer(text))
    for place in {normalise(p)[0] for p in places if len(p) >= 2}:
        # A village's name as a place (新田村, 新田社区), not the same word in a sentence.
        named = re.finditer(re.escape(place) + r"(?=\s*[村社居围屯寨组队])", text)
        spans.extend(("地址", *m.span()) for m in named)
    spans.extend(("姓名", start, end) for start, end in _name_spans(text, names))
    return spans


def find_identifying(
    text: str, names: Iterable[str] = (), places: Iterable[str] = ()
) -> list[Finding]:
    """Everything in ``text`` that would identify a household whose members are called
    ``names`` and whose township's villages are called ``places``, in order of position
    (positions and text as typed, though the search runs on the NFKC form)."""
    plain, origin = normalise(text)
    found = []
    for kind, start, end in _spans(plain, names, places):
        first, last = origin[start], origin[end - 1] + 1
        found.append(Finding(kind, text[first:last], first, last))
    return sorted(found, key=lambda f: (f.start, -f.end))


def describe(findings: list[Finding]) -> str:
    """A message naming what was found, for the person who wrote the text."""
    parts = []
    for finding in findings:
        part = f"{finding.kind}“{finding.text.strip()}”"
        if part not in parts:
            parts.append(part)
    return "对外情况说明不能含有可识别家庭的信息，请删去：" + "、".join(parts[:6]) + "。"


def blank(text: str, names: Iterable[str] = (), places: Iterable[str] = ()) -> str:
    """``text`` with every identifying piece replaced by ＊＊＊ — but Latin words, which in a
    note are as often markup, product names or English as account ids (a summary refuses
    them; a note written after acceptance keeps them)."""
    spans: list[tuple[int, int]] = []
    for finding in find_identifying(text, names, places):
        if finding.kind == "账号或拼音":
            continue
        if spans and finding.start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], finding.end))
        else:
            spans.append((finding.start, finding.end))
    for start, end in reversed(spans):
        text = text[:start] + "＊＊＊" + text[end:]
    return text


def household_names(household: Household) -> list[str]:
    """The names a text about ``household`` must not carry."""
    return [household.head_name, *(m.name for m in household.members)]


def village_names(db: Session, household: Household) -> list[str]:
    """The villages of the household's township, by the name people use (新田, not
    新田村委会): any of them in a text points at the household's door."""
    township = household.region_code[:9] + "000"
    low, high = descendant_range(township)
    rows = db.scalars(
        sa.select(Region.name).where(
            Region.code.between(low, high), Region.level == RegionLevel.VILLAGE
        )
    )
    names = set()
    for name in rows:
        core = _VILLAGE_SUFFIX.sub("", name)
        core = _VILLAGE_SUFFIX.sub("", core)
        if len(core) >= 2:
            names.add(core)
    return sorted(names)


def identifying_in(db: Session, household: Household, text: str) -> list[Finding]:
    """What in ``text`` would identify ``household`` (see the module's description)."""
    return find_identifying(text, household_names(household), village_names(db, household))


def suggest_public_summary(domain: Domain, urgency: Urgency) -> str:
    """A summary built from structured fields only, offered until the station writes one."""
    urgent = "，情况紧急" if urgency == Urgency.URGENT else ""
    return f"该家庭有{domain.label}方面的帮扶需求{urgent}，具体情况在慈善组织接收转介后提供。"


def summary_problems(db: Session, household: Household, summary: str) -> dict[str, list[str]]:
    """``{"public_summary": [message]}`` when ``summary`` identifies ``household``, else ``{}``."""
    findings = identifying_in(db, household, summary)
    return {"public_summary": [describe(findings)]} if findings else {}
