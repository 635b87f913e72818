"""The BPMN diagram drawn on the server from the model's diagram interchange."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from reports.diagram import CURRENT_STROKE, DONE_FILL, DONE_STROKE, render_diagram_svg, text_width, wrap_text

ROOT = Path(__file__).resolve().parents[2]
ETO = ROOT / "processes" / "eto" / "eto-change-order" / "eto_change_order.bpmn"
SVG = "{http://www.w3.org/2000/svg}"

DONE = {"start_event", "gw_request_merge", "submit_request", "planner_triage", "gw_triage", "gw_assess_split",
        "warehouse_assessment", "purchasing_assessment", "production_assessment", "gw_assess_join"}
CURRENT = {"compute_impact"}

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s" name="{start}"/>
    <bpmn:userTask id="t" name="审批 approve"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="t_di" bpmnElement="t"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="e_di" bpmnElement="e"><dc:Bounds x="350" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="350" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


@pytest.fixture(scope="module")
def eto_svg() -> etree._Element:
    svg = render_diagram_svg(ETO.read_text(encoding="utf-8"), "eto_change_order", DONE, CURRENT)
    return etree.fromstring(svg.encode())


def _texts(svg: etree._Element) -> str:
    return "".join(t.text or "" for t in svg.iter(f"{SVG}text"))


def test_draws_every_element_of_the_real_model(eto_svg: etree._Element) -> None:
    xml = etree.parse(str(ETO))
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    tasks = xml.findall(".//bpmn:userTask", ns) + xml.findall(".//bpmn:scriptTask", ns) \
        + xml.findall(".//bpmn:businessRuleTask", ns)
    gateways = [g for g in xml.iter() if isinstance(g.tag, str) and g.tag.endswith("Gateway")]
    events = [e for e in xml.iter() if isinstance(e.tag, str) and e.tag.endswith("Event")]
    flows = xml.findall(".//bpmn:sequenceFlow", ns)

    rounded = [r for r in eto_svg.iter(f"{SVG}rect") if r.get("rx") == "10"]
    assert len(rounded) == len(tasks)
    diamonds = [p for p in eto_svg.iter(f"{SVG}polygon") if len(p.get("points", "").split()) == 4]
    assert len(diamonds) == len(gateways)
    circles = [c for c in eto_svg.iter(f"{SVG}circle") if float(c.get("r", "0")) == 18]
    assert len(circles) == len(events)
    thick = [c for c in circles if c.get("stroke-width") == "3.5"]
    assert len(thick) == len([e for e in events if e.tag.endswith("endEvent")])
    arrowheads = [p for p in eto_svg.iter(f"{SVG}polygon") if len(p.get("points", "").split()) == 3]
    assert len(arrowheads) == len(flows)

    text = _texts(eto_svg)
    for task in tasks:
        # names are wrapped inside their boxes: compare without the line breaks
        assert task.get("name").replace(" ", "") in text.replace(" ", "")
    for lane in ("发起人", "计划员", "仓库", "采购", "生产", "销售总监"):
        assert lane in text
    assert "ETO 定制订单需求置换" in text


def test_path_taken_is_green_and_current_task_orange(eto_svg: etree._Element) -> None:
    svg = etree.tostring(eto_svg, encoding="unicode")
    assert svg.count(f'stroke="{CURRENT_STROKE}"') >= 2  # the task and its type marker
    assert f'fill="{DONE_FILL}"' in svg
    green_lines = [p for p in eto_svg.iter(f"{SVG}polyline") if p.get("stroke") == DONE_STROKE]
    # start->merge, merge->submit, submit->triage, triage->gw, gw->split, 3 x split->task,
    # 3 x task->join, join->compute; plus the loop-back gw_triage->merge that inference cannot rule out
    assert len(green_lines) == 13
    assert 'font-family="\'Noto Sans CJK SC\'' in svg


def test_known_transitions_colour_exactly_those_flows() -> None:
    transitions = {("start_event", "gw_request_merge"), ("gw_request_merge", "submit_request"),
                   ("submit_request", "planner_triage"), ("planner_triage", "gw_triage"),
                   ("Start", "start_event")}  # a SpiffWorkflow-internal pair names no flow: ignored
    svg = etree.fromstring(render_diagram_svg(
        ETO.read_text(encoding="utf-8"), "eto_change_order", DONE, CURRENT, transitions=transitions).encode())
    green = [p for p in svg.iter(f"{SVG}polyline") if p.get("stroke") == DONE_STROKE]
    assert len(green) == 4


def test_names_are_escaped_and_entities_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = MINIMAL.replace('<?xml version="1.0" encoding="UTF-8"?>',
                          f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>')
    with pytest.raises(etree.XMLSyntaxError, match="external entity"):  # refused, never read
        render_diagram_svg(xxe.replace("{start}", "&x;"), "p", set(), set())
    svg = render_diagram_svg(xxe.replace("{start}", "plain"), "p", set(), set())  # declared, unused: fine
    assert "TOP-SECRET" not in svg
    svg = render_diagram_svg(MINIMAL.replace("{start}", "a &lt;script&gt; &amp; b"), "p", {"s"}, {"t"})
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    etree.fromstring(svg.encode())  # well-formed


def test_model_without_diagram_interchange_gives_a_placeholder() -> None:
    no_di = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", MINIMAL, flags=re.S)
    svg = render_diagram_svg(no_di.replace("{start}", "s"), "p", set(), set())
    assert "no diagram interchange" in svg
    etree.fromstring(svg.encode())


def test_malformed_xml_raises_a_syntax_error() -> None:
    with pytest.raises(etree.XMLSyntaxError):
        render_diagram_svg("<bpmn:definitions", None, set(), set())


def test_wrap_text_breaks_cjk_anywhere_and_latin_at_spaces() -> None:
    assert wrap_text("提交需求置换申请", 90) == ["提交需求", "置换申请"]  # balanced, no lonely last char
    assert wrap_text("Sales director approval", 90) == ["Sales director", "approval"]
    assert wrap_text("计划员分诊", 90) == ["计划员分诊"]
    for line in wrap_text("Averyveryverylongidentifierwithoutspaces", 60):
        assert text_width(line) <= 60
