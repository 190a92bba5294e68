"""Blanking ID numbers, phone numbers and the household's names out of free text a charity
reads: a need's text before acceptance, a decline's note, an office's answer to a 双向转介.
"""

from __future__ import annotations

import re

# Digits may be grouped with spaces or dashes (``137-1924-8651``); full-width ones are made
# plain first.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ－", "0123456789Xx-")
_ID_NUMBER = re.compile(r"(?<!\d)(?:\d[ \t-]?){17}[\dXx](?!\d)|(?<!\d)\d{15}(?!\d)")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d(?:[ \t-]?\d){8}(?!\d)|(?<!\d)0\d{2,3}[ \t-]?\d{7,8}(?!\d)")


def redact(text: str, names: list[str]) -> str:
    """``text`` with ID numbers, phone numbers and the household's names blanked out."""
    text = _ID_NUMBER.sub("＊＊＊", text.translate(_HALF_WIDTH))
    text = _PHONE.sub("＊＊＊", text)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, name[0] + "某")
    return text
