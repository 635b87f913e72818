"""BPMN unit tests in the spiff-arena format (`test_<bpmn stem>.json` beside the model).

The runner follows spiff-arena's ProcessModelTestRunner, so a test written for spiff-arena runs
here with the same outcome:
- A case starts the BPMN file's executable process (the model's primary process when the file is
  its primary file); the file is parsed with the folder's DMN files, and called processes and
  decisions are looked up by id (the test's own folder first, then every model on disk).
- The engine runs one READY task at a time (a ready boundary event first). A task is looked up in
  `tasks` as `TaskId`, then `ProcessId:TaskId` (the process the task runs in; inside an embedded
  sub-process the enclosing file process's id is accepted too).
- A task that has test data takes the next entry of its `data` list: the entry is merged into the
  task data as a form submission is (top-level keys replaced) and the task is completed WITHOUT
  running it: a user or manual task is submitted, a service task's call, a script task's script
  and a business rule task's decision are replaced by the entry. A call activity or sub-process
  starts its process on the way in (the engine does that before it is ready), so its entry is
  merged when that process has ended. A multi-instance or loop task passes its data to its
  instances.
- A user or service task with no data fails the case; a manual task or plain task with none is
  completed as is; any other task runs.
- `mocks` (`{"function_name": value}`) replaces script helpers: the function returns the value.
- A waiting message event (intermediate, receive task or boundary) with test data receives the
  entry as the message's payload (an extension: spiff-arena's runner cannot deliver messages).
- An error, a process that does not complete, or data for a task reached once more than its list
  has entries fails the case; at the end the process's data must equal `expected_output_json`.
  Test data never used is reported with the result but does not fail it (as in spiff-arena)."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.deploy.loader import discover_models
from engine.deploy.specs import parse_version
from engine.deploy.xml import parse_model_xml
from engine.errors import ModelInvalid
from engine.sandbox import SandboxedScriptEngine
from forms import json_dumps, json_loads

MAX_STEPS = 100_000
TEST_USER = {"id": 0, "username": "test_user", "display_name": "测试用户", "email": "test@example.com",
             "region": "HQ", "department": "", "groups": [], "manager": None}


@dataclass
class CaseResult:
    file: str
    name: str
    passed: bool
    message: str = ""


@dataclass
class TestReport:
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed


class CaseFailed(Exception):
    """Why a case failed, in the runner's words."""


def _plain(value: Any) -> Any:
    """Compare data as JSON carries it: exact decimals (floats by their repr), ISO dates."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _process_ids_in(text: str, name: str) -> list[str]:
    """The executable processes of a BPMN file, in document order."""
    tree = parse_model_xml(name, text)
    return [p.get("id") for p in tree.iter() if etree.QName(p).localname == "process"
            and p.get("isExecutable", "true") != "false"]


def _decision_ids_in(text: str, name: str) -> list[str]:
    tree = parse_model_xml(name, text)
    return [d.get("id") for d in tree.iter() if etree.QName(d).localname == "decision" and d.get("id")]


# A called process or decision -> (folder, file name, text) of each file on disk defining it.
DefinitionIndex = dict[str, list[tuple[Path, str, str]]]


def definition_index(root: Path) -> DefinitionIndex:
    """Which file defines each process (`<id>`) and decision (`dmn:<id>`) of every model on disk."""
    index: DefinitionIndex = {}
    for m in discover_models(root):
        for name, text in m.files.items():
            try:
                if name.endswith(".bpmn"):
                    keys = _process_ids_in(text, name)
                elif name.endswith(".dmn"):
                    keys = [f"dmn:{d}" for d in _decision_ids_in(text, name)]
                else:
                    continue
            except ModelInvalid:
                continue
            for key in keys:
                index.setdefault(key, []).append((m.path.resolve(), name, text))
    return index


def file_resolver(index: DefinitionIndex, folder: Path) -> Callable[[str], dict[str, str] | None]:
    """Resolve a called process or decision to the one file defining it, as spiff-arena's runner
    adds only the files a test needs: a definition in the test's own folder wins."""
    folder = folder.resolve()

    def resolve(ref: str) -> dict[str, str] | None:
        found = sorted(index.get(ref) or [], key=lambda f: f[0] != folder)
        if not found:
            return None
        _, name, text = found[0]
        return {name: text}

    return resolve


def _task_keys(task: Any) -> list[str]:
    """The keys a task's test data may have, in spiff-arena's order: `TaskId`, then
    `ProcessId:TaskId`; inside an embedded sub-process also `<enclosing process>:TaskId`."""
    bpmn_id = task.task_spec.bpmn_id or task.task_spec.name
    keys = [bpmn_id, f"{task.workflow.spec.name}:{bpmn_id}"]
    wf = task.workflow
    while getattr(wf, "parent_task_id", None) is not None:
        parent = wf.top_workflow.get_task_from_id(wf.parent_task_id)
        if parent is None or isinstance(parent.task_spec, CallActivity):
            break
        wf = parent.workflow
        keys.append(f"{wf.spec.name}:{bpmn_id}")
    return keys


class _Plan:
    """The case's test data and how much of it was used."""

    def __init__(self, tasks: Mapping[str, Any]) -> None:
        self.tasks = {k: v for k, v in tasks.items() if isinstance(v, dict)}
        self.used: dict[str, int] = {}
        self.delivered: set[Any] = set()  # catching events whose message came from the test data

    def key_for(self, task: Any) -> str | None:
        return next((k for k in _task_keys(task) if k in self.tasks), None)

    def has_data(self, key: str | None) -> bool:
        return key is not None and "data" in self.tasks[key]

    def take(self, key: str) -> dict[str, Any]:
        entries = self.tasks[key].get("data") or []
        n = self.used.get(key, 0)
        if n >= len(entries):
            raise CaseFailed(f"task {key} was reached with no data left for it "
                             f"({len(entries)} entr{'y' if len(entries) == 1 else 'ies'} given, reached {n + 1} times)")
        self.used[key] = n + 1
        entry = entries[n]
        if not isinstance(entry, dict):
            raise CaseFailed(f"data entry {n + 1} of task {key} is not an object")
        return entry

    def unused(self) -> dict[str, int]:
        out = {}
        for key, props in self.tasks.items():
            left = len(props.get("data") or []) - self.used.get(key, 0)
            if left > 0:
                out[key] = left
        return out


def _next_task(wf: BpmnWorkflow) -> Any:
    """spiff-arena's choice: a ready boundary event with an error/escalation code first (the
    others ready with it are cancelled), then any ready boundary event, then the first ready task."""
    ready = list(wf.get_tasks(state=TaskState.READY))
    code: list[Any] = []
    no_code: list[Any] = []
    for task in ready:
        if isinstance(task.task_spec, BoundaryEvent):
            ed = task.task_spec.event_definition
            (code if isinstance(ed, CodeEventDefinition) and ed.code is not None else no_code).append(task)
    if code:
        for task in no_code:
            task.cancel()
        return code[0]
    if no_code:
        return no_code[0]
    return ready[0] if ready else None


def _deliver_message(wf: BpmnWorkflow, plan: _Plan) -> bool:
    """A waiting message event (intermediate, receive task or boundary) that has test data gets
    the next entry as the message's payload."""
    for task in wf.get_tasks(state=TaskState.WAITING):
        ed = getattr(task.task_spec, "event_definition", None)
        if not isinstance(ed, MessageEventDefinition):
            continue
        key = plan.key_for(task)
        if not plan.has_data(key) or not plan.unused().get(key or ""):
            continue
        assert key is not None
        payload = plan.take(key)
        if getattr(ed, "message_var", None) is None:
            task.data.update(payload)
        plan.delivered.add(task.id)
        wf.send_event(BpmnEvent(ed, payload=payload))
        return True
    return False


def _step(wf: BpmnWorkflow, task: Any, plan: _Plan) -> None:
    key = plan.key_for(task)
    spec = task.task_spec
    if task.id in plan.delivered:  # its message was the test data: it stores the payload itself
        task.run()
        return
    # A multi-instance or loop task's data is for its instances (spiff-arena skips it too).
    if plan.has_data(key) and not isinstance(spec, LoopTask):
        assert key is not None
        # As the platform merges a submitted form (and a service task's result variable): each
        # top-level key replaces the value before. A deep merge would keep a list's old items
        # (a re-uploaded file list would still name the first upload) and predict wrong data.
        task.data.update(plan.take(key))
        task.complete()
    elif isinstance(spec, (UserTask, ServiceTask)):
        raise CaseFailed(f"task {_task_keys(task)[0]} was reached with no data left for it "
                         f"(a {'user' if isinstance(spec, UserTask) else 'service'} task needs test data)")
    elif spec.manual:
        task.complete()
    else:
        task.run()


def _helpers(mocks: Mapping[str, Any]) -> dict[str, Any]:
    helpers: dict[str, Any] = {
        "get_current_user": lambda: dict(TEST_USER), "get_process_initiator_user": lambda: dict(TEST_USER),
        "get_user_properties": lambda: dict(TEST_USER), "get_group_members": lambda name, region=None: [],
        "manager_of": lambda username, levels=1: None, "region_of": lambda username: "HQ",
        "get_instance_region": lambda: "HQ",
    }
    for name, value in mocks.items():
        helpers[str(name)] = lambda *_a, _value=value, **_k: json_loads(json_dumps(_value))
    return helpers


def run_case(
    files: dict[str, str], process_id: str, case: dict[str, Any], resolve: Callable[[str], dict[str, str] | None] | None
) -> str | None:
    """Run one case; None when it passes, else why it failed."""
    return run_case_detailed(files, process_id, case, resolve)[0]


def run_case_detailed(
    files: dict[str, str], process_id: str, case: dict[str, Any], resolve: Callable[[str], dict[str, str] | None] | None
) -> tuple[str | None, str]:
    """Run one case: (why it failed or None, a note on test data it never used)."""
    if not isinstance(case, dict):
        return "the test case is not an object", ""
    parsed = parse_version(files, process_id, resolve, validate=False)
    mocks = case.get("mocks") or {}
    helpers = _helpers(mocks if isinstance(mocks, dict) else {})
    engine = SandboxedScriptEngine(helpers_factory=lambda _t: helpers)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
    plan = _Plan(case.get("tasks") or {})
    start_data = case.get("data")  # optional: the data a caller would start the request with
    if isinstance(start_data, dict):
        wf.task_tree.data.update(start_data)
        for t in wf.get_tasks(state=TaskState.READY):
            t.data.update(start_data)
    try:
        for _ in range(MAX_STEPS):
            wf.refresh_timers()
            task = _next_task(wf)
            if task is None and not _deliver_message(wf, plan):
                break
            if task is not None:
                _step(wf, task, plan)
        else:
            return f"no end after {MAX_STEPS} steps", ""
        if not wf.is_completed():
            waiting = [str(t.task_spec.bpmn_id) for t in wf.get_tasks(state=TaskState.WAITING)
                       if t.task_spec.bpmn_id]
            return f"the process did not complete: waiting at {', '.join(waiting) or 'nothing'}", ""
    except CaseFailed as exc:
        return str(exc), ""
    except SpiffWorkflowException as exc:
        where = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
        return f"error at {where or 'the engine'}: {exc}", ""
    unused = plan.unused()
    note = ("test data never used: " + ", ".join(
        f"{k} ({n} entr{'y' if n == 1 else 'ies'})" for k, n in sorted(unused.items()))) if unused else ""
    if not wf.success:
        return "the process ended without success (cancelled)", note
    expected = case.get("expected_output_json")
    if expected is not None:
        got = _plain(wf.data)
        expected = _plain(expected)
        if got != expected:
            if isinstance(expected, dict):
                missing = {k: v for k, v in expected.items() if k not in got or got[k] != v}
                actual = {k: got[k] for k in missing if k in got}
                extra = {k: got[k] for k in got if k not in expected}
                return (f"output differs: expected {json_dumps(missing, ensure_ascii=False, default=str)}, "
                        f"got {json_dumps(actual, ensure_ascii=False, default=str)}; "
                        f"unexpected {json_dumps(extra, ensure_ascii=False, default=str)}"), note
            return f"output differs: expected {json_dumps(expected, default=str)}", note
    return None, note


def find_test_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    yield from sorted(path.rglob("test_*.json"))


def _process_for(folder: Path, bpmn_name: str, text: str) -> str:
    """The model's primary process when this file is its primary file and defines it, else the
    file's executable process (spiff-arena takes the last one of the file)."""
    process_ids = _process_ids_in(text, bpmn_name)
    try:
        meta = json.loads((folder / "process_model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    pid = meta.get("primary_process_id") if isinstance(meta, dict) else None
    if pid in process_ids and meta.get("primary_file_name") == bpmn_name:
        return str(pid)
    if not process_ids:
        raise ValueError(f"{bpmn_name} has no executable process")
    return process_ids[-1]


def run_tests(path: Path, root: Path, progress: Callable[[CaseResult], None] | None = None) -> TestReport:
    """Run every case of every test file below `path`; other models under `root` resolve calls."""
    report = TestReport()
    index = definition_index(root)
    for test_file in find_test_files(path):
        folder = test_file.parent
        bpmn_name = test_file.stem[len("test_"):] + ".bpmn"
        rel = str(test_file)
        try:
            cases = json_loads(test_file.read_text(encoding="utf-8"))
            if not isinstance(cases, dict):
                raise ValueError("a test file holds an object of test cases")
            if not (folder / bpmn_name).is_file():
                # spiff-arena finds test_Foo.json's foo.bpmn on a case-insensitive file system
                # (macOS, Windows), where such tests are written: so do we, on any system.
                same = [p.name for p in folder.glob("*.bpmn") if p.name.lower() == bpmn_name.lower()]
                if len(same) != 1:
                    raise ValueError(f"no {bpmn_name} beside the test file")
                bpmn_name = same[0]
            # The file under test and the folder's decisions; called processes are resolved by id.
            files = {bpmn_name: (folder / bpmn_name).read_text(encoding="utf-8")}
            files.update({p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.dmn"))})
            pid = _process_for(folder, bpmn_name, files[bpmn_name])
        except (ValueError, OSError, ModelInvalid) as exc:
            r = CaseResult(rel, "(file)", False, getattr(exc, "message", None) or str(exc))
            report.results.append(r)
            progress and progress(r)
            continue
        resolve = file_resolver(index, folder)
        for name, case in cases.items():
            try:
                err, note = run_case_detailed(files, pid, case, resolve)
            except ModelInvalid as exc:
                err, note = f"model invalid: {exc.message}", ""
            except Exception as exc:  # as spiff-arena: one broken case fails, the others still run
                err, note = f"the case stopped: {type(exc).__name__}: {exc}", ""
            r = CaseResult(rel, name, err is None, err or note)
            report.results.append(r)
            progress and progress(r)
    return report
