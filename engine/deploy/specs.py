"""Parse a deployed version's BPMN and DMN into SpiffWorkflow specs, with deploy-time checks,
and cache the result per version (specs are immutable once deployed)."""
from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask as ManualTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR

from engine.deploy.parser import ApprovalBpmnParser, LayoutTolerantValidator
from engine.deploy.xml import parse_model_xml
from engine.errors import ElementError, ModelInvalid
from engine.sandbox import compile_errors
from engine.services import load_builtin_operators
from engine.sla_calendar import check_sla_properties

# Resolves a called process id (or `dmn:<decision id>`) to the files of the model defining it.
Resolver = Callable[[str], Mapping[str, str] | None]


@dataclass
class ParsedVersion:
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    process_ids: list[str]
    decision_ids: list[str]
    files: Mapping[str, str]
    # Files of other models pulled in for call activities and shared decisions.
    external_files: dict[str, str] = field(default_factory=dict)
    # Process id -> the files of the model that defines it (forms of called processes live there).
    files_by_process: dict[str, Mapping[str, str]] = field(default_factory=dict)
    # The deployed version's process_model.json and number (versions are immutable: cached with the specs).
    meta: dict[str, Any] | None = None
    number: int | None = None
    content_hash: str | None = None
    primary_process_id: str | None = None

    def files_for(self, process_id: str) -> Mapping[str, str]:
        return self.files_by_process.get(process_id, self.files)

    @functools.cached_property
    def event_kinds(self) -> frozenset[str]:
        """Which waits ("timer", "message") any process of this version can have: a version
        with none needs no timer or message index kept per step."""
        from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
        from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
        from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

        kinds: set[str] = set()
        for spec in (self.spec, *self.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                ed = getattr(task_spec, "event_definition", None)
                defs = ed.event_definitions if isinstance(ed, MultipleEventDefinition) else [ed]
                for d in defs:
                    if isinstance(d, TimerEventDefinition):
                        kinds.add("timer")
                    elif isinstance(d, MessageEventDefinition):
                        kinds.add("message")
        return frozenset(kinds)


def is_human_task_spec(spec: Any) -> bool:
    return isinstance(spec, (UserTaskMixin, ManualTaskMixin))


def _validation_error(exc: SpiffWorkflowException, default_file: str | None) -> ElementError:
    file = getattr(exc, "file_name", None) or default_file
    line = getattr(exc, "line_number", None) or None
    element = getattr(exc, "id", None) or getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
    msg = str(getattr(exc, "error_msg", None) or exc).strip()
    return ElementError(file, msg, line=line, element_id=element)


def _decision_ids(tree: etree._Element) -> list[str]:
    return [d.get("id") for d in tree.iter() if etree.QName(d).localname == "decision" and d.get("id")]


def _add_file(parser: ApprovalBpmnParser, name: str, text: str) -> list[str]:
    tree = parse_model_xml(name, text)
    try:
        if name.endswith(".dmn"):
            parser.add_dmn_xml(tree, filename=name)
            return _decision_ids(tree)
        parser.add_bpmn_xml(tree, filename=name)
    except (ValidationException, SpiffWorkflowException) as exc:
        raise ModelInvalid([_validation_error(exc, name)]) from exc
    except (LookupError, AttributeError, TypeError, ValueError) as exc:  # Spiff's parser on XML it did not expect
        raise ModelInvalid([ElementError(name, f"cannot be read as a model: {type(exc).__name__}: {exc}")]) from exc
    return []


def model_files(files: Mapping[str, str], suffix: str) -> list[str]:
    return sorted(n for n in files if n.endswith(suffix))


def parse_version(
    files: Mapping[str, str], primary_process_id: str, resolve: Resolver | None = None, *, validate: bool = True
) -> ParsedVersion:
    """Parse every BPMN and DMN file of a version; pull in other models' files for call activities
    and decisions not defined here (transitively), then build the primary spec."""
    parser = ApprovalBpmnParser(validator=LayoutTolerantValidator(VALIDATOR) if validate else None)
    decision_ids: list[str] = []
    for name in model_files(files, ".dmn"):
        decision_ids += _add_file(parser, name, files[name])
    for name in model_files(files, ".bpmn"):
        _add_file(parser, name, files[name])
    own_process_ids = list(parser.process_parsers)
    external: dict[str, str] = {}
    files_by_process: dict[str, Mapping[str, str]] = {}
    seen_refs: set[str] = set()
    while resolve is not None:
        missing = [f"{p}" for p in parser.get_process_dependencies() if p not in parser.process_parsers]
        missing += [f"dmn:{d}" for d in parser.get_dmn_dependencies() if d not in parser.dmn_parsers]
        missing = [m for m in missing if m not in seen_refs]
        if not missing:
            break
        for ref in missing:
            seen_refs.add(ref)
            found = resolve(ref)
            before = set(parser.process_parsers)
            for name, text in (found or {}).items():
                key = f"[{ref}] {name}"
                if key in external or not (name.endswith(".bpmn") or name.endswith(".dmn")):
                    continue
                external[key] = text
                _add_file(parser, name, text)
            for pid in set(parser.process_parsers) - before:
                files_by_process[pid] = found or {}
    if primary_process_id not in parser.process_parsers:
        raise ModelInvalid([ElementError(
            None, f"primary process '{primary_process_id}' is not defined; found: {', '.join(own_process_ids) or 'none'}"
        )])
    try:
        spec = parser.get_spec(primary_process_id)
        subs = parser.get_subprocess_specs(primary_process_id)
    except (ValidationException, SpiffWorkflowException) as exc:
        raise ModelInvalid([_validation_error(exc, None)]) from exc
    except (LookupError, AttributeError, TypeError, ValueError) as exc:
        raise ModelInvalid([ElementError(None, f"the model cannot be built: {type(exc).__name__}: {exc}")]) from exc
    return ParsedVersion(spec, subs, own_process_ids, decision_ids, files, external, files_by_process)


def _script_errors(file: str | None, element: str, source: str, mode: str) -> list[ElementError]:
    return [ElementError(file, f"script error: {e}", element_id=element) for e in compile_errors(source, mode)]


def check_scripts(parsed: ParsedVersion) -> list[ElementError]:
    """Compile every script and condition with the sandbox's compiler so designers see errors at
    deploy time, named by element, instead of at run time."""
    errors: list[ElementError] = []
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        file = getattr(spec, "file", None)
        for ts in spec.task_specs.values():
            bpmn_id = getattr(ts, "bpmn_id", None) or ts.name
            for attr in ("script", "prescript", "postscript"):
                src = getattr(ts, attr, None)
                if isinstance(src, str) and src.strip():
                    errors += _script_errors(file, bpmn_id, src, "exec")
            props = (getattr(ts, "extensions", None) or {}).get("properties") or {}
            errors += [ElementError(file, problem, element_id=bpmn_id)
                       for problem in check_sla_properties(props)]
            op = getattr(ts, "operation_name", None)
            if op is not None and op not in load_builtin_operators():
                errors.append(ElementError(file, f"unknown service operator '{op}' (known: "
                                                 f"{', '.join(sorted(load_builtin_operators()))})", element_id=bpmn_id))
            for cond in getattr(ts, "cond_task_specs", None) or []:
                expr = cond.get("condition") if isinstance(cond, dict) else None
                if isinstance(expr, str) and expr.strip():
                    errors += _script_errors(file, bpmn_id, expr, "eval")
    return errors


def form_files_of(parsed: ParsedVersion) -> list[tuple[str, str, str | None]]:
    """(bpmn id, schema file, ui schema file) of every user task of THIS model that binds a form
    (a called process from another model has its forms in that model)."""
    out = []
    own = set(parsed.process_ids)
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        if spec.name not in own:
            continue
        for ts in spec.task_specs.values():
            props = (getattr(ts, "extensions", None) or {}).get("properties") or {}
            if props.get("formJsonSchemaFilename"):
                out.append((ts.bpmn_id, props["formJsonSchemaFilename"], props.get("formUiSchemaFilename")))
    return out


def check_forms(parsed: ParsedVersion) -> list[ElementError]:
    """Every form a task binds exists; templated ones are checked at render time, plain ones now."""
    from forms import FormDefinitionError, load_form  # forms/ is engine-independent; imported late

    errors: list[ElementError] = []
    for bpmn_id, schema_file, ui_file in form_files_of(parsed):
        for fname in (schema_file, ui_file):
            if fname and fname not in parsed.files:
                errors.append(ElementError(fname, f"form file '{fname}' bound by task {bpmn_id} is missing", element_id=bpmn_id))
        if schema_file in parsed.files and "{{" not in parsed.files[schema_file] and (
            not ui_file or ui_file in parsed.files
        ):
            try:
                load_form(parsed.files, schema_file, ui_file, {})
            except FormDefinitionError as exc:
                errors.append(ElementError(exc.filename, exc.message, line=exc.line, element_id=bpmn_id))
    for name in parsed.files:
        if name.endswith(".json"):
            try:
                json.loads(parsed.files[name]) if "{{" not in parsed.files[name] else None
            except json.JSONDecodeError as exc:
                errors.append(ElementError(name, f"invalid JSON: {exc.msg}", line=exc.lineno))
    return errors


class SpecCache:
    """Parsed specs per version id. Versions never change, so entries never go stale."""

    def __init__(self, capacity: int = 256) -> None:
        self._items: OrderedDict[int, ParsedVersion] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity
        self._metas: dict[int, dict[str, Any]] = {}  # small (process_model.json), kept for every version seen

    def metas(self, version_ids: set[int], load: Callable[[set[int]], dict[int, dict[str, Any]]]) -> dict[int, dict[str, Any]]:
        """process_model.json of each version, loading only those not seen before."""
        missing = {v for v in version_ids if v not in self._metas}
        if missing:
            loaded = load(missing)
            with self._lock:
                self._metas.update(loaded)
        return {v: self._metas[v] for v in version_ids if v in self._metas}

    def get(self, version_id: int, build: Callable[[], ParsedVersion]) -> ParsedVersion:
        with self._lock:
            hit = self._items.get(version_id)
            if hit is not None:
                self._items.move_to_end(version_id)
                return hit
        parsed = build()
        with self._lock:
            self._items[version_id] = parsed
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return parsed
