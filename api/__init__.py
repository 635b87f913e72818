"""The Flask application: REST API under /api/v1, OpenAPI at /api/openapi.json, UI at /."""
from api.app import create_app

__all__ = ["create_app"]
