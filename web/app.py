"""The application factory."""

from __future__ import annotations

import gc
import logging
from typing import Any

from flask import Flask, g, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from models.session import create_engine, make_session_factory
from web.services.audit import set_origin
from web.services.crypto import PersonalDataCipher
from web.services.matching import INDEX_DIR_INFO

from .config import load_config
from .db import close_db, commit_if_open
from .extensions import babel, csrf, login_manager

log = logging.getLogger(__name__)

#: Content Security Policy: everything from this origin, nothing inline, nothing remote.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with ``config`` overriding any setting.

    ``config`` may carry ``SESSION_FACTORY`` (a SQLAlchemy sessionmaker) to run against an
    existing connection, as the tests do.
    """
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config())
    if config:
        app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's
    if proxies := app.config.get("PROXY_COUNT", 0):
        # Behind nginx: the client's own address as the proxies pass it on, and the scheme the
        # nearest one sets (nginx replaces X-Forwarded-Proto rather than adding to it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=1)  # type: ignore[method-assign]
    register_database(app)
    register_auth(app)
    register_i18n(app)
    register_request_hooks(app)
    register_errors(app)
    register_blueprints(app)
    register_cli(app)
    if app.config["GC_FREEZE"] and not app.testing:
        keep_out_of_collections()
    return app


def keep_out_of_collections() -> None:
    """Move every object alive now (the libraries, the mappers, the vocabularies: what
    start-up loaded, for the life of the process) out of the cycle collector's reach
    (``gc.freeze``), garbage collected first. A full collection otherwise walks all of them
    again, every few requests: 100–150 ms added to the request it falls in, on a
    station's worklist of 5,000 needs. Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


def register_database(app: Flask) -> None:
    cipher = PersonalDataCipher(app.config["DATA_KEY"])
    factory = app.config.get("SESSION_FACTORY")
    if factory is None:
        engine = create_engine(app.config["DATABASE_URL"])
        app.extensions["engine"] = engine
        factory = make_session_factory(engine, cipher=cipher)
    else:
        factory.kw.setdefault("info", {})["cipher"] = cipher
    # Where the machine's processes share the matcher's project index (web.services.matching).
    factory.kw["info"][INDEX_DIR_INFO] = app.config.get("MATCHER_INDEX_DIR")
    app.extensions["sessionmaker"] = factory
    read_url = app.config.get("DATABASE_URL_READ")
    if read_url:
        # A streaming replica: dashboards and reports read their figures there.
        read_engine = create_engine(read_url)
        app.extensions["read_engine"] = read_engine
        app.extensions["read_sessionmaker"] = make_session_factory(read_engine, cipher=cipher)
    else:
        app.extensions["read_sessionmaker"] = factory
    app.extensions["cipher"] = cipher
    app.teardown_appcontext(close_db)


def register_auth(app: Flask) -> None:
    from . import auth

    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_view = "pages.login"
    login_manager.user_loader(auth.load_user)
    login_manager.request_loader(auth.load_user_from_bearer)
    login_manager.unauthorized_handler(auth.unauthorized)
    csrf.init_app(app)


def register_i18n(app: Flask) -> None:
    from .i18n import select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)


def _anonymous_api() -> bool:
    """An API call with neither token nor signed-in session carries no credentials to forge:
    it is answered 401 by the view, not as an expired form."""
    return request.path.startswith("/api/") and not current_user.is_authenticated


def register_request_hooks(app: Flask) -> None:
    from .auth import is_bearer_request, refuse_outside_role

    @app.before_request
    def _begin() -> None:
        set_origin(request.remote_addr)
        refuse_outside_role()
        unsafe = request.method not in {"GET", "HEAD", "OPTIONS"}
        exempt = request.endpoint in app.config.get("CSRF_EXEMPT_ENDPOINTS", set())
        if unsafe and not exempt and not is_bearer_request() and not _anonymous_api():
            csrf.protect()

    @app.after_request
    def _finish(response: Response) -> Response:
        if response.status_code < 400:
            response = commit_or_conflict(response)
        for header, value in {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
            "Cross-Origin-Opener-Policy": "same-origin",
        }.items():
            response.headers.setdefault(header, value)
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith("/api/") or current_user.is_authenticated:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def commit_or_conflict(response: Response) -> Response:
        from sqlalchemy.exc import IntegrityError
        from sqlalchemy.orm.exc import StaleDataError

        from .errors import render_error
        from .services.errors import Conflict

        try:
            commit_if_open()
        except (IntegrityError, StaleDataError):
            g.db.rollback()
            log.info("conflict at commit for %s %s", request.method, request.path)
            return render_error(Conflict())
        return response

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        from .i18n import current_language
        from .navigation import navigation_for

        unread = 0
        if current_user.is_authenticated:
            from .db import get_db
            from .services.notifications import unread_count

            unread = unread_count(get_db(), current_user)
        return {
            "nav_items": navigation_for(current_user) if current_user.is_authenticated else [],
            "unread_notifications": unread,
            "languages": app.config["LANGUAGES"],
            "current_language": current_language(),
            "session_lang": session.get("lang"),
        }


def register_errors(app: Flask) -> None:
    from .errors import register_error_handlers

    register_error_handlers(app)


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in every URL: a non-negative id that fits the id columns, so an id like
    2**40 is simply not found instead of overflowing the database driver."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        from .schemas.base import MAX_ROW_ID

        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    from .api import register_api
    from .pages import pages

    app.url_map.converters["int"] = RowIdConverter
    app.register_blueprint(pages)
    register_api(app)


def register_cli(app: Flask) -> None:
    from jobs.cli import jobs_cli
    from seed.cli import seed_cli

    from .cli import db_cli, referrals_cli, report_cli, users_cli
    from .cli_allocation import allocation_cli
    from .cli_backup import backup_cli
    from .cli_matcher import match_command, matcher_cli
    from .cli_monitoring import monitoring_cli
    from .cli_supply import import_cli, ledger_cli

    app.cli.add_command(match_command)
    app.cli.add_command(matcher_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(referrals_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(report_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(monitoring_cli)
    app.cli.add_command(allocation_cli)
