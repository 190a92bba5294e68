"""HTML pages in Chinese: thin views that parse, call a service and render."""

from __future__ import annotations

from . import account, dashboard, home, households, jobs, matching, referrals, supply  # noqa: F401  (routes register)
from .blueprint import pages

__all__ = ["pages"]
