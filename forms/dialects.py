"""Which JSON Schema draft a form uses, and the validator classes we build on jsonschema.

Our validators differ from stock jsonschema in four deliberate ways, each to make the server
agree with the browser (rjsf + ajv) and with money arithmetic:

* numbers are validated as ``Decimal``: ``multipleOf`` is exact (19.99 is a multiple of 0.01,
  1.005 is not) and an integral Decimal (``5.0``) is an ``integer`` as the spec says;
* ``pattern`` follows ECMA-262 like ajv: ``$`` only matches at the very end (Python's ``$``
  also matches before a trailing newline, letting ``"ETO-2026-0001\\n"`` through) and
  ``\\d``/``\\w`` are ASCII (Python's match full-width digits such as ``２０２６``);
* format checks are always on, with our own ``attachment`` format
  (``sha256:`` + 64 lowercase hex digits, the content address of an uploaded file);
* ``time`` accepts ``HH:MM:SS`` without an offset (ajv-formats 2, used by rjsf, does too);
  ``email`` requires ``local@domain.tld`` without spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Context, Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

from jsonschema import (
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
    FormatChecker,
    TypeChecker,
    ValidationError,
    validators,
)

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_2019_09 = "https://json-schema.org/draft/2019-09/schema"
DRAFT_07 = "http://json-schema.org/draft-07/schema"
DEFAULT_DIALECT = DRAFT_2020_12

_BASE_CLASSES: dict[str, type[Any]] = {
    DRAFT_2020_12: Draft202012Validator,
    DRAFT_2019_09: Draft201909Validator,
    DRAFT_07: Draft7Validator,
}


class UnsupportedDialect(ValueError):
    """``$schema`` names a draft we do not accept."""


def dialect_of(schema: Any) -> str:
    """The normalized ``$schema`` URI of ``schema`` (2020-12 when absent).

    Accepts ``http``/``https`` and a trailing ``#``, the usual spellings in the wild.
    """
    if not isinstance(schema, Mapping) or "$schema" not in schema:
        return DEFAULT_DIALECT
    declared = schema["$schema"]
    if not isinstance(declared, str):
        raise UnsupportedDialect("$schema must be a string")
    uri = declared.strip().rstrip("#")
    for known in _BASE_CLASSES:
        if uri.split("://", 1)[-1] == known.split("://", 1)[-1]:
            return known
    raise UnsupportedDialect(f"unsupported $schema {declared!r}; use {DRAFT_2020_12} (the default) or {DRAFT_07}#")


def base_validator_class(schema: Any) -> type[Any]:
    """The stock jsonschema class for the schema's draft (used to check the schema itself)."""
    return _BASE_CLASSES[dialect_of(schema)]


def uses_legacy_ref(dialect: str) -> bool:
    """Draft-07 ignores every keyword next to ``$ref``."""
    return dialect == DRAFT_07


def uses_array_items(dialect: str) -> bool:
    """Before 2020-12, tuple validation was ``items: [...]`` + ``additionalItems``."""
    return dialect in (DRAFT_07, DRAFT_2019_09)


# --- numbers ---------------------------------------------------------------------------


def _as_decimal(value: int | float | Decimal) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def is_multiple_of(value: int | float | Decimal, step: int | float | Decimal) -> bool:
    """Exact ``multipleOf`` for any finite decimals, whatever their size.

    The default decimal context (28 digits) raises on ``remainder`` when the integer quotient
    needs more digits, so the precision is sized to the operands.
    """
    a, b = _as_decimal(value), _as_decimal(step)
    if not (a.is_finite() and b.is_finite()) or b == 0:
        return False
    digits = max(len(a.as_tuple().digits), len(b.as_tuple().digits))
    prec = max(28, a.adjusted() - b.adjusted() + 3, digits + 2)
    ctx = Context(prec=prec, traps=[InvalidOperation])
    return ctx.remainder(a, b).is_zero()


def _multiple_of(validator: Any, step: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number"):
        return
    if not is_multiple_of(instance, step):
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


def _is_integer(checker: TypeChecker, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    if isinstance(instance, float):
        return instance.is_integer()
    return False


# --- patterns --------------------------------------------------------------------------

_CLASS_SHORTHANDS_OUTSIDE = {"d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]"}
_CLASS_SHORTHANDS_INSIDE = {"d": "0-9", "w": "A-Za-z0-9_"}


def _translate_ecma(pattern: str) -> str:
    """Rewrite the ECMA-262 constructs whose Python meaning differs (see module docstring).

    A small scanner, not a full regex parser: it tracks escapes and character classes, which
    is all that is needed to find an unescaped ``$`` and the shorthand classes.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            table = _CLASS_SHORTHANDS_INSIDE if in_class else _CLASS_SHORTHANDS_OUTSIDE
            out.append(table.get(nxt, c + nxt))
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            # In Python a ']' right after '[' or '[^' is a literal, not the end of the class.
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("]")
                i += 1
            continue
        elif c == "$":
            out.append(r"\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a JSON Schema ``pattern`` with ECMA-262 semantics where they matter."""
    try:
        return re.compile(_translate_ecma(pattern))
    except re.error:
        # Should not happen for patterns Python accepts; fall back to them unchanged.
        return re.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# --- formats ---------------------------------------------------------------------------

ATTACHMENT_RE = re.compile(r"sha256:[0-9a-f]{64}")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_TIME_RE = re.compile(r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(\.\d+)?(?P<tz>[zZ]|[+-]\d\d(:?\d\d)?)?")


def is_attachment_ref(instance: object) -> bool:
    """``sha256:<64 lowercase hex>``: one spelling per file, so references compare as strings."""
    if not isinstance(instance, str):
        return True
    return ATTACHMENT_RE.fullmatch(instance) is not None


def _is_email(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    return _EMAIL_RE.fullmatch(instance) is not None


def _is_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    m = _TIME_RE.fullmatch(instance)
    if m is None:
        return False
    h, mi, s = int(m["h"]), int(m["m"]), int(m["s"])
    return h <= 23 and mi <= 59 and s <= 60  # 60: leap second, as RFC 3339 allows


def make_format_checker(dialect: str, attachment_check: Callable[[object], bool] | None = None) -> FormatChecker:
    """A fresh checker with the draft's formats plus ours (never mutates jsonschema's globals)."""
    base: FormatChecker = _BASE_CLASSES[dialect].FORMAT_CHECKER
    checker = FormatChecker(formats=())
    checker.checkers = dict(base.checkers)
    checker.checks("email")(_is_email)
    checker.checks("time")(_is_time)
    if attachment_check is None:
        checker.checks("attachment")(is_attachment_ref)
    else:
        checker.checks("attachment", raises=AttachmentNotFound)(attachment_check)
    return checker


class AttachmentNotFound(Exception):
    """Raised by a per-request attachment check when the referenced file does not exist."""


@cache
def form_validator_class(dialect: str) -> type[Any]:
    """The jsonschema class we validate submissions with, for one draft."""
    base = _BASE_CLASSES[dialect]
    extended: type[Any] = validators.extend(
        base,
        validators={"multipleOf": _multiple_of, "pattern": _pattern},
        type_checker=base.TYPE_CHECKER.redefine("integer", _is_integer),
        format_checker=make_format_checker(dialect),
    )
    return extended
