"""Loading form definitions: Jinja filling from task data, JSON parsing, schema checking.

A form is a JSON Schema file plus an optional UI schema file (rjsf conventions) among the
files of one deployed process-model version.  Both may contain Jinja placeholders filled
from the task data *before* the text is parsed as JSON (the spiff-arena convention)::

    "enum": {{ station_types | tojson }},
    "default": "{{ station_name }}",

Rendering rules (what a form designer can rely on):

* Jinja runs in an immutable sandbox (no attribute tricks, no mutating task data), with
  autoescape off: the output is JSON, not HTML.
* A missing variable renders as nothing, at any depth (``{{ station.name }}`` with no
  ``station`` gives ``""``), like spiff-arena: a form can show before an earlier step filled
  everything in.  ``{{ missing | tojson }}`` gives ``null``; use
  ``{{ options | default([]) | tojson }}`` where an empty list is meant.
* ``{{ value }}`` is written *JSON-string-escaped* (quotes, backslashes and newlines
  escaped), so ``"default": "{{ station_name }}"`` stays valid JSON whatever the name
  contains; ``None`` renders as nothing and booleans as ``true``/``false``.
* ``{{ value | tojson }}`` inserts a whole JSON value (list, object, number, string with its
  quotes).  Non-ASCII text is kept as is; ``Decimal`` is written as an exact JSON number
  (``19.99``), dates as ISO strings.  ``| safe`` inserts text unescaped.
* Rendering keeps the line structure (no whitespace trimming), so JSON and schema errors
  point at the line in the file; when a ``{% for %}`` loop changed the line count, the
  message says the line is in the rendered text.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import referencing.jsonschema
from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, Undefined, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jsonschema.exceptions import SchemaError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from markupsafe import Markup
from referencing.exceptions import Unresolvable

from forms.dialects import (
    REGEX_ENGINE_NOTE,
    REGEX_ENGINE_NOTE_ZH,
    UnsupportedDialect,
    UnsupportedPattern,
    base_validator_class,
    compile_pattern,
    dialect_of,
)
from forms.errors import FormDefinitionError
from forms.jsontext import json_dumps, plain_default

if TYPE_CHECKING:  # referencing exports Resolver only from its private module
    from referencing._core import Resolver

SCHEMA_SUFFIX = "-schema.json"
UI_SCHEMA_SUFFIX = "-uischema.json"


@dataclass(frozen=True)
class Form:
    """A loaded form: JSON-ready schema and UI schema (plain JSON types, floats for numbers).

    ``schema`` is what the browser gets; validation re-reads its numbers exactly (see
    :func:`forms.validation.validate_submission`).
    """

    schema: dict[str, Any]
    ui_schema: dict[str, Any] = field(default_factory=dict)
    schema_filename: str = "<schema>"
    ui_schema_filename: str | None = None


# --- Jinja -----------------------------------------------------------------------------


class _JSONText(str):
    """Output of ``tojson``: already JSON, must not be string-escaped again by finalize."""


def _jinja_default(obj: Any) -> Any:
    if isinstance(obj, Undefined):  # a missing variable inside a list/dict literal
        return None
    return plain_default(obj)


def _tojson(value: Any, indent: int | None = None) -> _JSONText:
    if isinstance(value, Undefined):
        return _JSONText("null")
    return _JSONText(json_dumps(value, ensure_ascii=False, indent=indent, default=_jinja_default))


def _finalize(value: Any) -> str:
    """Applied to every ``{{ ... }}``: make the result safe inside a JSON string literal."""
    if isinstance(value, (_JSONText, Markup)):
        return str(value)
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else str(value)
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _make_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=ChainableUndefined,
        autoescape=False,
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    env.filters["tojson"] = _tojson
    return env


_ENV = _make_env()


def _code_filename(filename: str) -> str:
    # The "file name" compiled template code runs under; it identifies the template's frames
    # in a traceback, which is how a render error finds its line.
    return f"<form template {filename}>"


@lru_cache(maxsize=256)
def _compile(filename: str, source: str) -> Template:
    code = _ENV.compile(source, name=filename, filename=_code_filename(filename))
    return _ENV.template_class.from_code(_ENV, code, _ENV.make_globals(None))


def _has_jinja(source: str) -> bool:
    return "{{" in source or "{%" in source or "{#" in source


def _file_text(files: Mapping[str, str], filename: str | None) -> str:
    if not filename:
        raise FormDefinitionError(str(filename), "no form file name given")
    if filename not in files:
        raise FormDefinitionError(filename, "form file not found in this process model version")
    text: Any = files[filename]
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormDefinitionError(filename, f"not UTF-8 text: {exc}") from exc
    if not isinstance(text, str):
        raise FormDefinitionError(filename, "file content is not text")
    return text.removeprefix("\ufeff")  # editors on Windows add a BOM; JSON does not allow it


def _compile_or_raise(filename: str, source: str) -> Template:
    try:
        return _compile(filename, source)
    except TemplateSyntaxError as exc:
        raise FormDefinitionError(filename, f"Jinja syntax error: {exc.message}", exc.lineno) from exc


def _render_error_line(exc: BaseException, filename: str) -> int | None:
    if isinstance(exc, TemplateSyntaxError):
        return exc.lineno
    line = None
    tb: types.TracebackType | None = exc.__traceback__
    code_name = _code_filename(filename)
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == code_name:
            line = tb.tb_lineno  # keep the innermost template frame
        tb = tb.tb_next
    return line


def render_template(files: Mapping[str, str], filename: str, task_data: Mapping[str, Any]) -> tuple[str, str]:
    """Render one JSON form file with task data; returns ``(source, rendered)``.

    JSON only: ``{{ }}`` output is JSON-string-escaped, which is wrong for Markdown such as
    ``instructionsForEndUser``.
    """
    source = _file_text(files, filename)
    if not _has_jinja(source):
        return source, source
    template = _compile_or_raise(filename, source)
    try:
        rendered = template.render(dict(task_data))
    except Exception as exc:  # template code can raise anything; all of it is a form bug
        detail = getattr(exc, "message", None) or str(exc)
        raise FormDefinitionError(
            filename, f"Jinja error: {type(exc).__name__}: {detail}", _render_error_line(exc, filename)
        ) from exc
    return source, rendered


# --- JSON and schema ---------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _line_note(source: str, rendered: str, line: int | None) -> str:
    if line is None or source.count("\n") == rendered.count("\n"):
        return ""
    lines = rendered.splitlines()
    excerpt = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if len(excerpt) > 80:
        excerpt = excerpt[:77] + "..."
    return f" (line {line} of the text after Jinja rendering: {excerpt!r})"


def _parse_object(filename: str, source: str, rendered: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(rendered, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        note = _line_note(source, rendered, exc.lineno)
        raise FormDefinitionError(filename, f"invalid JSON: {exc.msg} at column {exc.colno}{note}", exc.lineno) from exc
    except ValueError as exc:
        raise FormDefinitionError(filename, f"invalid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise FormDefinitionError(filename, f"{what} must be a JSON object", 1)
    return value


_WS = frozenset(" \t\r\n")


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def locate_line(text: str, path: Sequence[str | int]) -> int | None:
    """1-based line of the member/element at ``path`` in JSON ``text`` (None if not found).

    For an object member this is the line of its key, which is where a designer looks.
    The standard json module keeps no positions, so this walks the text itself, using the
    decoder only to skip over values.
    """
    decoder = json.JSONDecoder()
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    try:
        i = _skip_ws(text, 0)
        anchor = i
        for seg in path:
            if text[i] == "{":
                i = _skip_ws(text, i + 1)
                found: tuple[int, int] | None = None
                while text[i] != "}":
                    key_pos = i
                    key, i = scanstring(text, i + 1)
                    i = _skip_ws(text, i)
                    if text[i] != ":":
                        return None
                    i = _skip_ws(text, i + 1)
                    if key == str(seg):
                        found = (key_pos, i)  # the last duplicate wins, as in json.loads
                    _, i = decoder.raw_decode(text, i)
                    i = _skip_ws(text, i)
                    if text[i] == ",":
                        i = _skip_ws(text, i + 1)
                if found is None:
                    return None
                anchor, i = found
            elif text[i] == "[":
                index = int(seg)
                i = _skip_ws(text, i + 1)
                for _ in range(index):
                    if text[i] == "]":
                        return None
                    _, i = decoder.raw_decode(text, i)
                    i = _skip_ws(text, i)
                    if text[i] != ",":
                        return None
                    i = _skip_ws(text, i + 1)
                if text[i] == "]":
                    return None
                anchor = i
            else:
                return None
        return text.count("\n", 0, anchor) + 1
    except (ValueError, IndexError):
        return None


def _pointer(path: Sequence[str | int]) -> str:
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in path)


def _schema_error(
    filename: str, source: str, rendered: str, path: Sequence[str | int], what: str, detail: str
) -> FormDefinitionError:
    line = locate_line(rendered, path)
    where = _pointer(path) or "the top level"
    note = _line_note(source, rendered, line)
    return FormDefinitionError(filename, f"{what} at {where}: {detail}{note}", line)


# Keywords whose values are data, not schemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
# Keywords whose values map names to schemas: every member is a schema, whatever its name.
_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


def _check_refs(filename: str, source: str, rendered: str, schema: dict[str, Any], dialect: str) -> None:
    """Every ``$ref`` must resolve inside the file: validation never fetches anything remote."""
    spec = referencing.jsonschema.specification_with(dialect)
    root = SPECIFICATIONS.resolver_with_root(spec.create_resource(schema))

    def walk(node: Any, path: list[str | int], resolver: Resolver[Any], names: bool) -> None:
        if isinstance(node, dict):
            if not names and path and "$id" in node:
                resolver = resolver.in_subresource(spec.create_resource(node))
            for key, value in node.items():
                if names:
                    walk(value, [*path, key], resolver, False)
                elif key == "$ref" and isinstance(value, str):
                    try:
                        resolver.lookup(value)
                    except Unresolvable as exc:
                        raise _schema_error(
                            filename,
                            source,
                            rendered,
                            [*path, key],
                            "unresolvable $ref",
                            f"{value!r} does not point into this file ({type(exc).__name__})",
                        ) from exc
                elif key not in _DATA_KEYWORDS:
                    walk(value, [*path, key], resolver, key in _NAME_MAPS)
        elif isinstance(node, list) and not names:
            for index, item in enumerate(node):
                walk(item, [*path, index], resolver, False)

    walk(schema, [], root, False)


def _field_of(schema: Any, path: Sequence[str | int]) -> str:
    """How a message names the field a schema path is in: its last ``properties`` member."""
    field_name, node = "", schema
    for i, seg in enumerate(path):
        if seg == "properties" and i + 1 < len(path) and isinstance(node, dict):
            member = (node.get("properties") or {}).get(path[i + 1])
            title = member.get("title") if isinstance(member, dict) else None
            field_name = f"'{path[i + 1]}'" + (f" ({title})" if isinstance(title, str) and title.strip() else "")
        node = node.get(seg) if isinstance(node, dict) else node[seg] if isinstance(node, list) and isinstance(seg, int) else None
    return field_name


def _check_patterns(filename: str, source: str, rendered: str, schema: dict[str, Any]) -> None:
    """Every ``pattern`` and ``patternProperties`` name must compile for RE2 (see forms.dialects):
    a backreference or lookaround is refused here, naming the field, not when a user submits."""

    def check(pattern: str, path: list[str | int]) -> None:
        try:
            compile_pattern(pattern)
        except UnsupportedPattern as exc:
            field_name = _field_of(schema, path)
            en = f"the pattern {pattern!r}" + (f" of field {field_name}" if field_name else "")
            zh = (f"字段 {field_name} 的" if field_name else "") + f"正则表达式 {pattern!r} 无法使用"
            detail = (f"{en} cannot be used: {exc.reason}. {REGEX_ENGINE_NOTE} / "
                      f"{zh}：{exc.reason_zh}。{REGEX_ENGINE_NOTE_ZH}（RE2: {exc.detail}）")
            raise _schema_error(filename, source, rendered, path, "unsupported pattern", detail) from exc

    def walk(node: Any, path: list[str | int], names: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if names:
                    walk(value, [*path, key], False)
                    continue
                if key == "pattern" and isinstance(value, str):
                    check(value, [*path, key])
                elif key == "patternProperties" and isinstance(value, dict):
                    for name in value:
                        check(name, [*path, key, name])
                if key not in _DATA_KEYWORDS:
                    walk(value, [*path, key], key in _NAME_MAPS)
        elif isinstance(node, list) and not names:
            for index, item in enumerate(node):
                walk(item, [*path, index], False)

    walk(schema, [], False)


# Rendered schema texts that passed the metaschema, $ref and pattern checks. A task's form is loaded
# about twice per completion and the check was ~1/5 of the server's CPU per request
# (bench/http_load.py --profile); the text fully determines the outcome, failures are not kept.
_CHECKED: dict[tuple[str, str], None] = {}
_CHECKED_MAX = 1024


def _load_schema(files: Mapping[str, str], filename: str, task_data: Mapping[str, Any]) -> dict[str, Any]:
    source, rendered = render_template(files, filename, task_data)
    schema = _parse_object(filename, source, rendered, "a form schema")
    if (filename, rendered) in _CHECKED:
        return schema
    try:
        dialect = dialect_of(schema)
    except UnsupportedDialect as exc:
        raise _schema_error(filename, source, rendered, ["$schema"], "unsupported draft", str(exc)) from exc
    try:
        base_validator_class(schema).check_schema(schema)
    except SchemaError as exc:
        detail = exc.message
        if exc.instance is None and _has_jinja(source):
            # The usual cause: {{ x | tojson }} with x missing from the task data.
            detail += " (is a variable used with | tojson missing from the task data?)"
        raise _schema_error(filename, source, rendered, list(exc.absolute_path), "invalid JSON Schema", detail) from exc
    _check_refs(filename, source, rendered, schema, dialect)
    _check_patterns(filename, source, rendered, schema)
    if len(_CHECKED) >= _CHECKED_MAX:
        _CHECKED.clear()
    _CHECKED[(filename, rendered)] = None
    return schema


def _load_ui_schema(files: Mapping[str, str], filename: str, task_data: Mapping[str, Any]) -> dict[str, Any]:
    source, rendered = render_template(files, filename, task_data)
    return _parse_object(filename, source, rendered, "a UI schema")


def load_form(
    files: Mapping[str, str],
    schema_filename: str,
    ui_schema_filename: str | None,
    task_data: Mapping[str, Any],
) -> Form:
    """Render, parse and check a form's files for one task.

    ``files`` maps the file names of one process-model version to their text.
    ``ui_schema_filename`` None means no UI schema (``{}``); to follow the
    ``X-schema.json``/``X-uischema.json`` convention when the task names none, pass
    ``find_ui_schema_filename(schema_filename, files)``.

    Raises :class:`FormDefinitionError` (file name, message, line) for a missing file, a
    Jinja syntax or rendering error, invalid JSON after rendering, a top level that is not an
    object, an unsupported ``$schema`` (2020-12, the default, 2019-09 and draft-07 are
    accepted), a schema its metaschema rejects (the message gives the JSON Pointer of the bad
    keyword), a ``$ref`` that does not resolve within the file, or a ``pattern`` RE2 cannot run
    (a backreference or lookaround: the message names the field, in English and Chinese).
    """
    data: Mapping[str, Any] = task_data if task_data is not None else {}
    schema = _load_schema(files, schema_filename, data)
    ui_schema = {} if ui_schema_filename is None else _load_ui_schema(files, ui_schema_filename, data)
    return Form(
        schema=schema,
        ui_schema=ui_schema,
        schema_filename=schema_filename,
        ui_schema_filename=ui_schema_filename,
    )


def find_ui_schema_filename(schema_filename: str, files: Mapping[str, Any]) -> str | None:
    """``X-schema.json`` -> ``X-uischema.json`` if that file exists, else None."""
    if not schema_filename.endswith(SCHEMA_SUFFIX):
        return None
    candidate = schema_filename[: -len(SCHEMA_SUFFIX)] + UI_SCHEMA_SUFFIX
    return candidate if candidate in files else None


def check_form_definition(
    files: Mapping[str, str],
    schema_filename: str,
    ui_schema_filename: str | None = None,
    task_data: Mapping[str, Any] | None = None,
) -> None:
    """Deploy-time check of a form's files, without a running task.

    Always checks that the files exist and their Jinja parses.  A file that uses no
    variables (or every file, when sample ``task_data`` is given) is also rendered, parsed
    and, for the schema, checked against its metaschema.  A file that needs task data cannot
    be checked further before it has some.  Raises :class:`FormDefinitionError`.
    """
    checks = [(schema_filename, _load_schema)]
    if ui_schema_filename is not None:
        checks.append((ui_schema_filename, _load_ui_schema))
    for filename, loader in checks:
        source = _file_text(files, filename)
        if _has_jinja(source):
            _compile_or_raise(filename, source)
            if task_data is None and meta.find_undeclared_variables(_ENV.parse(source)):
                continue
        loader(files, filename, task_data or {})
