"""BPMN unit tests in the spiff-arena format (`test_<bpmn stem>.json` beside the model).

Each case starts the file's process and runs the engine; every user, manual or service task that
becomes ready takes the next entry of its `data` list (keyed `TaskId` or `ProcessId:TaskId`),
merged into the task data as a form submission is (top-level keys replaced); a waiting message
event with data receives it as the message.
A task reached with no data left, an error, or a process that
does not complete fails the case; at the end the task data must equal `expected_output_json`."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.deep_merge import DeepMerge
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
    tree = parse_model_xml(name, text)
    return [p.get("id") for p in tree.iter() if etree.QName(p).localname == "process"
            and p.get("isExecutable", "true") != "false"]


def disk_resolver(root: Path) -> Callable[[str], dict[str, str] | None]:
    """Resolve called processes and decisions from every model on disk (no database needed)."""
    index: dict[str, dict[str, str]] = {}
    for m in discover_models(root):
        for name, text in m.files.items():
            try:
                if name.endswith(".bpmn"):
                    for pid in _process_ids_in(text, name):
                        index.setdefault(pid, m.files)
                elif name.endswith(".dmn"):
                    tree = parse_model_xml(name, text)
                    for d in tree.iter():
                        if etree.QName(d).localname == "decision" and d.get("id"):
                            index.setdefault(f"dmn:{d.get('id')}", m.files)
            except ModelInvalid:
                continue
    return index.get


def _task_keys(task: Any) -> list[str]:
    bpmn_id = task.task_spec.bpmn_id or task.task_spec.name
    return [f"{task.workflow.spec.name}:{bpmn_id}", bpmn_id]


def _deliver_message(wf: BpmnWorkflow, plan: dict[str, list[Any]]) -> bool:
    """A waiting message event (intermediate, receive task or boundary: boundary events take
    precedence over the task they sit on) that has test data gets it as the message's payload."""
    for task in wf.get_tasks(state=TaskState.WAITING):
        ed = getattr(task.task_spec, "event_definition", None)
        if not isinstance(ed, MessageEventDefinition):
            continue
        key = next((k for k in _task_keys(task) if plan.get(k)), None)
        if key is None:
            continue
        payload = plan[key].pop(0)
        if getattr(ed, "message_var", None) is None:
            DeepMerge.merge(task.data, payload)
        wf.send_event(BpmnEvent(ed, payload=payload))
        wf.do_engine_steps()
        return True
    return False


def run_case(
    files: dict[str, str], process_id: str, case: dict[str, Any], resolve: Callable[[str], dict[str, str] | None] | None
) -> str | None:
    """Run one case; None when it passes, else why it failed."""
    parsed = parse_version(files, process_id, resolve, validate=False)
    # Service tasks wait for the test's data instead of calling out: treat them as manual here.
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            if isinstance(ts, ServiceTask):
                ts.manual = True
    engine = SandboxedScriptEngine(helpers_factory=lambda _t: {
        "get_current_user": lambda: dict(TEST_USER), "get_process_initiator_user": lambda: dict(TEST_USER),
        "get_user_properties": lambda: dict(TEST_USER), "get_group_members": lambda name, region=None: [],
        "manager_of": lambda username, levels=1: None, "region_of": lambda username: "HQ",
        "get_instance_region": lambda: "HQ",
    })
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
    plan = {k: list(v.get("data") or []) for k, v in (case.get("tasks") or {}).items()}
    start_data = case.get("data")  # optional: the data a caller would start the request with
    if isinstance(start_data, dict):
        wf.task_tree.data.update(start_data)
        for t in wf.get_tasks(state=TaskState.READY):
            t.data.update(start_data)
    try:
        wf.do_engine_steps()
        for _ in range(MAX_STEPS):
            if wf.is_completed():
                break
            if _deliver_message(wf, plan):
                continue
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                waiting = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.WAITING)]
                return f"the process did not complete: waiting at {', '.join(map(str, waiting)) or 'nothing'}"
            task = ready[0]
            key = next((k for k in _task_keys(task) if k in plan), None)
            if key is None or not plan[key]:
                return f"task {_task_keys(task)[-1]} was reached with no data left for it"
            # As the platform merges a submitted form (and a service task's result variable): each
            # top-level key replaces the value before. A deep merge would keep a list's old items
            # (a re-uploaded file list would still name the first upload) and predict wrong data.
            task.data.update(plan[key].pop(0))
            if isinstance(task.task_spec, ServiceTask):
                task.complete()
            else:
                task.run()
            wf.do_engine_steps()
        else:
            return f"no end after {MAX_STEPS} steps"
    except SpiffWorkflowException as exc:
        where = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
        return f"error at {where or 'the engine'}: {exc}"
    unused = {k: len(v) for k, v in plan.items() if v}
    if unused:
        return "test data left unused (the process never asked for it): " + ", ".join(
            f"{k} ({n} entr{'y' if n == 1 else 'ies'})" for k, n in sorted(unused.items()))
    final = (wf.last_task.data if wf.last_task is not None else wf.data)
    expected = case.get("expected_output_json")
    if expected is not None:
        got = _plain(final)
        expected = _plain(expected)
        if got != expected:
            missing = {k: v for k, v in expected.items() if got.get(k) != v}
            extra = {k: got[k] for k in got if k not in expected}
            return (f"output differs: expected {json_dumps(missing, ensure_ascii=False, default=str)}; "
                    f"unexpected {json_dumps(extra, ensure_ascii=False, default=str)}")
    return None


def find_test_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    yield from sorted(path.rglob("test_*.json"))


def run_tests(path: Path, root: Path, progress: Callable[[CaseResult], None] | None = None) -> TestReport:
    """Run every case of every test file below `path`; other models under `root` resolve calls."""
    report = TestReport()
    resolve = disk_resolver(root)
    for test_file in find_test_files(path):
        folder = test_file.parent
        bpmn_name = test_file.stem[len("test_"):] + ".bpmn"
        files = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()
                 if p.is_file() and p.suffix in (".bpmn", ".dmn", ".json")}
        rel = str(test_file)
        try:
            cases = json_loads(test_file.read_text(encoding="utf-8"))
            if bpmn_name not in files:
                raise ValueError(f"no {bpmn_name} beside the test file")
            process_ids = _process_ids_in(files[bpmn_name], bpmn_name)
            meta = json.loads(files.get("process_model.json", "{}"))
            pid = meta.get("primary_process_id") if meta.get("primary_file_name") == bpmn_name else None
            pid = pid or process_ids[0]
        except (ValueError, ModelInvalid, IndexError) as exc:
            r = CaseResult(rel, "(file)", False, str(exc))
            report.results.append(r)
            progress and progress(r)
            continue
        for name, case in cases.items():
            try:
                err = run_case(files, pid, case, resolve)
            except ModelInvalid as exc:
                err = f"model invalid: {exc.message}"
            r = CaseResult(rel, name, err is None, err or "")
            report.results.append(r)
            progress and progress(r)
    return report
