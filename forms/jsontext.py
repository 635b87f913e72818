"""JSON text <-> Python values with exact decimal numbers.

Money must not go through binary floating point: ``19.99`` is not representable as a float,
so ``multipleOf: 0.01`` and sums go wrong.  The forms package therefore represents every
JSON number with a fraction or exponent as :class:`decimal.Decimal` (integers stay ``int``):

* :func:`json_loads` parses JSON text that way (use it, or an equivalent
  ``parse_float=Decimal``, wherever JSON enters the system: request bodies, BPMN test files);
* :func:`json_dumps` writes Decimals back as JSON *numbers* with their exact digits
  (``19.99``, ``100.00``), never as strings and never through float;
* :func:`to_decimal_numbers` converts already-parsed data (floats from a plain ``json.loads``)
  by way of ``repr``, which is exact for every decimal literal of up to 15 significant digits
  (Python prints the shortest string that round-trips, i.e. what the client sent).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

# Numbers past this many digits (or this decimal exponent) are refused when parsed: Python cannot
# even print a longer int, and 1e999999999 makes exact decimal arithmetic (multipleOf, int())
# take minutes. JSONDecodeError, so that every caller treats them as malformed JSON (a 400).
MAX_NUMBER_DIGITS = 4300
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")


def _refuse(message: str, text: str) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, text[:50], 0)


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's json accepts them by default.
    raise _refuse(f"{name} is not a valid JSON number", name)


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise _refuse(f"a number has more than {MAX_NUMBER_DIGITS} digits", text)
    return int(text)


def _parse_decimal(text: str) -> Decimal:
    value = Decimal(text)
    if len(text) > MAX_NUMBER_DIGITS or abs(value.adjusted()) > MAX_NUMBER_DIGITS:
        raise _refuse(f"a number is out of range (more than {MAX_NUMBER_DIGITS} digits or exponent)", text)
    return value


def json_loads(text: str | bytes) -> Any:
    """Parse JSON, giving ``Decimal`` for non-integer numbers and rejecting NaN/Infinity,
    numbers of more than MAX_NUMBER_DIGITS digits, and lone surrogates (``"\\ud800"``: not text,
    and no database or encoder accepts it)."""
    value = json.loads(text, parse_float=_parse_decimal, parse_int=_parse_int, parse_constant=_reject_constant)
    raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if _SURROGATE_ESCAPE.search(raw):  # rare (emoji escapes): only then the full check
        try:
            json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse("a string holds a lone surrogate (\\ud800-\\udfff), which is not text", raw) from None
    return value


def decimal_text(value: Decimal) -> str:
    """The JSON number text of a finite Decimal (``str`` is exact and valid JSON: ``1E+2``)."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number and cannot be written as JSON")
    return str(value)


def json_dumps(value: Any, *, default: Callable[[Any], Any] | None = None, **kwargs: Any) -> str:
    """``json.dumps`` that writes ``Decimal`` as exact JSON numbers.

    The standard encoder cannot emit a number it did not format itself, so Decimals are
    swapped for unguessable placeholder strings, the rest is encoded normally, and the
    quoted placeholders are replaced by the exact number text.  ``default`` (as for
    ``json.dumps``) may itself return Decimals.  Other keyword arguments go to ``json.dumps``.
    """
    nonce = secrets.token_hex(12)
    numbers: list[str] = []

    def placeholder(number: Decimal) -> str:
        numbers.append(decimal_text(number))
        return f"{nonce}:{len(numbers) - 1}"

    def hook(obj: Any) -> Any:
        # The encoder asks for what it cannot write itself; what this returns is encoded (and
        # asked about) in turn, so Decimals inside `default`'s results are numbers too.
        if isinstance(obj, Decimal):
            return placeholder(obj)
        if isinstance(obj, Mapping):
            return dict(obj)
        if default is not None:
            return default(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    def swap_keys(obj: Any) -> Any:
        if isinstance(obj, Mapping):
            return {(decimal_text(k) if isinstance(k, Decimal) else k): swap_keys(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [swap_keys(v) for v in obj]
        return obj

    try:
        text = json.dumps(value, default=hook, **kwargs)
    except TypeError:
        if not _has_decimal_key(value):
            raise
        numbers.clear()  # a Decimal as a key (rare): written as its number text, then encoded again
        text = json.dumps(swap_keys(value), default=hook, **kwargs)
    if not numbers:
        return text
    return re.sub(f'"{nonce}:(\\d+)"', lambda m: numbers[int(m.group(1))], text)


def _has_decimal_key(obj: Any) -> bool:
    if isinstance(obj, Mapping):
        return any(isinstance(k, Decimal) or _has_decimal_key(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return any(_has_decimal_key(v) for v in obj)
    return False


def plain_default(obj: Any) -> Any:
    """A ``default`` hook for values that commonly sit in task data but are not JSON."""
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def float_to_decimal(value: float) -> Decimal:
    """Exact decimal of what a JSON client most likely sent (``repr`` round-trips)."""
    if not math.isfinite(value):
        return Decimal(value)  # NaN/Infinity: kept non-finite so callers can reject them
    return Decimal(repr(value))


def to_decimal_numbers(value: Any) -> Any:
    """Deep copy of JSON-like data with every float replaced by its exact Decimal."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return float_to_decimal(value)
    if isinstance(value, Mapping):
        return {k: to_decimal_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_decimal_numbers(v) for v in value]
    return value
