"""Hostile model corpus (tests/fixtures/hostile/): every case is deployed through the API over a
valid model and must be refused with a 4xx that names the problem, leaving nothing deployed."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import ApiClient
from tests.forms.bounded import finishes

HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "hostile"
MODEL = "hostile:target"
URL = f"/api/v1/process-models/{MODEL}/deployments"

# case -> fragments the error body must contain (file names, element ids, what is wrong).
# Every folder of the corpus needs an entry here, and every entry a folder.
EXPECTED: dict[str, list[str]] = {
    # XML attacks: refused before any parsing, naming the file and the line.
    "xxe_file_entity": ["hostile.bpmn", "DTD"],
    "xxe_parameter_entity": ["hostile.bpmn", "DTD"],
    "xxe_in_dmn": ["hostile_level.dmn", "DTD"],
    "billion_laughs": ["hostile.bpmn", "DTD"],
    "utf7_hidden_doctype": ["hostile.bpmn", "UTF-8"],
    "utf16_declaration": ["hostile.bpmn", "UTF-16"],
    "xinclude": ["hostile.bpmn", "XInclude"],
    # Malformed XML.
    "malformed_unclosed_tag": ["hostile.bpmn", "invalid XML"],
    "malformed_truncated": ["hostile.bpmn", "invalid XML"],
    "malformed_empty_file": ["hostile.bpmn", "empty"],
    "malformed_not_xml": ["hostile.bpmn", "invalid XML"],
    "malformed_bad_char": ["hostile.bpmn", "invalid XML"],
    "malformed_wrong_root": ["hostile.bpmn", "bpmn:definitions"],
    "malformed_dmn_as_bpmn": ["hostile.bpmn", "bpmn:definitions"],
    "malformed_dmn": ["hostile_level.dmn", "invalid XML"],
    # Unknown elements and namespaces.
    "unknown_bpmn_element": ["hostile.bpmn", "teleportTask"],
    "unknown_namespace_element": ["hostile.bpmn", "urn:evil"],
    "wrong_bpmn_namespace": ["hostile.bpmn", "bpmn:definitions"],
    # Dangling references.
    "missing_call_activity_target": ["calc", "no_such_process"],
    "missing_dmn_decision": ["decide", "no_such_decision"],
    "missing_form_file": ["fill", "missing-schema.json"],
    "missing_ui_schema_file": ["fill", "missing-uischema.json"],
    "missing_flow_target": ["f_decide", "nowhere"],
    "missing_flow_source": ["f_decide", "ghost"],
    "missing_default_flow": ["route", "f_none"],
    "missing_boundary_host": ["late", "no_such_task"],
    "missing_primary_process": ["process_model.json", "not_here"],
    "missing_primary_file": ["process_model.json", "gone.bpmn"],
    # Script errors, named by element.
    "script_task_syntax_error": ["calc", "syntax error"],
    "condition_syntax_error": ["f_high", "syntax error"],
    "prescript_syntax_error": ["fill", "syntax error"],
    "postscript_syntax_error": ["fill", "syntax error"],
    "script_indentation_error": ["calc", "indent"],
    "timer_expression_syntax_error": ["late", "syntax error"],
    "multi_instance_cardinality_syntax_error": ["calc", "syntax error"],
    # Sandbox refusals that can be seen without running the script.
    "script_import_os": ["calc", "module 'os'"],
    "script_dunder_walk": ["calc", "__class__"],
    "condition_dunder": ["f_high", "__class__"],
    "script_exec": ["calc", "Exec calls are not allowed"],
    "script_getattr_dunder_literal": ["calc", "__class__"],
    "script_format_dunder_literal": ["calc", "__class__"],
    "script_constant_string_bomb": ["calc", "limit"],
    "script_constant_pow_bomb": ["calc", "limit"],
    "script_class_definition": ["calc", "class definitions"],
    "script_nested_too_deeply": ["calc", "nested too deeply"],
    "service_parameter_syntax_error": ["calc", "parameter 'value'", "syntax error"],
    "message_payload_syntax_error": ["end_high", "messagePayload", "syntax error"],
    "missing_message_ref": ["end_high", "no_such_message"],
    # DMN.
    "dmn_input_expression_syntax_error": ["hostile_level.dmn", "in_amount", "syntax error"],
    "dmn_output_entry_syntax_error": ["hostile_level.dmn", "rule_high_out", "syntax error"],
    "dmn_input_entry_syntax_error": ["hostile_level.dmn", "rule_high_in", "syntax error"],
    "dmn_dunder_expression": ["hostile_level.dmn", "in_amount", "__class__"],
    "dmn_unknown_hit_policy": ["hostile_level.dmn", "RANDOM_PICK"],
    "dmn_decision_without_table": ["hostile_level.dmn", "hostile_level"],
    "dmn_more_entries_than_inputs": ["hostile_level.dmn", "rule_high", "1 inputs"],
    "dmn_rule_without_id": ["hostile_level.dmn", "has no id"],
    # JSON files and JSON schemas.
    "schema_invalid_type": ["apply-schema.json", "numbr"],
    "schema_required_not_list": ["apply-schema.json", "required"],
    "schema_invalid_json": ["apply-schema.json", "invalid JSON"],
    "schema_remote_ref": ["apply-schema.json", "$ref"],
    "schema_file_ref": ["apply-schema.json", "$ref"],
    "schema_not_object": ["apply-schema.json", "object"],
    "schema_bad_regex": ["apply-schema.json", "(unclosed"],
    # Patterns are matched with RE2 (linear time): what it cannot run is refused, naming the field.
    "schema_backreference_pattern": ["apply-schema.json", "fill", "/properties/code/pattern", "'code'",
                                     "backreferences", "反向引用", "exponential time", "指数级"],
    "schema_lookahead_pattern": ["apply-schema.json", "fill", "/properties/password/pattern", "'password' (口令)",
                                 "lookahead", "先行", "exponential time", "指数级"],
    "uischema_invalid_json": ["apply-uischema.json", "invalid JSON"],
    "process_model_invalid_json": ["process_model.json", "invalid JSON"],
    "process_model_wrong_types": ["process_model.json", "primary_process_id"],
    "process_model_not_object": ["process_model.json", "JSON object"],
    "process_model_bad_metadata_paths": ["process_model.json", "metadata_extraction_paths"],
    "json_deeply_nested": ["apply-schema.json", "nested"],
    "file_name_traversal": ["../escape.json", "plain names"],
}


def _files(folder: Path) -> dict[str, str]:
    # File names are URL-quoted on disk where the name itself is the attack ('../x').
    return {unquote(p.name): p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()}


def _snapshot(app: Flask) -> dict[str, Any]:
    """Everything a deployment writes: versions, process index, model rows, system audit chain."""
    from engine.audit.models import AuditEvent
    from engine.deploy.models import ModelVersion, ProcessDefinition, ProcessModel

    s = app.extensions["db_sessions"]()
    try:
        return {
            "versions": s.execute(select(ModelVersion.id, ModelVersion.content_hash).order_by(ModelVersion.id)).all(),
            "definitions": s.execute(select(ProcessDefinition.process_id, ProcessDefinition.version_id)
                                     .order_by(ProcessDefinition.process_id)).all(),
            "models": s.execute(select(ProcessModel.id, ProcessModel.latest_version_id, ProcessModel.display_name)
                                .order_by(ProcessModel.id)).all(),
            "audit": s.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        }
    finally:
        s.close()


@pytest.fixture
def designer(app: Flask, org: list[Any]) -> ApiClient:
    """The designer, signed in, with the valid base model deployed as version 1 of hostile/target."""
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": "designer", "password": "demo"})
    assert r.status_code == 200, r.get_json()
    c = ApiClient(app.test_client(), r.get_json()["token"], "designer")
    r = c.post(URL, json={"files": _files(HOSTILE / "base")})
    assert r.status_code == 201, r.get_json()
    return c


def test_every_corpus_case_has_an_expectation() -> None:
    folders = {p.name for p in HOSTILE.iterdir() if p.is_dir() and p.name != "base"}
    assert folders == set(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_hostile_model_is_refused_by_name(case: str, app: Flask, designer: ApiClient) -> None:
    before = _snapshot(app)
    r = designer.post(URL, json={"files": _files(HOSTILE / case)})
    body = r.get_json()
    assert 400 <= r.status_code < 500, (r.status_code, body)
    assert body["error"]["code"] == "model_invalid", body
    text = json.dumps(body, ensure_ascii=False)
    for fragment in EXPECTED[case]:
        assert fragment in text, (fragment, body)
    assert _snapshot(app) == before  # nothing half-deployed: no version, index entry or audit event


def test_hostile_model_as_a_new_model_leaves_no_trace(app: Flask, designer: ApiClient) -> None:
    before = _snapshot(app)
    files = {**_files(HOSTILE / "base"), **_files(HOSTILE / "missing_call_activity_target")}
    r = designer.post("/api/v1/process-models/hostile:fresh/deployments", json={"files": files})
    assert r.status_code == 422
    assert _snapshot(app) == before
    assert designer.get("/api/v1/process-models/hostile:fresh").status_code == 404


def test_a_50_mb_model_file_is_refused_before_it_is_parsed(app: Flask, designer: ApiClient) -> None:
    before = _snapshot(app)
    base = _files(HOSTILE / "base")["hostile.bpmn"]
    filler = "<!-- " + "x" * (50 * 1024 * 1024) + " -->"
    huge = base.replace("</bpmn:definitions>", filler + "</bpmn:definitions>")
    started = time.monotonic()
    r = designer.post(URL, json={"files": {"hostile.bpmn": huge}})
    elapsed = time.monotonic() - started
    assert r.status_code == 413, r.get_json()
    assert r.get_json()["error"]["code"] == "too_large"
    assert elapsed < 10, elapsed  # refused on its Content-Length, not after parsing 50 MB
    assert _snapshot(app) == before


@pytest.mark.parametrize("name", ["hostile.bpmn", "apply-schema.json", "README.md"])
def test_a_file_over_the_per_file_limit_is_refused_by_name(name: str, app: Flask, designer: ApiClient) -> None:
    before = _snapshot(app)
    text = _files(HOSTILE / "base").get(name, "# notes\n")
    pad = " " * (6 * 1024 * 1024)
    big = text.replace("</bpmn:definitions>", pad + "</bpmn:definitions>") if name.endswith(".bpmn") else text + pad
    r = designer.post(URL, json={"files": {name: big}})
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["errors"][0]
    assert err["file"] == name and "5 MB" in err["message"]
    assert _snapshot(app) == before


def test_kept_files_cannot_grow_a_model_past_its_total_limit(app: Flask, designer: ApiClient) -> None:
    pad = "x" * (4 * 1024 * 1024)
    for i in range(4):
        r = designer.post(URL, json={"files": {f"notes-{i}.md": pad}})
        assert r.status_code == 201, r.get_json()
    before = _snapshot(app)
    r = designer.post(URL, json={"files": {"notes-4.md": pad}})
    assert r.status_code == 422 and "20 MB" in r.get_json()["error"]["message"]
    assert _snapshot(app) == before


@pytest.mark.parametrize(("body", "fragment"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"files": {"a.md": NaN}}', "NaN"),
    ('{"files": {"a.md": Infinity}}', "Infinity"),
    ('{"files": {"a.md": 1e999999999}}', "out of range"),
    ('{"files": {"a.md": ' + "9" * 5000 + "}}", "digits"),
    ('{"files": {"a.md": "\\ud800"}}', "lone surrogate"),
    (b'{"files": {"a.md": "\xff"}}', "not UTF-8"),
    ('{"files": ', "invalid JSON"),
])
def test_a_malformed_request_body_is_a_400_that_says_why(body: str | bytes, fragment: str, designer: ApiClient) -> None:
    r = designer.client.post(URL, data=body, content_type="application/json",
                             headers={"Authorization": f"Bearer {designer.token}"})
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert fragment in json.dumps(r.get_json()), r.get_json()


CATASTROPHIC_SCHEMA = {
    "title": "Apply", "type": "object", "required": ["amount"],
    "properties": {
        "amount": {"type": "number", "title": "Amount", "minimum": 0},
        "code": {"type": "string", "title": "Code", "pattern": "^(a+)+$"},
        "tags": {"type": "object", "patternProperties": {"^(a|aa)+$": {"type": "string"}},
                 "additionalProperties": False},
    },
}


@pytest.mark.parametrize(("data", "path"), [
    ({"amount": 1, "code": "a" * 40 + "b"}, "/code"),
    ({"amount": 1, "tags": {"a" * 40 + "b": "x"}}, "/tags/" + "a" * 40 + "b"),
], ids=["pattern", "patternProperties"])
def test_a_catastrophic_pattern_deploys_and_an_evil_value_is_a_quick_422(
    data: dict[str, Any], path: str, app: Flask, designer: ApiClient
) -> None:
    # RE2 accepts ^(a+)+$ (no backreference, no lookaround) and matches it in linear time; a
    # backtracking engine would take 2^40 steps on "aaa...ab".
    files = {**_files(HOSTILE / "base"), "apply-schema.json": json.dumps(CATASTROPHIC_SCHEMA)}
    r = designer.post(URL, json={"files": files})
    assert r.status_code == 201, r.get_json()
    r = designer.client.post("/api/v1/auth/login", json={"username": "east_ops", "password": "demo"})
    ops = ApiClient(app.test_client(), r.get_json()["token"], "east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": MODEL}).get_json()
    task = next(t for t in inst["tasks"] if t["status"] == "open")
    r = ops.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"amount": 1, "code": "aaaa"}})
    assert r.status_code == 200, r.get_json()  # a value that matches still goes through
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": MODEL}).get_json()
    task = next(t for t in inst["tasks"] if t["status"] == "open")

    def submit() -> tuple[int, Any]:
        r = ops.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
        return r.status_code, r.get_json()

    # A backtracking regex holds the GIL inside one C call, so a thread could not be timed out:
    # the request runs in a forked child (with its own database connections) that can be killed.
    status, body = finishes(submit, in_child=lambda: app.extensions["db_engine"].dispose(close=False))
    assert status == 422, body
    assert [e["path"] for e in body["errors"]] == [path], body
