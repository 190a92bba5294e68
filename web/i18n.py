"""Language: Chinese unless the user picked English (the switch in the top bar).

The browser's Accept-Language is deliberately not consulted: the service is Chinese, and
office machines often run English system images whose users still expect Chinese pages.
"""

from __future__ import annotations

from babel import Locale
from flask import current_app, session
from flask_babel import get_locale


def select_locale() -> str:
    chosen = session.get("lang", "")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def current_language() -> str:
    """The code in ``LANGUAGES`` of the language pages are rendered in (Babel spells
    ``zh_CN`` as ``zh_Hans_CN``, so codes are compared as locales)."""
    locale = get_locale()
    codes = current_app.config["LANGUAGES"]
    return next((code for code in codes if Locale.parse(code) == locale), "zh_CN")
