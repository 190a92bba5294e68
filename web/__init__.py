"""The Flask application: ``create_app()`` builds it; pages, API and CLI hang off it."""

from .app import create_app

__all__ = ["create_app"]
