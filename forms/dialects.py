"""Which JSON Schema draft a form uses, and the validator classes we build on jsonschema.

Our validators differ from stock jsonschema in four deliberate ways, each to make the server
agree with the browser (rjsf + ajv) and with money arithmetic:

* numbers are validated as ``Decimal``: ``multipleOf`` is exact (19.99 is a multiple of 0.01,
  1.005 is not) and an integral Decimal (``5.0``) is an ``integer`` as the spec says;
* ``pattern`` (and ``patternProperties``) follows ECMA-262 like ajv: ``$`` only matches at the
  very end (Python's ``$`` also matches before a trailing newline, letting
  ``"ETO-2026-0001\\n"`` through), ``\\d``/``\\w`` are ASCII (Python's match full-width digits
  such as ``２０２６``), ``\\s`` and ``.`` are ECMA's; and it is matched with RE2, in time linear
  in the input (no catastrophic backtracking), so backreferences and lookaround are refused;
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
from typing import Any, Protocol

import re2
from jsonschema import (
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
    FormatChecker,
    TypeChecker,
    ValidationError,
    validators,
)
from referencing.jsonschema import lookup_recursive_ref

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
#
# Patterns are matched with RE2 (the google-re2 package), whose matching time is linear in the
# input whatever the pattern: "^(a+)+$" against "aaaa…ab" is a microsecond, where a backtracking
# engine (Python's re, V8's irregexp) takes exponential time. The price is that RE2 has no
# backreferences and no lookaround; such patterns are refused when a form is loaded (so at
# deploy time for forms without Jinja), see :class:`UnsupportedPattern`.
#
# The ECMA-262 translation below makes RE2 agree with ajv (``new RegExp(p, "u")``) where their
# defaults differ: ``\s``/``\S`` and ``.`` (RE2's are ASCII/newline-only), ``\uXXXX`` (RE2
# writes ``\x{XXXX}``) and ``[\b]``. ``$`` becomes ``\z`` (end of text, also under ``(?m)``);
# ``\d``/``\w`` are ASCII in both but are spelled out all the same.

# ECMA-262 WhiteSpace and LineTerminator: TAB VT FF ZWNBSP, Zs, LF CR LS PS (\p{Z} = Zs+Zl+Zp).
_ECMA_SPACE = r"\t\n\x0b\f\r\x{feff}\p{Z}"
_ECMA_OUTSIDE = {
    "d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]",
    "s": f"[{_ECMA_SPACE}]", "S": f"[^{_ECMA_SPACE}]",
}
_ECMA_INSIDE = {"d": "0-9", "w": "A-Za-z0-9_", "s": _ECMA_SPACE, "b": r"\x08"}
_ECMA_SPACE_CHARS = "\t\n\x0b\f\r \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
_ECMA_DOT = r"[^\n\r\x{2028}\x{2029}]"
_HEX = frozenset("0123456789abcdefABCDEF")


def _hex_at(pattern: str, i: int, count: int) -> int | None:
    digits = pattern[i : i + count]
    return int(digits, 16) if len(digits) == count and all(c in _HEX for c in digits) else None


def _ecma_escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """The RE2 spelling of the escape at ``pattern[i]`` (a backslash) and the index after it."""
    nxt = pattern[i + 1]
    table = _ECMA_INSIDE if in_class else _ECMA_OUTSIDE
    if nxt in table:
        return table[nxt], i + 2
    if nxt == "u":
        if pattern.startswith("{", i + 2):  # \u{1F600} (unicode mode)
            close = pattern.find("}", i + 3)
            digits = pattern[i + 3 : close] if close > 0 else ""
            if digits and len(digits) <= 6 and all(c in _HEX for c in digits):
                return f"\\x{{{digits}}}", close + 1
        code = _hex_at(pattern, i + 2, 4)
        if code is not None:
            end = i + 6
            low = _hex_at(pattern, end + 2, 4) if pattern.startswith("\\u", end) else None
            if 0xD800 <= code <= 0xDBFF and low is not None and 0xDC00 <= low <= 0xDFFF:
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)  # a surrogate pair
                end += 6
            return f"\\x{{{code:04x}}}", end
    return pattern[i : i + 2], i + 2


def _class_of(chars: str) -> str:
    """A character class matching exactly ``chars`` (one that matches nothing when empty)."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]" if chars else r"[^\x00-\x{10ffff}]"


def _without(chars: str, body: str) -> str | None:
    """``chars`` less those the class body ``body`` matches (RE2 decides); None if it does not compile."""
    if not body:
        return chars
    try:
        positive = re2.compile("[" + ("\\" + body if body.startswith("^") else body) + "]", _RE2_OPTIONS)
    except re2.error:
        return None
    return "".join(c for c in chars if not positive.fullmatch(c))


def _ecma_class(pattern: str, i: int) -> tuple[str, int]:
    """The RE2 spelling of the character class starting at ``pattern[i]`` (a ``[``).

    RE2's ``\\S`` is ASCII (it matches U+3000), so a class with ``\\S`` is rewritten: ``[a\\S]``
    as ``(?:[a]|[^<ECMA spaces>])``, ``[^\\S\\n]`` as the ECMA spaces other than ``\\n``.
    """
    n = len(pattern)
    j = i + 1
    negated = j < n and pattern[j] == "^"
    if negated:
        j += 1
    items: list[str] = []
    if j < n and pattern[j] == "]":  # a ']' right after '[' or '[^' is a literal (Python, RE2)
        items.append("]")
        j += 1
    non_space = False
    while j < n and pattern[j] != "]":
        c = pattern[j]
        if c == "\\" and j + 1 < n:
            if pattern[j + 1] == "S":
                non_space = True
                j += 2
                continue
            item, j = _ecma_escape(pattern, j, in_class=True)
            items.append(item)
            continue
        items.append("\\[" if c == "[" else c)  # RE2 reads "[:alpha:]" inside a class as POSIX
        j += 1
    if j >= n:  # unterminated: left for the engines to report
        return pattern[i:], n
    body = "".join(items)
    if not non_space:
        return f"[{'^' if negated else ''}{body}]", j + 1
    if negated:  # neither a non-space nor in body: the spaces body does not match
        spaces = _without(_ECMA_SPACE_CHARS, body)
        return (pattern[i : j + 1] if spaces is None else _class_of(spaces)), j + 1
    other = f"[^{_ECMA_SPACE}]"
    if not body:
        return other, j + 1
    return f"(?:[{chr(92) if body.startswith('^') else ''}{body}]|{other})", j + 1


def _translate_ecma(pattern: str) -> str:
    """Rewrite an ECMA-262 pattern for RE2 where their meanings differ (see the section comment).

    A small scanner, not a full regex parser: it tracks escapes and character classes, which
    is all that is needed to find unescaped ``$`` and ``.`` and the shorthand classes.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            piece, i = _ecma_escape(pattern, i, in_class=False)
            out.append(piece)
            continue
        if c == "[":
            piece, i = _ecma_class(pattern, i)
            out.append(piece)
            continue
        out.append(r"\z" if c == "$" else _ECMA_DOT if c == "." else c)
        i += 1
    return "".join(out)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would print every refused pattern to stderr


class UnsupportedPattern(ValueError):
    """A ``pattern`` (or a ``patternProperties`` name) that RE2 cannot compile.

    ``reason`` / ``reason_zh`` say what is wrong in words a form designer knows (backreference,
    lookaround, ...); ``detail`` is RE2's own message.
    """

    def __init__(self, pattern: str, detail: str) -> None:
        self.pattern = pattern
        self.detail = detail
        self.reason, self.reason_zh = unsupported_regex_reason(pattern, detail)
        super().__init__(f"pattern {pattern!r}: {self.reason} (RE2: {detail})")


REGEX_ENGINE_NOTE = (
    "Regular expressions are matched with RE2, which takes time linear in the input; "
    "backreferences and lookahead/lookbehind are refused because matching them can take "
    "exponential time on crafted input."
)
REGEX_ENGINE_NOTE_ZH = "正则表达式由 RE2 匹配，耗时与输入长度成线性；反向引用和先行/后行断言会被拒绝，因为对精心构造的输入，匹配它们可能耗费指数级时间。"


def unsupported_regex_reason(pattern: str | bytes, detail: str) -> tuple[str, str]:
    """What RE2's error ``detail`` means for ``pattern``, in English and Chinese."""
    text = pattern if isinstance(pattern, str) else pattern.decode("latin-1")
    if re.search(r"invalid escape sequence: \\([1-9]|k)", detail) or "(?P=" in text:
        return ("backreferences (\\1, \\k<name>, (?P=name)) are not supported",
                "不支持反向引用（\\1、\\k<name>、(?P=name)）")
    if any(op in detail for op in ("(?=", "(?!", "(?<=", "(?<!")):
        return ("lookahead and lookbehind assertions ((?=, (?!, (?<=, (?<!) are not supported",
                "不支持先行/后行断言（(?=、(?!、(?<=、(?<!）")
    if "repetition" in detail and "size" in detail:
        return ("repetition counts above 1000 are not supported", "不支持超过 1000 的重复次数")
    if "too large" in detail:
        return ("the pattern is too large", "正则表达式过大")
    if any(op in detail for op in ("(?>", "*+", "++", "?+", "}+")):
        return ("atomic groups and possessive quantifiers are not supported", "不支持原子组和占有量词")
    return ("this syntax is not supported", "不支持该语法")


class PatternMatcher(Protocol):
    """What :func:`compile_pattern` returns (an RE2 regexp)."""

    def search(self, text: str) -> object | None: ...


@lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> PatternMatcher:
    """Compile a JSON Schema ``pattern`` for RE2, with ECMA-262 semantics where they matter.

    Raises :class:`UnsupportedPattern` for what RE2 cannot do (backreferences, lookaround).
    """
    try:
        regex: PatternMatcher = re2.compile(_translate_ecma(pattern), _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise UnsupportedPattern(pattern, detail) from None
    return regex


def pattern_found(pattern: str, text: str) -> bool:
    """Whether ``pattern`` (ECMA-262, see compile_pattern) matches somewhere in ``text``."""
    try:
        return compile_pattern(pattern).search(text) is not None
    except UnicodeEncodeError:  # a lone surrogate (RE2 reads UTF-8): not text any pattern is meant for
        return False


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not pattern_found(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# jsonschema matches patternProperties with Python's re (a backtracking engine, on names the
# client chooses) in three keywords; ours use compile_pattern. They follow jsonschema 4.26's own.


def _matches_pattern_properties(schema: Mapping[str, Any], name: str) -> bool:
    patterns = schema.get("patternProperties") or {}
    return any(pattern_found(p, name) for p in patterns)


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if pattern_found(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def additional_property_names(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Names in ``instance`` that neither ``properties`` nor ``patternProperties`` cover."""
    properties = schema.get("properties") or {}
    return [k for k in instance if k not in properties and not _matches_pattern_properties(schema, k)]


def _additional_properties(validator: Any, ap: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = additional_property_names(instance, schema)
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif not ap and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {patterns}")
        else:
            listed = ", ".join(repr(each) for each in sorted(extras, key=str))
            yield ValidationError(f"Additional properties are not allowed ({listed} {'was' if len(extras) == 1 else 'were'} unexpected)")


def _no_errors(errors: Iterator[ValidationError]) -> bool:
    return next(errors, None) is None


def _evaluated_keys(validator: Any, instance: Mapping[str, Any], schema: Any, legacy: bool) -> list[str]:
    """jsonschema's find_evaluated_property_keys_by_schema (2020-12, or 2019-09 when ``legacy``)."""
    if validator.is_type(schema, "boolean"):
        return []
    keys: list[str] = []

    def follow(resolved: Any) -> None:
        inner = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
        keys.extend(_evaluated_keys(inner, instance, resolved.contents, legacy))

    if schema.get("$ref") is not None:
        follow(validator._resolver.lookup(schema["$ref"]))
    if legacy:
        if "$recursiveRef" in schema:
            follow(lookup_recursive_ref(validator._resolver))
        for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
            if keyword in schema:
                value = schema[keyword]
                if validator.is_type(value, "boolean") and value:
                    keys += instance.keys()
                elif validator.is_type(value, "object"):
                    keys += [name for name in value if name in instance]
    else:
        if schema.get("$dynamicRef") is not None:
            follow(validator._resolver.lookup(schema["$dynamicRef"]))
        properties = schema.get("properties")
        if validator.is_type(properties, "object"):
            keys += properties.keys() & instance.keys()
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            sub = schema.get(keyword)
            if sub is not None:
                keys += [k for k, v in instance.items() if _no_errors(validator.descend(v, sub))]
    if "patternProperties" in schema:
        keys += [name for name in instance if _matches_pattern_properties(schema, name)]
    for name, sub in (schema.get("dependentSchemas") or {}).items():
        if name in instance:
            keys += _evaluated_keys(validator, instance, sub, legacy)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(keyword, []):
            if _no_errors(validator.descend(instance, sub)):
                keys += _evaluated_keys(validator, instance, sub, legacy)
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys += _evaluated_keys(validator, instance, schema["if"], legacy)
            if "then" in schema:
                keys += _evaluated_keys(validator, instance, schema["then"], legacy)
        elif "else" in schema:
            keys += _evaluated_keys(validator, instance, schema["else"], legacy)
    return keys


def _unevaluated_properties(legacy: bool) -> Callable[..., Iterator[ValidationError]]:
    def unevaluated_properties(validator: Any, up: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        evaluated = set(_evaluated_keys(validator, instance, schema, legacy))
        unevaluated = [
            name for name in instance
            if name not in evaluated and not _no_errors(
                validator.descend(instance[name], up, path=name, schema_path=name))
        ]
        if not unevaluated:
            return
        if up is False:
            listed = ", ".join(repr(each) for each in sorted(unevaluated, key=str))
            verb = "was" if len(unevaluated) == 1 else "were"
            yield ValidationError(f"Unevaluated properties are not allowed ({listed} {verb} unexpected)")
        else:
            listed = ", ".join(repr(each) for each in unevaluated)
            verb = "was" if len(unevaluated) == 1 else "were"
            yield ValidationError(
                f"Unevaluated properties are not valid under the given schema ({listed} {verb} unevaluated and invalid)"
            )

    return unevaluated_properties


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
    keywords: dict[str, Callable[..., Iterator[ValidationError]]] = {
        "multipleOf": _multiple_of,
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    }
    if dialect != DRAFT_07:
        keywords["unevaluatedProperties"] = _unevaluated_properties(legacy=dialect == DRAFT_2019_09)
    extended: type[Any] = validators.extend(
        base,
        validators=keywords,
        type_checker=base.TYPE_CHECKER.redefine("integer", _is_integer),
        format_checker=make_format_checker(dialect),
    )
    return extended
