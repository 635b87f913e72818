"""The BPMN unit test runner (engine/testing.py) treats spiff-arena's test files as spiff-arena's
ProcessModelTestRunner does. Every model here is a small one written for these tests."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.deploy.specs import parse_version
from engine.errors import ModelInvalid
from engine.testing import CaseResult, run_tests

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def bpmn(*processes: str, diagram: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="defs" '
            f'targetNamespace="http://example.org/tests">\n' + "\n".join(processes) + diagram
            + "\n</bpmn:definitions>\n")


def chain(pid: str, *nodes: str) -> str:
    """A process: start -> nodes (each an element with id and no flows) -> end, flows added."""
    ids = ["start"] + [n.split('id="', 1)[1].split('"', 1)[0] for n in nodes] + ["end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
                    for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))
    return (f'<bpmn:process id="{pid}" isExecutable="true"><bpmn:startEvent id="start" />'
            + "".join(nodes) + f'<bpmn:endEvent id="end" />{flows}</bpmn:process>')


def script(task_id: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{task_id}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def model(tmp: Path, name: str, files: dict[str, Any], meta: dict[str, Any] | None = None) -> Path:
    folder = tmp / "group" / name
    folder.mkdir(parents=True)
    (folder / "process_model.json").write_text(json.dumps(meta or {"display_name": name}), encoding="utf-8")
    for fname, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / fname).write_text(text, encoding="utf-8")
    return folder


def run(tmp: Path) -> dict[str, CaseResult]:
    report = run_tests(tmp, tmp)
    return {r.name: r for r in report.results}


def test_a_task_with_test_data_is_completed_with_it_instead_of_running(tmp_path: Path) -> None:
    # spiff-arena merges the entry and completes the task: the script (here one that would
    # fail) does not run, a service is not called. A call activity (like a sub-process) starts
    # its process on the way in; its entry is merged when that process has ended.
    called = chain("callee", script("inside", "x = 1"))
    caller = chain("caller",
                   script("prepare", "a = 1"),
                   script("risky", "b = 1 / 0"),
                   '<bpmn:callActivity id="call_it" calledElement="callee" />',
                   '<bpmn:serviceTask id="fetch"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator '
                   'id="http/GetRequest" resultVariable="r" /></bpmn:extensionElements></bpmn:serviceTask>')
    model(tmp_path, "mocked", {"callee.bpmn": bpmn(called), "caller.bpmn": bpmn(caller), "test_caller.json": {
        "mocked": {"tasks": {"caller:risky": {"data": [{"b": 2}]}, "call_it": {"data": [{"c": 3}]},
                             "fetch": {"data": [{"r": {"ok": True}}]}},
                   "expected_output_json": {"a": 1, "b": 2, "x": 1, "c": 3, "r": {"ok": True}}},
        "script_runs_without_data": {"tasks": {"fetch": {"data": [{}]}}, "expected_output_json": {}},
    }})
    results = run(tmp_path)
    assert results["mocked"].passed, results["mocked"].message
    assert not results["script_runs_without_data"].passed
    assert "risky" in results["script_runs_without_data"].message
    assert "division by zero" in results["script_runs_without_data"].message


def test_manual_and_plain_tasks_need_no_data_user_and_service_tasks_do(tmp_path: Path) -> None:
    proc = chain("p", '<bpmn:manualTask id="read_me" />', '<bpmn:task id="plain" />', script("s", "done = True"))
    user = chain("u", '<bpmn:userTask id="fill_in" />')
    service = chain("sv", '<bpmn:serviceTask id="call_out"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator '
                          'id="echo" resultVariable="r" /></bpmn:extensionElements></bpmn:serviceTask>')
    model(tmp_path, "a", {"p.bpmn": bpmn(proc), "test_p.json": {"no_data": {"expected_output_json": {"done": True}}}})
    model(tmp_path, "b", {"u.bpmn": bpmn(user), "test_u.json": {"user_no_data": {"tasks": {},
                                                                                  "expected_output_json": {}}}})
    model(tmp_path, "c", {"sv.bpmn": bpmn(service), "test_sv.json": {"service_no_data": {
        "expected_output_json": {}}}})
    results = run(tmp_path)
    assert results["no_data"].passed, results["no_data"].message
    assert not results["user_no_data"].passed
    assert "fill_in" in results["user_no_data"].message and "no data left" in results["user_no_data"].message
    assert not results["service_no_data"].passed and "call_out" in results["service_no_data"].message


def test_task_keys_bare_id_first_then_process_id(tmp_path: Path) -> None:
    proc = chain("p", '<bpmn:userTask id="ask" />')
    model(tmp_path, "k", {"p.bpmn": bpmn(proc), "test_p.json": {
        "bare_wins": {"tasks": {"p:ask": {"data": [{"v": "qualified"}]}, "ask": {"data": [{"v": "bare"}]}},
                      "expected_output_json": {"v": "bare"}},
        "qualified": {"tasks": {"p:ask": {"data": [{"v": "qualified"}]}}, "expected_output_json": {"v": "qualified"}},
        "exhausted": {"tasks": {"ask": {"data": []}}, "expected_output_json": {}},
    }})
    results = run(tmp_path)
    assert results["bare_wins"].passed, results["bare_wins"].message
    # The key never matched is reported, but does not fail the case (spiff-arena ignores it).
    assert "p:ask" in results["bare_wins"].message and "never used" in results["bare_wins"].message
    assert results["qualified"].passed and not results["qualified"].message
    assert not results["exhausted"].passed and "no data left" in results["exhausted"].message


def test_embedded_subprocess_tasks_take_the_sub_process_or_the_file_process_key(tmp_path: Path) -> None:
    inner = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="s2" /><bpmn:userTask id="inner_ask" />'
             '<bpmn:scriptTask id="inner_calc"><bpmn:script>z = y * 2</bpmn:script></bpmn:scriptTask>'
             '<bpmn:endEvent id="e2" /><bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="inner_ask" />'
             '<bpmn:sequenceFlow id="g2" sourceRef="inner_ask" targetRef="inner_calc" />'
             '<bpmn:sequenceFlow id="g3" sourceRef="inner_calc" targetRef="e2" /></bpmn:subProcess>')
    model(tmp_path, "sub", {"outer.bpmn": bpmn(chain("outer", inner)), "test_outer.json": {
        "spiff_arena_key": {"tasks": {"sub:inner_ask": {"data": [{"y": 2}]}}, "expected_output_json": {"y": 2, "z": 4}},
        "file_process_key": {"tasks": {"outer:inner_ask": {"data": [{"y": 3}]}, "outer:inner_calc": {"data": [{}]}},
                             "expected_output_json": {"y": 3}},
    }})
    results = run(tmp_path)
    assert results["spiff_arena_key"].passed, results["spiff_arena_key"].message
    assert results["file_process_key"].passed, results["file_process_key"].message


def test_multi_instance_data_goes_to_each_instance(tmp_path: Path) -> None:
    mi = ('<bpmn:userTask id="each"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
          '<bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')
    model(tmp_path, "mi", {"mi.bpmn": bpmn(chain("mi", mi)), "test_mi.json": {
        "two": {"tasks": {"each": {"data": [{"n": 1}, {"n": 2}]}}, "expected_output_json": {"n": 2}},
        "one_short": {"tasks": {"each": {"data": [{"n": 1}]}}, "expected_output_json": {}},
    }})
    results = run(tmp_path)
    assert results["two"].passed and not results["two"].message, results["two"].message
    assert not results["one_short"].passed and "no data left" in results["one_short"].message


def test_mocks_replace_script_functions(tmp_path: Path) -> None:
    code = "url = get_frontend_url()\nwho = get_current_user()['username']\nn = count_things(1, k=2)"
    model(tmp_path, "mocks", {"m.bpmn": bpmn(chain("m", script("s", code))), "test_m.json": {
        "mocked": {"mocks": {"get_frontend_url": "https://example.org", "get_current_user": {"username": "alice"},
                             "count_things": 7},
                   "expected_output_json": {"url": "https://example.org", "who": "alice", "n": 7}},
    }})
    results = run(tmp_path)
    assert results["mocked"].passed, results["mocked"].message


def test_file_process_and_neighbours(tmp_path: Path) -> None:
    # process_model.json naming a process the file no longer has: the file's executable process
    # runs (as in spiff-arena); another file of the folder reusing a process id does not matter;
    # test_Main.json finds main.bpmn as on the case-insensitive systems spiff-arena users have.
    main = bpmn(chain("main_v2", script("s", "ok = 1")))
    model(tmp_path, "n", {"main.bpmn": main, "old_copy.bpmn": main, "test_Main.json": {
        "runs": {"expected_output_json": {"ok": 1}}}},
          meta={"primary_file_name": "main.bpmn", "primary_process_id": "main_v1"})
    results = run(tmp_path)
    assert results["runs"].passed, results["runs"].message


def test_output_is_the_process_data_at_its_end(tmp_path: Path) -> None:
    model(tmp_path, "out", {"o.bpmn": bpmn(chain("o", script("s", "x = 1"), script("t", "del x\ny = 2"))),
                            "test_o.json": {"end": {"expected_output_json": {"y": 2}},
                                            "wrong": {"expected_output_json": {"x": 1, "y": 2}}}})
    results = run(tmp_path)
    assert results["end"].passed, results["end"].message
    assert not results["wrong"].passed and '"x": 1' in results["wrong"].message


def test_deploy_validates_the_process_but_not_the_modelers_layout() -> None:
    # bpmn-js writes label="[object Object]" on a sub-process's plane; the schema does not allow
    # it, spiff-arena does not validate, and the layout does not change how the process runs.
    plane = ('<bpmndi:BPMNDiagram id="d1"><bpmndi:BPMNPlane id="pl" bpmnElement="p" label="[object Object]" />'
             '</bpmndi:BPMNDiagram>')
    parsed = parse_version({"p.bpmn": bpmn(chain("p", script("s", "a = 1")), diagram=plane)}, "p")
    assert parsed.spec.name == "p"
    broken = bpmn(chain("p", '<bpmn:notAnElement id="x" />'), diagram=plane)
    with pytest.raises(ModelInvalid) as info:
        parse_version({"p.bpmn": broken}, "p")
    assert "notAnElement" in info.value.errors[0].message
