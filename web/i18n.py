"""Language choice: the user's pick in this session, then the browser's, then Chinese."""

from __future__ import annotations

from flask import current_app, request, session
from flask_babel import get_locale


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if "lang" in request.args and request.args["lang"] in languages:
        return request.args["lang"]
    # zh first: the service is Chinese; English only when the browser asks for nothing else.
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best == "en":
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def current_language() -> str:
    locale = get_locale()
    return str(locale) if locale else "zh_CN"
