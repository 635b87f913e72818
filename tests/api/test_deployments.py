"""Deploying models through the API: versions, and 422s that name the file, line and element."""
from __future__ import annotations

import json
from typing import Any

URL = "/api/v1/process-models/demo:simple-approval/deployments"


def _bpmn(body: str, pid: str = "simple_approval") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="{pid}" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"""


def test_models_list_and_detail(login: Any) -> None:
    c = login("east_ops")
    models = c.get("/api/v1/process-models").get_json()
    ids = {m["id"] for m in models}
    assert {"demo/simple-approval", "eto/eto-change-order"} <= ids
    one = c.get("/api/v1/process-models/demo:simple-approval").get_json()
    assert one["primary_process_id"] == "simple_approval" and "simple_approval.bpmn" in one["files"]
    assert one["latest_version"]["number"] == 1 and len(one["versions"]) == 1
    assert one["group"].startswith("测试流程")


def test_only_designers_and_admins_deploy(login: Any) -> None:
    r = login("east_ops").post(URL, json={"files": {"README.md": "x"}})
    assert r.status_code == 403
    r = login("designer").post(URL, json={"files": {"README.md": "# 说明"}})
    assert r.status_code == 201 and r.get_json()["number"] == 2


def test_invalid_xml_names_file_and_line(login: Any) -> None:
    c = login("designer")
    r = c.post(URL, json={"files": {"simple_approval.bpmn": "<bpmn:definitions>\n<oops"}})
    assert r.status_code == 422
    err = r.get_json()["errors"][0]
    assert err["file"] == "simple_approval.bpmn" and err["line"] in (1, 2)


def test_entities_and_dtds_are_refused(login: Any) -> None:
    c = login("designer")
    evil = ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&xxe;</bpmn:definitions>')
    r = c.post(URL, json={"files": {"simple_approval.bpmn": evil}})
    assert r.status_code == 422
    body = r.get_json()
    assert "DTD" in body["error"]["message"] and body["errors"][0]["line"] == 2
    laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>'
    assert c.post(URL, json={"files": {"simple_approval.bpmn": laughs}}).status_code == 422


def test_bpmn_errors_name_the_element(login: Any) -> None:
    c = login("designer")
    bad_flow = _bpmn('<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
                     '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="nowhere"/>')
    r = c.post(URL, json={"files": {"simple_approval.bpmn": bad_flow}})
    assert r.status_code == 422, r.get_json()
    assert "nowhere" in json.dumps(r.get_json(), ensure_ascii=False)

    bad_script = _bpmn('<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
                       '<bpmn:scriptTask id="broken_script"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
                       '<bpmn:script>x = = 1</bpmn:script></bpmn:scriptTask>'
                       '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
                       '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="broken_script"/>'
                       '<bpmn:sequenceFlow id="f2" sourceRef="broken_script" targetRef="end"/>')
    r = c.post(URL, json={"files": {"simple_approval.bpmn": bad_script}})
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["element_id"] == "broken_script"

    dunder = bad_script.replace("x = = 1", "x = ().__class__")
    r = c.post(URL, json={"files": {"simple_approval.bpmn": dunder}})
    assert r.status_code == 422 and r.get_json()["errors"][0]["element_id"] == "broken_script"


def test_missing_primary_process_and_bad_schema(login: Any) -> None:
    c = login("designer")
    r = c.post(URL, json={"files": {"process_model.json": json.dumps({
        "display_name": "x", "primary_file_name": "simple_approval.bpmn", "primary_process_id": "nope"})}})
    assert r.status_code == 422 and "nope" in r.get_json()["error"]["message"]
    r = c.post(URL, json={"files": {"apply-schema.json": '{"type": "object", "properties": {"a": {"type": "strin"}}}'}})
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["file"] == "apply-schema.json"
    r = c.post(URL, json={"files": {"review-schema.json": "{not json"}})
    assert r.status_code == 422
    # Nothing was deployed by any failed attempt.
    assert c.get("/api/v1/process-models/demo:simple-approval").get_json()["latest_version"]["number"] == 1


def test_new_model_via_api_and_files_kept(login: Any) -> None:
    c = login("designer")
    files = {
        "process_model.json": json.dumps({"display_name": "新流程", "primary_file_name": "p.bpmn", "primary_process_id": "p"}),
        "p.bpmn": _bpmn('<bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>'
                        '<bpmn:userTask id="u" name="确认"><bpmn:incoming>f</bpmn:incoming><bpmn:outgoing>g</bpmn:outgoing></bpmn:userTask>'
                        '<bpmn:endEvent id="e"><bpmn:incoming>g</bpmn:incoming></bpmn:endEvent>'
                        '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="u"/><bpmn:sequenceFlow id="g" sourceRef="u" targetRef="e"/>', "p"),
    }
    r = c.post("/api/v1/process-models/new:one/deployments", json={"files": files})
    assert r.status_code == 201, r.get_json()
    r = c.post("/api/v1/process-models/new:one/deployments", json={"files": {"README.md": "说明"}})
    assert r.status_code == 201
    detail = c.get("/api/v1/process-models/new:one").get_json()
    assert set(detail["files"]) == {"process_model.json", "p.bpmn", "README.md"}
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "new:one"}).get_json()
    assert inst["status"] == "running" and inst["tasks"][0]["name"] == "确认"


def test_empty_primary_file_and_process_default_as_spiff_arena_does(login: Any) -> None:
    """Public spiff-arena models often carry `null` primaries (the modeller fills them in on the
    next save): the only BPMN file and its first executable process. With two BPMN files the
    choice is the author's, so the deployment says what is missing."""
    c = login("designer")
    body = ('<bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:userTask id="u" name="确认"><bpmn:incoming>f</bpmn:incoming><bpmn:outgoing>g</bpmn:outgoing></bpmn:userTask>'
            '<bpmn:endEvent id="e"><bpmn:incoming>g</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="u"/><bpmn:sequenceFlow id="g" sourceRef="u" targetRef="e"/>')
    meta = json.dumps({"display_name": "导入的模型", "primary_file_name": None, "primary_process_id": ""})
    r = c.post("/api/v1/process-models/imported:one/deployments",
               json={"files": {"process_model.json": meta, "main.bpmn": _bpmn(body, "main_proc")}})
    assert r.status_code == 201, r.get_json()
    version = c.get("/api/v1/process-models/imported:one").get_json()["latest_version"]
    assert version["primary_process_id"] == "main_proc"

    r = c.post("/api/v1/process-models/imported:two/deployments", json={"files": {
        "process_model.json": meta, "a.bpmn": _bpmn(body, "a_proc"), "b.bpmn": _bpmn(body, "b_proc")}})
    assert r.status_code == 422
    assert "primary_file_name" in json.dumps(r.get_json())


def test_a_form_that_breaks_only_once_filled_is_a_422_naming_its_file(login: Any) -> None:
    """A templated schema is checked when a task fills it: a pattern RE2 refuses (a lookahead set
    by a script) makes opening and completing the task a 422 naming the form, never a 500."""
    c = login("designer")
    ns = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {ns} id="d" targetNamespace="t">
  <bpmn:process id="tpl" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="rule" name="规则"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f</bpmn:outgoing>
      <bpmn:script>rule = "(?=a)b"</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="u" name="填写"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="u-schema.json"/></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>f</bpmn:incoming><bpmn:outgoing>g</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>g</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="rule"/>
    <bpmn:sequenceFlow id="f" sourceRef="rule" targetRef="u"/><bpmn:sequenceFlow id="g" sourceRef="u" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    schema = '{"type": "object", "properties": {"code": {"type": "string", "pattern": "{{ rule }}"}}}'
    files = {"process_model.json": json.dumps({"display_name": "模板表单", "primary_file_name": "tpl.bpmn",
                                                "primary_process_id": "tpl"}),
             "tpl.bpmn": bpmn, "u-schema.json": schema}
    r = c.post("/api/v1/process-models/tpl:one/deployments", json={"files": files})
    assert r.status_code == 201, r.get_json()
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "tpl:one"})
    assert inst.status_code == 201, inst.get_json()
    task_id = inst.get_json()["tasks"][0]["id"]
    for resp in (ops.get(f"/api/v1/tasks/{task_id}"),
                 ops.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"code": "b"}})):
        assert resp.status_code == 422, resp.get_json()
        assert resp.get_json()["errors"][0]["file"] == "u-schema.json"
    assert ops.get(f"/api/v1/tasks/{task_id}").status_code == 422  # nothing changed: still open, same answer
