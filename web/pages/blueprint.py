"""The blueprint every HTML page hangs off (endpoints ``pages.*``), in a module of its own so
the page modules need not import their package back while it is still importing them."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("pages", __name__)
