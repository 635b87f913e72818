"""Exceptions raised by the forms package.

Two families, because they have different audiences:

* :class:`FormDefinitionError` -- the *designer's* mistake (a missing file, broken Jinja,
  invalid JSON, a schema that is not a valid JSON Schema).  It names the file and, when it
  can, the line, so the deploy endpoint and the designer UI can point at it.
* :class:`FormValidationError` -- the *user's* submission does not satisfy the schema.  It
  carries one :class:`FieldError` per problem, each with a JSON Pointer to the field, so the
  API can answer HTTP 422 ``{"errors": [{"path": "/amount", "message": "..."}]}`` and the
  browser can put each message next to its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class FormDefinitionError(Exception):
    """A form definition (schema or UI schema file) cannot be used.

    ``line`` is 1-based.  When Jinja rendering changed the number of lines (a ``{% for %}``
    loop, a multi-line value inserted with ``| safe``) the line refers to the rendered text,
    and the message says so.
    """

    def __init__(self, filename: str, message: str, line: int | None = None) -> None:
        self.filename = filename
        self.message = message
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.filename if self.line is None else f"{self.filename}:{self.line}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Shape used for per-file errors in deployment responses."""
        return {"file": self.filename, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a submission.

    ``path`` is a JSON Pointer (RFC 6901) into the submitted data: ``/amount``,
    ``/items/0/qty``; a missing required field is reported at its own path (``/order_no``).
    The empty pointer ``""`` means the submission as a whole (RFC 6901: "" is the whole
    document, whereas "/" would name a key that is the empty string).

    ``code`` is the JSON Schema keyword that failed (``required``, ``pattern``, ``format``,
    ``minimum``, ``enum``, ``type``, ...) or one of our own (``attachmentNotFound``,
    ``numberRange``), so a client may translate messages itself.
    """

    path: str
    message: str
    message_zh: str = ""
    code: str = "invalid"

    def message_for(self, locale: str | None) -> str:
        """The message in ``locale`` (``zh*`` gives Chinese, anything else English)."""
        if locale and locale.lower().startswith("zh") and self.message_zh:
            return self.message_zh
        return self.message

    def to_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "message": self.message,
            "message_zh": self.message_zh,
            "code": self.code,
        }


class FormValidationError(Exception):
    """A submission failed validation; ``errors`` lists every problem, sorted by path."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.errors)
        details = "; ".join(f"{e.path or '(form)'}: {e.message}" for e in self.errors)
        return f"{n} validation error{'s' if n != 1 else ''}: {details}"

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        """The HTTP 422 body fragment: ``{"errors": [{"path", "message", ...}]}``."""
        return {"errors": [e.to_dict() for e in self.errors]}
