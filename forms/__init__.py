"""JSON-schema forms: loading with Jinja filling, server-side validation, errors.

Pure Python (no Flask, no SQLAlchemy), so the engine, the API and the BPMN test runner can
all use it.  Typical use::

    form = load_form(files, "apply-schema.json", "apply-uischema.json", task.data)
    ...send form.schema / form.ui_schema to the client...
    try:
        validated = validate_submission(form, submitted)   # only declared fields
    except FormValidationError as exc:
        return 422, exc.to_dict()
    task.data.update(validated)                            # (the engine deep-merges)

Numbers: non-integer numbers come back as ``Decimal``; write them with
:func:`json_dumps` (exact JSON numbers) and read JSON with :func:`json_loads`.
"""

from __future__ import annotations

from forms.dialects import ATTACHMENT_RE, DEFAULT_DIALECT, is_attachment_ref
from forms.errors import FieldError, FormDefinitionError, FormValidationError
from forms.instructions import render_instructions
from forms.jsontext import json_dumps, json_loads, to_decimal_numbers
from forms.loading import (
    Form,
    check_form_definition,
    find_ui_schema_filename,
    load_form,
)
from forms.validation import validate_submission

__all__ = [
    "ATTACHMENT_RE",
    "DEFAULT_DIALECT",
    "FieldError",
    "Form",
    "FormDefinitionError",
    "FormValidationError",
    "check_form_definition",
    "find_ui_schema_filename",
    "is_attachment_ref",
    "json_dumps",
    "json_loads",
    "load_form",
    "render_instructions",
    "to_decimal_numbers",
    "validate_submission",
]
