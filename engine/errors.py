"""Domain errors. The API maps each to one HTTP status in a single error handler."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code, status = "not_found", 404


class Forbidden(DomainError):
    code, status = "forbidden", 403


class Conflict(DomainError):
    """A lost optimistic-lock race, or an action on something already done."""

    code, status = "conflict", 409


class BadRequest(DomainError):
    code, status = "bad_request", 400


class TooManyRequests(DomainError):
    """Too soon to do it again; `retry_after` seconds go out as the Retry-After header."""

    code, status = "too_many_requests", 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


@dataclass
class ElementError:
    """A problem in a model file, located as precisely as we can."""

    file: str | None
    message: str
    line: int | None = None
    element_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "element_id": self.element_id, "message": self.message}


class ModelInvalid(DomainError):
    """A model that cannot be deployed or parsed (HTTP 422 naming file, line and element)."""

    code, status = "model_invalid", 422

    def __init__(self, errors: list[ElementError]) -> None:
        first = errors[0]
        where = ", ".join(
            p for p in (first.file, f"line {first.line}" if first.line else None,
                        f"element {first.element_id}" if first.element_id else None) if p
        )
        super().__init__(f"{where}: {first.message}" if where else first.message,
                         {"errors": [e.to_dict() for e in errors]})
        self.errors = errors


class FormInvalid(DomainError):
    """A submission that does not satisfy the task's JSON schema."""

    code, status = "validation_error", 422

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("the submitted data is not valid", {"errors": errors})
        self.errors = errors
