"""HTML pages in Chinese: thin views that parse, call a service and render."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("pages", __name__)

from . import account, dashboard, home, households, jobs, matching, referrals, supply  # noqa: E402, F401  (routes register)
