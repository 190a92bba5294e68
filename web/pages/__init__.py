"""HTML pages in Chinese: thin views that parse, call a service and render."""

from __future__ import annotations

from . import (  # noqa: F401  (routes and filters register)
    account,
    administration,
    allocation,
    charity_record,
    county,
    dashboard,
    demand,
    dossier,
    filters,
    home,
    households,
    jobs,
    local_resources,
    matching,
    monitoring,
    pairings,
    referrals,
    regions,
    supply,
    warnings,
)
from .blueprint import pages

__all__ = ["pages"]
