"""Keep only the declared part of a validated submission.

Submitted data is merged into the task data, so an undeclared top-level key is not harmless:
``{"lane_owners": {...}}`` or ``{"approved": true}`` posted next to the real fields would
overwrite process variables that decide who approves what.  The rule is *only validated data
is merged*:

* an object keeps a key only if a schema that applies to it declares the key
  (``properties``, a matching ``patternProperties``) or explicitly opens the object
  (``additionalProperties`` / ``unevaluatedProperties`` present and not ``false``);
  an object schema that says nothing about its keys (``{"type": "object"}``) keeps none --
  write ``"additionalProperties": true`` for a free-form object;
* the rule applies at every depth and follows the applicators the way JSON Schema
  annotations do: ``$ref`` and ``allOf`` always; only the ``anyOf``/``oneOf`` branches the
  value actually satisfies; ``if`` + ``then`` when ``if`` holds, else ``else``;
  ``dependentSchemas`` when their key is present;
* a value whose schema is ``true`` or ``{}`` (only annotations such as ``title``) was
  explicitly allowed to be anything and is kept whole (except at the top level);
* array items are pruned with their ``items``/``prefixItems`` schema; an array with no item
  schema keeps its items as they are.

With ``additionalProperties: false`` unknown keys are not pruned silently: validation already
rejected them (standard JSON Schema behaviour).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import referencing
import referencing.jsonschema
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing.exceptions import Unresolvable

from forms.dialects import pattern_found, uses_array_items, uses_legacy_ref

if TYPE_CHECKING:  # referencing exports Resolver only from its private module
    from referencing._core import Resolver

# Keywords that describe but do not constrain: a schema made only of these accepts anything.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "readOnly",
        "writeOnly",
        "deprecated",
        "$id",
        "$schema",
        "$anchor",
        "$dynamicAnchor",
        "$defs",
        "definitions",
        "$vocabulary",
    }
)

Entry = tuple[Any, "Resolver[Any]"]


@dataclass(frozen=True)
class _Dialect:
    spec: referencing.Specification[Any]
    legacy_ref: bool
    array_items: bool
    # is_valid(instance, schema): whether a subschema accepts a value (branch selection).
    is_valid: Callable[[Any, Any], bool]


def _is_trivial(schema: Any) -> bool:
    if schema is True:
        return True
    return isinstance(schema, Mapping) and not (set(schema) - _ANNOTATIONS)


def _expand(entries: list[Entry], value: Any, d: _Dialect) -> list[Entry]:
    """All schemas that apply to ``value``: the given ones plus what they reference/combine."""
    out: list[Entry] = []
    seen: set[int] = set()
    stack = list(reversed(entries))
    while stack:
        schema, resolver = stack.pop()
        if id(schema) in seen:  # recursive $ref at the same data depth
            continue
        seen.add(id(schema))
        if not isinstance(schema, Mapping):
            out.append((schema, resolver))
            continue
        if "$id" in schema:
            resolver = resolver.in_subresource(d.spec.create_resource(schema))
        out.append((schema, resolver))
        for ref_kw in ("$ref", "$dynamicRef", "$recursiveRef"):
            ref = schema.get(ref_kw)
            if isinstance(ref, str):
                try:
                    resolved = resolver.lookup(ref)
                except Unresolvable:
                    continue  # contributes no declarations: safe side
                stack.append((resolved.contents, resolved.resolver))
        if d.legacy_ref and "$ref" in schema:
            continue  # draft-07 ignored the siblings of $ref, so they validated nothing
        all_of = schema.get("allOf")
        if isinstance(all_of, list):
            stack.extend((s, resolver) for s in reversed(all_of))
        for kw in ("anyOf", "oneOf"):
            branches = schema.get(kw)
            if isinstance(branches, list):
                stack.extend((s, resolver) for s in reversed(branches) if d.is_valid(value, s))
        if "if" in schema:
            if d.is_valid(value, schema["if"]):
                stack.append((schema["if"], resolver))
                if "then" in schema:
                    stack.append((schema["then"], resolver))
            elif "else" in schema:
                stack.append((schema["else"], resolver))
        if isinstance(value, Mapping):
            for kw in ("dependentSchemas", "dependencies"):
                deps = schema.get(kw)
                if isinstance(deps, Mapping):
                    stack.extend(
                        (s, resolver) for k, s in deps.items() if k in value and isinstance(s, (Mapping, bool))
                    )
    return out


def _open(value: Any) -> bool:
    return value is not None and value is not False


def _prune_object(obj: Mapping[str, Any], expanded: list[Entry], d: _Dialect) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in obj.items():
        subs: list[Entry] = []
        for schema, resolver in expanded:
            if not isinstance(schema, Mapping):
                continue
            matched = False
            props = schema.get("properties")
            if isinstance(props, Mapping) and key in props:
                subs.append((props[key], resolver))
                matched = True
            patterns = schema.get("patternProperties")
            if isinstance(patterns, Mapping):
                for pat, sub in patterns.items():
                    if pattern_found(pat, key):
                        subs.append((sub, resolver))
                        matched = True
            if not matched and _open(schema.get("additionalProperties")):
                subs.append((schema["additionalProperties"], resolver))
        if not subs:
            subs = [
                (schema["unevaluatedProperties"], resolver)
                for schema, resolver in expanded
                if isinstance(schema, Mapping) and _open(schema.get("unevaluatedProperties"))
            ]
        if subs:
            result[key] = _prune(item, subs, d)
    return result


def _item_schemas(schema: Mapping[str, Any], index: int, d: _Dialect) -> list[Any]:
    items = schema.get("items")
    if d.array_items and isinstance(items, list):
        if index < len(items):
            return [items[index]]
        extra = schema.get("additionalItems")
        return [extra] if _open(extra) else []
    prefix = schema.get("prefixItems")
    if not d.array_items and isinstance(prefix, list) and index < len(prefix):
        return [prefix[index]]
    return [items] if _open(items) else []


def _prune_array(arr: list[Any], expanded: list[Entry], d: _Dialect) -> list[Any]:
    result: list[Any] = []
    for index, item in enumerate(arr):
        subs: list[Entry] = []
        for schema, resolver in expanded:
            if isinstance(schema, Mapping):
                subs.extend((s, resolver) for s in _item_schemas(schema, index, d))
        if not subs:
            subs = [
                (schema["unevaluatedItems"], resolver)
                for schema, resolver in expanded
                if isinstance(schema, Mapping) and _open(schema.get("unevaluatedItems"))
            ]
        result.append(_prune(item, subs, d) if subs else item)
    return result


def _prune(value: Any, entries: list[Entry], d: _Dialect, *, top: bool = False) -> Any:
    expanded = _expand(entries, value, d)
    if not top and all(_is_trivial(schema) for schema, _ in expanded):
        return value
    if isinstance(value, Mapping):
        return _prune_object(value, expanded, d)
    if isinstance(value, list):
        return _prune_array(value, expanded, d)
    return value


def prune_to_schema(
    schema: Mapping[str, Any],
    data: Mapping[str, Any],
    dialect: str,
    is_valid: Callable[[Any, Any], bool],
) -> dict[str, Any]:
    """The part of ``data`` (already valid against ``schema``) that the schema declares.

    ``is_valid(instance, subschema)`` must validate like the validator that accepted
    ``data`` (same draft, same ``$ref`` resolution); it picks the branches that apply.
    """
    spec = referencing.jsonschema.specification_with(dialect)
    d = _Dialect(
        spec=spec,
        legacy_ref=uses_legacy_ref(dialect),
        array_items=uses_array_items(dialect),
        is_valid=is_valid,
    )
    resolver = SPECIFICATIONS.resolver_with_root(spec.create_resource(schema))
    pruned = _prune(data, [(schema, resolver)], d, top=True)
    return dict(pruned) if isinstance(pruned, Mapping) else {}
