from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, jsonify
from flask_smorest import Api
from sqlalchemy import text
from werkzeug.routing import IntegerConverter

from api.config import Settings
from api.db import db, init_db
from api.errors import ErrorSchema, http_error, register_error_handlers
from api.jsonio import ApiJSONProvider
from engine.deploy.specs import SpecCache
from engine.instances.runner import EngineContext, configure_timezone
from engine.sla_calendar import configure_calendars


class BoundedIntConverter(IntegerConverter):
    """Ids in paths fit the INTEGER columns they name (PostgreSQL refuses larger ones): others are 404."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class JsonErrorApi(Api):
    """flask-smorest with our error shape instead of its own (handled and documented)."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: Any) -> Any:
        return http_error(error)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    settings = Settings.from_env(config)
    app = Flask(__name__, instance_path=str(settings.instance_dir), static_folder=None)
    # Ids are 64-bit in the database: /tasks/99999999999999999999 is a 404, not an overflow.
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = ApiJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        TOKEN_MAX_AGE=settings.token_max_age,
        SESSION_COOKIE_NAME="nea_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=settings.token_max_age),
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        API_TITLE="新能源审批平台 API / New-energy approvals API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/swagger-ui/",  # copied into web/dist by the Vite build (no CDN)
    )
    app.config.update({k: v for k, v in (config or {}).items() if k.isupper()})
    app.extensions["settings"] = settings
    app.extensions["signing"] = None  # reports.pki.SigningConfig, made on first use (api/views/records.py)
    if settings.testing:
        from engine.org.service import use_fast_password_hashing

        use_fast_password_hashing()
    configure_timezone(settings.timezone)
    configure_calendars()  # SLA business calendars: $SLA_CALENDAR_FILE or engine/holidays_cn.yaml; fails fast
    app.extensions["engine_ctx"] = EngineContext(spec_cache=SpecCache(), script_time_limit=settings.script_time_limit)
    init_db(app, settings.database_url)
    from engine import services
    from engine.attachments.service import make_reader, make_writer
    from engine.services import settlement

    # Service tasks read uploaded files (settlement's bill and order export) from the store, and
    # store the files they make (the settlement workbook): engine.services.write_attachment.
    settlement.ATTACHMENT_READER = make_reader(settings.instance_dir)
    services.ATTACHMENT_WRITER = make_writer(settings.instance_dir)

    api = JsonErrorApi(app)
    from api.views import attachments, auth, instances, messages, models, notifications, org, records, tasks

    for module in (auth, org, models, instances, tasks, messages, notifications, records, attachments):
        api.register_blueprint(module.blp)
    register_error_handlers(app)

    @app.get("/healthz")
    def healthz() -> Any:
        db().execute(text("SELECT 1"))
        return jsonify({"status": "ok"})

    from api.background import celery_init_app

    celery_init_app(app)

    from api.cli import register_cli
    from api.web import register_web

    register_cli(app)
    register_web(app)
    return app
