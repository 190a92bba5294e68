"""Configuration from environment variables, with safe defaults for a single-machine setup.

``DATABASE_URL``     SQLAlchemy URL; default a SQLite file ``instance/cishan.db``.
``DATABASE_URL_READ``  a PostgreSQL streaming replica of it (optional): the dashboards' and
                     half-year reports' figures are read there, a moment behind the primary;
                     everything else, and every audit record, stays on the primary.
``SECRET_KEY``       signs session cookies; generated into ``instance/secret_key`` if absent.
``DATA_KEY``         encrypts personal data (Fernet key); generated into ``instance/data_key``.
``CISHAN_ENV``       ``production`` refuses to start without the two keys given explicitly
                     and marks cookies Secure.
``SESSION_COOKIE_SECURE``  ``1`` to send cookies over HTTPS only (default in production).
``API_TOKEN_HOURS``  lifetime of Bearer tokens (default 12).
``STALE_NEED_DAYS``  a need open this long without a referral is raised daily (default 30).
``JOB_SCHEDULES``    JSON replacing jobs' cron fields, e.g. ``{"ledger_refresh": {"second":
                     "*/5"}}`` (for rehearsals and tests; times are Asia/Shanghai).
``DUPLICATE_CHECKS_PER_DAY``  ID numbers one user may check against other stations' registers
                     in a day (default 200); past it registration goes on unchecked.
``REFERRAL_OVERDUE_DAYS``  days a charity may leave an approved referral unanswered before
                     the approving office is alerted (default 3; the referral itself
                     expires at the project's own response deadline).
``FOLLOW_UP_DAYS``   days after a referral is completed by which the household's station
                     should follow up (回访) (default 14); past it the daily job reminds them.
``STATS_SNAPSHOTS``  0 stops the scheduler counting the province's and cities' dashboard
                     overviews every 10 minutes; visits then count them (default 1).
``CASE_RETENTION_DAYS``  days a closed case (its follow-up done) is kept as it is before the
                     daily job archives it, read-only, never deleted (default 1095, three
                     years: see ``web.services.archives``).
``ATTACHMENT_DIR``   where attachment files are kept (default ``instance/attachments``).
``MATCHER_INDEX_DIR``  where the matcher's project index is written once and mapped by every
                     process of the machine (default ``instance/matcher-index``; empty: each
                     process builds its own in memory).
``ATTACHMENT_MAX_BYTES``  the largest attachment accepted, in bytes (default 10 MiB); the
                     request limit is kept a little above it.
``GC_FREEZE``        0 leaves what start-up loaded to Python's cycle collector (default 1: the
                     app moves it out once built, see ``web.app.create_app``).

Keys are never logged or printed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from models import clock
from web.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, private_dir, private_file
from web.services.archives import CASE_RETENTION_DAYS
from web.services.households import DUPLICATE_CHECKS_PER_DAY
from web.services.needs import STALE_NEED_DAYS
from web.services.referrals.attachments import ATTACHMENT_MAX_BYTES
from web.services.referrals.followups import FOLLOW_UP_DAYS

#: Where generated keys and the default database live (the repository's ``instance/``).
DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instance"


class ConfigError(RuntimeError):
    """The service cannot start safely with this configuration."""


def _key_from_file(path: Path, make: Any) -> str:
    private_dir(path.parent)
    if path.exists():
        private_file(path)  # one made under an older, looser rule
        return path.read_text().strip()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _whole_number(value: str | None, default: int, name: str, most: int | None = None) -> int:
    """A whole number of 0 or more (at most ``most``) read now, so a typo stops the start."""
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} 应为整数：{value}") from None
    if number < 0 or (most is not None and number > most):
        limits = f"在 0 到 {most} 之间" if most is not None else "不小于 0"
        raise ConfigError(f"{name} 应{limits}：{value}")
    return number


def _job_schedules(value: str | None) -> dict[str, dict[str, str]]:
    """``JOB_SCHEDULES`` read and checked now, so a typo stops the start, not a page later."""
    if not value:
        return {}
    try:
        schedules = json.loads(value)
        from apscheduler.triggers.cron import CronTrigger

        for fields in schedules.values():
            CronTrigger(**fields)
    except (ValueError, TypeError, AttributeError) as error:
        raise ConfigError(f"JOB_SCHEDULES 无效：{error}") from None
    return dict(schedules)


def load_config(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The app configuration read from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("CISHAN_INSTANCE_PATH") or DEFAULT_INSTANCE)
    production = env.get("CISHAN_ENV", "development") == "production"

    secret_key = env.get("SECRET_KEY")
    data_key = env.get("DATA_KEY")
    if production and not (secret_key and data_key):
        raise ConfigError("生产环境必须通过环境变量设置 SECRET_KEY 和 DATA_KEY。")
    if not secret_key:
        secret_key = _key_from_file(instance / "secret_key", lambda: secrets.token_hex(32))
    if not data_key:
        data_key = _key_from_file(instance / "data_key", lambda: Fernet.generate_key().decode())

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'cishan.db'}"
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////:"):
        folder = Path(database_url.removeprefix("sqlite:///")).parent
        if folder.resolve() == instance.resolve():
            private_dir(folder)
        else:
            folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)

    attachment_max_bytes = int(env.get("ATTACHMENT_MAX_BYTES", ATTACHMENT_MAX_BYTES))
    return {
        "ENV_NAME": "production" if production else "development",
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "DATABASE_URL_READ": env.get("DATABASE_URL_READ") or None,
        "SECRET_KEY": secret_key,
        "DATA_KEY": data_key,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE"), production),
        # Reverse proxies in front whose X-Forwarded-For and -Proto are believed: the client
        # address then is the real one (sign-in throttling, registration limits, the audit's
        # origin). 0: the address the WSGI server reports, as without a proxy.
        "PROXY_COUNT": _whole_number(env.get("PROXY_COUNT"), 0, "PROXY_COUNT", most=5),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=8),
        "API_TOKEN_TTL": dt.timedelta(hours=int(env.get("API_TOKEN_HOURS", "12"))),
        "REFERRAL_OVERDUE_DAYS": int(env.get("REFERRAL_OVERDUE_DAYS", "3")),
        "FOLLOW_UP_DAYS": int(env.get("FOLLOW_UP_DAYS", FOLLOW_UP_DAYS)),
        "STALE_NEED_DAYS": int(env.get("STALE_NEED_DAYS", STALE_NEED_DAYS)),
        "CASE_RETENTION_DAYS": _whole_number(
            env.get("CASE_RETENTION_DAYS"), CASE_RETENTION_DAYS, "CASE_RETENTION_DAYS"
        ),
        "STATS_SNAPSHOTS": _flag(env.get("STATS_SNAPSHOTS"), True),
        "GC_FREEZE": _flag(env.get("GC_FREEZE"), True),
        "DUPLICATE_CHECKS_PER_DAY": int(
            env.get("DUPLICATE_CHECKS_PER_DAY", DUPLICATE_CHECKS_PER_DAY)
        ),
        "JOB_SCHEDULES": _job_schedules(env.get("JOB_SCHEDULES")),
        # None: ``INSTANCE_PATH``/attachments, wherever the instance folder is (see web.storage).
        "ATTACHMENT_DIR": env.get("ATTACHMENT_DIR") or None,
        "ATTACHMENT_MAX_BYTES": attachment_max_bytes,
        "MATCHER_INDEX_DIR": env.get("MATCHER_INDEX_DIR", str(instance / "matcher-index")) or None,
        # Room for the multipart envelope around the largest attachment, so a file just over
        # its limit is told so by name rather than refused as a request too large.
        "MAX_CONTENT_LENGTH": max(10 * 1024 * 1024, attachment_max_bytes + 256 * 1024),
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": clock.TZ.key,
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_FIRST_DELAY_SECONDS": 60,
        "LOGIN_LOCKOUT_MINUTES": 15,
        "API_TITLE": "慈善帮扶资源对接平台 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
