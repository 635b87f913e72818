"""Every error leaves as {"error": {"code", "message", "details"}} with the right status."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from engine.errors import DomainError, ElementError, ModelInvalid
from forms.errors import FormDefinitionError

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "validation_error",
          429: "too_many_requests"}


class _ErrorBody(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    code = ma.fields.String(required=True, metadata={"description": "machine-readable, e.g. model_invalid"})
    message = ma.fields.String(required=True)
    details = ma.fields.Raw(allow_none=True)


class ErrorSchema(ma.Schema):
    """The API's one error shape, for the OpenAPI document (error_response writes it). Validation
    errors repeat details.errors at the top level: [{path, message}], or for a model
    [{file, line, element_id, message}]."""

    class Meta:
        unknown = ma.INCLUDE

    error = ma.fields.Nested(_ErrorBody, required=True)
    errors = ma.fields.List(ma.fields.Dict())


def error_response(status: int, code: str, message: str, details: Any = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "details": details}}
    body.update(extra)
    resp = jsonify(body)
    resp.status_code = status
    return resp


def _webargs_errors(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten marshmallow's nested messages into [{path, message}] with JSON-pointer paths."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "headers", "files", "view_args") and not prefix:
                out += _webargs_errors(value, "")
            else:
                out += _webargs_errors(value, f"{prefix}/{key}")
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out += [{"path": prefix or "/", "message": m} for m in messages]
    elif isinstance(messages, list):
        for i, m in enumerate(messages):
            out += _webargs_errors(m, f"{prefix}/{i}")
    else:
        out.append({"path": prefix or "/", "message": str(messages)})
    return out


def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:
        errors = _webargs_errors(messages)
        return error_response(status, _CODES.get(status, "error"), "the request is not valid",
                              {"errors": errors}, errors=errors)
    message = (data.get("message") if isinstance(data, dict) else None) or exc.description or exc.name
    return error_response(status, _CODES.get(status, "error"), str(message))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        extra = {}
        if isinstance(exc.details, dict) and "errors" in exc.details:
            extra["errors"] = exc.details["errors"]
        resp = error_response(exc.status, exc.code, exc.message, exc.details, **extra)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            resp.headers["Retry-After"] = str(retry_after)
        return resp

    @app.errorhandler(FormDefinitionError)
    def _form_definition(exc: FormDefinitionError) -> Response:
        # A form that only breaks once filled from the request's data (a Jinja-templated schema):
        # the model is at fault, named like a deployment error; nothing was changed.
        return _domain(ModelInvalid([ElementError(exc.filename, exc.message, line=exc.line)]))

    @app.errorhandler(StaleDataError)
    def _stale(_exc: StaleDataError) -> Response:
        return error_response(409, "conflict", "the request was changed by someone else at the same time; reload and retry")

    @app.errorhandler(DataError)
    def _data(_exc: DataError) -> Response:
        # A value the database cannot hold (e.g. an id past its INTEGER column): bad input.
        return error_response(400, "bad_request", "a value in the request is out of range")

    @app.errorhandler(OperationalError)
    def _operational(exc: OperationalError) -> Response:
        # SQLite reports a lost write race as "database is locked": same meaning as a stale version.
        if "locked" in str(exc.orig).lower():
            return error_response(409, "conflict", "the request is being changed by someone else; retry")
        app.logger.exception("database error")
        return error_response(503, "unavailable", "the database is not available")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return http_error(exc)

    @app.errorhandler(OverflowError)
    def _overflow(exc: OverflowError) -> Response:
        # A number past what the database stores (SQLite: "Python int too large to convert to
        # SQLite INTEGER"), or a date computed from one: bad input, not a server fault.
        app.logger.warning("number out of range: %s", exc)
        return error_response(400, "bad_request", "a number in the request is out of range")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
