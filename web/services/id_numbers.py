"""身份证号: what makes one well-formed, and the date of birth it carries."""

from __future__ import annotations

import datetime as dt
import re

from models import clock

from .errors import ValidationFailed

#: First two digits of a 身份证号: the provinces, Taiwan, and the residence permits of Hong
#: Kong (81), Macao (82) and Taiwan (83) residents.
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
})  # fmt: skip
_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    value = (12 - sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11) % 11
    return "X" if value == 10 else str(value)


def normalize_id_number(value: str) -> str:
    """A checked 身份证号 in canonical form (upper-case X).

    Checks its length, the province code, the date of birth and the check digit, and nothing
    else: the county code is the one of the day it was issued, and counties have been
    created, renamed and merged since (乳源's 440232 dates from 1983; people born in 1940
    carry it), so no list of today's or any year's counties can refuse it.

    :raise ValidationFailed: naming the part that failed (长度、省份代码、出生日期、校验位).
    """
    number = value.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        problem = "身份证号长度或格式不对：应为 18 位，前 17 位是数字，最后一位是数字或 X。"
    elif number[:2] not in PROVINCE_CODES:
        problem = "身份证号的省份代码（前两位）不存在。"
    elif (born := _birth_date(number)) is None or not dt.date(1880, 1, 1) <= born <= clock.today():
        problem = "身份证号中的出生日期（第 7 至 14 位）不是有效日期。"
    elif id_check_digit(number[:17]) != number[17]:
        problem = "身份证号的校验位（最后一位）不符，请核对号码。"
    else:
        return number
    raise ValidationFailed(fields={"id_number": [problem]})


def id_birth_date(number: str) -> dt.date:
    """The date of birth a checked 身份证号 carries."""
    born = _birth_date(number)
    assert born is not None, "only for numbers checked by normalize_id_number"
    return born


def _birth_date(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
