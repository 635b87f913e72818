"""Server-side validation of form submissions.

``validate_submission(form, data)`` is the only gate between a browser/API submission and the
task data: it validates with the schema's own draft (``$schema``; 2020-12 when absent) with
format checks on, reports *every* problem as a :class:`FieldError` with a JSON Pointer, and
returns only the declared fields (see :mod:`forms.pruning`).

Numbers: every non-integer number is validated and returned as :class:`decimal.Decimal`
(integers stay ``int``), so amounts keep their exact digits from the form to the task data,
the audit log and the PDF.  See :mod:`forms.jsontext` for parsing and writing such data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing.exceptions import Unresolvable

from forms import messages as msg
from forms.dialects import (
    AttachmentNotFound,
    UnsupportedDialect,
    UnsupportedPattern,
    additional_property_names,
    dialect_of,
    form_validator_class,
    is_attachment_ref,
    make_format_checker,
)
from forms.errors import FieldError, FormDefinitionError, FormValidationError
from forms.jsontext import float_to_decimal, to_decimal_numbers
from forms.loading import Form
from forms.pruning import prune_to_schema

# Magnitudes beyond IEEE double range cannot reach a browser intact, and bounding them keeps
# exact decimal arithmetic (multipleOf) cheap.
_MAX_ADJUSTED_EXPONENT = 308

PathSegment = str | int


def pointer(path: Iterable[PathSegment]) -> str:
    """RFC 6901 JSON Pointer for a path; ``""`` for the document itself."""
    return "".join("/" + str(seg).replace("~", "~0").replace("/", "~1") for seg in path)


def _sort_key(error: FieldError) -> tuple[Any, ...]:
    # Numeric-aware so /items/2 comes before /items/10.
    segs: list[tuple[int, int, str]] = []
    for raw in error.path.split("/")[1:]:
        seg = raw.replace("~1", "/").replace("~0", "~")
        segs.append((0, int(seg), "") if seg.isascii() and seg.isdigit() else (1, 0, seg))
    return (segs, error.code, error.message)


def _label(schema: Any, path: Sequence[PathSegment]) -> msg.Label:
    """How to name a field: its schema ``title``, else its key (``items #2`` for array items)."""
    if isinstance(schema, Mapping):
        title = schema.get("title")
        if isinstance(title, str) and title.strip():
            return title.strip(), title.strip()
    if not path:
        return msg.FORM_LABEL
    last = path[-1]
    if isinstance(last, int):
        parent = next((str(p) for p in reversed(path[:-1]) if isinstance(p, str)), "")
        return f"{parent} #{last + 1}".strip(), f"{parent}第{last + 1}项"
    return str(last), str(last)


def _property_label(parent_schema: Any, name: str, path: Sequence[PathSegment]) -> msg.Label:
    props = parent_schema.get("properties") if isinstance(parent_schema, Mapping) else None
    sub = props.get(name) if isinstance(props, Mapping) else None
    return _label(sub, [*path, name])


def _field(path: Sequence[PathSegment], code: str, texts: msg.Messages) -> FieldError:
    return FieldError(path=pointer(path), message=texts[0], message_zh=texts[1], code=code)


def _all_const(branches: Any) -> list[Any] | None:
    """The values if every oneOf/anyOf branch is a ``const`` (rjsf's titled-enum idiom)."""
    if not isinstance(branches, list) or not branches:
        return None
    if all(isinstance(b, Mapping) and "const" in b for b in branches):
        return [b["const"] for b in branches]
    return None


def _additional_keys(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    # The additionalProperties keyword's own notion (patternProperties matched with RE2).
    return additional_property_names(instance, schema)


def _closest_branch(validator: Any, error: ValidationError) -> list[ValidationError] | None:
    """The errors of the oneOf/anyOf branch the user most likely meant.

    best_match alone picks one error by path order, which for a discriminated union
    (``kind: "x"`` + fields of x) often reports "kind must be y" from the wrong branch.  We
    rank branches instead: the instance's type matches the branch's ``type``; no
    ``const``/``enum`` mismatch on a direct property (the discriminator matched); fewest
    errors.  None when the branches cannot be told apart (then best_match decides).
    """
    branches = error.validator_value
    if not isinstance(branches, list):
        return None
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        if sub.relative_schema_path and isinstance(sub.relative_schema_path[0], int):
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    if not by_branch:
        return None

    def rank(index: int) -> tuple[bool, bool, int]:
        branch = branches[index] if index < len(branches) else None
        expected = branch.get("type") if isinstance(branch, Mapping) else None
        if isinstance(expected, str):
            expected = [expected]
        type_ok = expected is None or any(isinstance(t, str) and validator.is_type(error.instance, t) for t in expected)
        subs = by_branch[index]
        discriminator_failed = any(e.validator in ("const", "enum") and len(e.relative_path) == 1 for e in subs)
        return (not type_ok, discriminator_failed, len(subs))

    ranked = sorted(by_branch, key=lambda i: (rank(i), i))
    if len(ranked) > 1 and rank(ranked[0]) == rank(ranked[1]):
        return None
    return by_branch[ranked[0]]


def _convert(validator: Any, error: ValidationError, label: msg.Label | None = None) -> list[FieldError]:
    """One jsonschema error -> the field errors a person should see."""
    path: list[PathSegment] = list(error.absolute_path)
    kw = error.validator
    value = error.validator_value
    instance = error.instance
    lab = label or _label(error.schema, path)

    if kw in ("oneOf", "anyOf"):
        consts = _all_const(value)
        if consts is not None:
            return [_field(path, "enum", msg.enum(lab, consts))]
        if not error.context:
            return [_field(path, kw, msg.several_options_matched(lab))]
        branch_errors = _closest_branch(validator, error)
        if branch_errors is None:
            best = best_match([error])
            branch_errors = [best] if best is not None and best is not error else []
        if not branch_errors:
            return [_field(path, kw, msg.no_option_matched(lab))]
        return [
            fe
            for sub in branch_errors
            for fe in _convert(validator, sub, lab if list(sub.absolute_path) == path else None)
        ]

    if kw == "required":
        if not isinstance(instance, Mapping):
            return []
        return [
            _field([*path, name], "required", msg.required(_property_label(error.schema, name, path)))
            for name in value
            if name not in instance
        ]
    if kw in ("dependentRequired", "dependencies") and isinstance(instance, Mapping):
        out: list[FieldError] = []
        for prop, deps in value.items():
            if prop in instance and isinstance(deps, list):
                out.extend(
                    _field([*path, dep], "required", msg.required(_property_label(error.schema, dep, path)))
                    for dep in deps
                    if dep not in instance
                )
        if out:
            return out
    if kw == "additionalProperties" and value is False and isinstance(instance, Mapping):
        return [
            _field([*path, key], "additionalProperties", msg.unknown_field((key, key)))
            for key in _additional_keys(instance, error.schema)
        ]

    texts: msg.Messages
    code = kw
    if kw == "type":
        texts = msg.type_(lab, value)
    elif kw == "pattern":
        examples = error.schema.get("examples") if isinstance(error.schema, Mapping) else None
        example = examples[0] if isinstance(examples, list) and examples and isinstance(examples[0], str) else None
        texts = msg.pattern(lab, example)
    elif kw == "format":
        if isinstance(error.cause, AttachmentNotFound):
            code, texts = "attachmentNotFound", msg.attachment_not_found(lab)
        else:
            texts = msg.format_(lab, str(value))
    elif kw == "minimum":
        texts = msg.minimum(lab, value)
    elif kw == "maximum":
        texts = msg.maximum(lab, value)
    elif kw == "exclusiveMinimum":
        texts = msg.exclusive_minimum(lab, value)
    elif kw == "exclusiveMaximum":
        texts = msg.exclusive_maximum(lab, value)
    elif kw == "multipleOf":
        texts = msg.multiple_of(lab, value)
    elif kw == "minLength":
        texts = msg.min_length(lab, value)
    elif kw == "maxLength":
        texts = msg.max_length(lab, value)
    elif kw == "minItems":
        texts = msg.min_items(lab, value)
    elif kw == "maxItems":
        texts = msg.max_items(lab, value)
    elif kw == "uniqueItems":
        texts = msg.unique_items(lab)
    elif kw == "minProperties":
        texts = msg.min_properties(lab, value)
    elif kw == "maxProperties":
        texts = msg.max_properties(lab, value)
    elif kw == "enum":
        texts = msg.enum(lab, value if isinstance(value, list) else [])
    elif kw == "const":
        texts = msg.const(lab, value)
    elif kw == "not":
        texts = msg.forbidden_value(lab)
    elif kw in ("contains", "minContains", "maxContains"):
        texts = msg.contains(lab)
    elif error.schema is False:
        code, texts = "false", msg.not_allowed(lab)
    else:
        # unevaluatedProperties, propertyNames, ...: jsonschema's wording is the best we have.
        code, texts = str(kw), msg.fallback(lab, error.message)
    return [_field(path, code, texts)]


def _prepare(value: Any, path: list[PathSegment], errors: list[FieldError]) -> Any:
    """Copy the data with exact numbers; flag what JSON Schema cannot judge sensibly."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        value = float_to_decimal(value)
    if isinstance(value, (int, Decimal)):
        d = Decimal(value)
        if not d.is_finite():
            errors.append(_field(path, "numberRange", msg.not_finite(_label(None, path))))
        elif d != 0 and abs(d.adjusted()) > _MAX_ADJUSTED_EXPONENT:
            errors.append(_field(path, "numberRange", msg.out_of_range(_label(None, path))))
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                errors.append(_field(path, "type", msg.bad_key()))
                continue
            out[k] = _prepare(v, [*path, k], errors)
        return out
    if isinstance(value, (list, tuple)):
        return [_prepare(v, [*path, i], errors) for i, v in enumerate(value)]
    return value


def _dedupe_sorted(errors: Iterable[FieldError]) -> list[FieldError]:
    unique: dict[tuple[str, str, str], FieldError] = {}
    for e in errors:
        unique.setdefault((e.path, e.code, e.message), e)
    return sorted(unique.values(), key=_sort_key)


def validate_submission(
    form: Form,
    data: Any,
    *,
    attachment_exists: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """Validate ``data`` against ``form.schema``; return the declared, validated fields.

    Returns a new dict (nothing aliases ``data``) holding only what the schema declares (see
    :mod:`forms.pruning`), with non-integer numbers as ``Decimal``.  Floats in ``data`` are
    read as the decimal literal they print as (``19.99`` -> ``Decimal('19.99')``); callers that
    parse JSON with :func:`forms.jsontext.json_loads` get exact numbers of any length.

    ``attachment_exists`` (optional) is asked about every well-formed ``format: attachment``
    value, so a reference to a file that was never uploaded (or that the caller may not see)
    is a field error too.  Exceptions it raises propagate unchanged.

    Raises :class:`FormValidationError` with every problem (sorted by path, deduplicated);
    data that is not a JSON object gives a single error at path ``""`` (the whole
    submission).  Raises :class:`FormDefinitionError` if the schema turns out to be unusable
    (an unsupported ``$schema``, a ``$ref`` that does not resolve, a pattern RE2 cannot run).
    """
    if not isinstance(data, Mapping):
        raise FormValidationError([_field([], "type", msg.not_an_object())])

    pre_errors: list[FieldError] = []
    instance = _prepare(data, [], pre_errors)
    if pre_errors:
        raise FormValidationError(_dedupe_sorted(pre_errors))

    try:
        dialect = dialect_of(form.schema)
    except UnsupportedDialect as exc:
        raise FormDefinitionError(form.schema_filename, str(exc)) from exc
    schema = to_decimal_numbers(form.schema)  # a copy: the client's schema keeps its floats
    # The draft is settled; without "$schema" jsonschema cannot swap our validator class for
    # its stock one when a $ref leads back to the root.
    schema.pop("$schema", None)
    cls = form_validator_class(dialect)
    format_checker = cls.FORMAT_CHECKER
    if attachment_exists is not None:
        exists = attachment_exists

        def check_attachment(value: object) -> bool:
            if not is_attachment_ref(value):
                return False
            if isinstance(value, str) and not exists(value):
                raise AttachmentNotFound(value)
            return True

        format_checker = make_format_checker(dialect, check_attachment)

    # An explicit registry: jsonschema's default one would fetch remote $refs over HTTP.
    validator = cls(schema, format_checker=format_checker, registry=SPECIFICATIONS)
    try:
        raw_errors = list(validator.iter_errors(instance))
    except Unresolvable as exc:
        raise FormDefinitionError(form.schema_filename, f"cannot resolve $ref: {exc}") from exc
    except UnsupportedPattern as exc:  # a Form built without load_form, which refuses these
        raise FormDefinitionError(form.schema_filename, str(exc)) from exc

    if raw_errors:
        field_errors = [fe for err in raw_errors for fe in _convert(validator, err)]
        raise FormValidationError(_dedupe_sorted(field_errors))

    def is_valid(value: Any, subschema: Any) -> bool:
        # evolve keeps the root resolver, so "#/$defs/..." inside a branch still resolves.
        return bool(validator.evolve(schema=subschema).is_valid(value))

    try:
        return prune_to_schema(schema, instance, dialect, is_valid)
    except UnsupportedPattern as exc:
        raise FormDefinitionError(form.schema_filename, str(exc)) from exc
