"""The moment a request acts at: now in Guangdong (``models.clock``), or the app's ``CLOCK``.

``CLOCK``, when set, is a callable returning an aware datetime; tests set it to travel in time
through pages and the API. Only the layer that reads requests uses this module: services take
``now``/``today`` as arguments.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from models import clock


def now() -> dt.datetime:
    """The current moment (aware)."""
    chosen = current_app.config.get("CLOCK")
    return chosen() if chosen is not None else clock.now()


def today() -> dt.date:
    """The current day in Guangdong."""
    return clock.local_date(now())
