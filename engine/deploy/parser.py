"""Our BPMN parser: SpiffWorkflow's (BPMN + DMN + spiffworkflow extensions) that also reads the
Camunda assignment attributes, so models drawn in the Camunda modeler keep their assignees."""
from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser, SpiffTaskParser, UserTaskParser
from SpiffWorkflow.spiff.specs.defaults import ManualTask, ServiceTask, UserTask

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
BPMNDI_DIAGRAM = "{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram"
CAMUNDA_ATTRS = ("assignee", "candidateUsers", "candidateGroups")


def _camunda_extensions(node: Any, extensions: dict[str, Any]) -> dict[str, Any]:
    for attr in CAMUNDA_ATTRS:
        value = node.get(f"{{{CAMUNDA_NS}}}{attr}")
        if value and value.strip():
            extensions[f"camunda:{attr}"] = value.strip()
    return extensions


class AssignableUserTaskParser(UserTaskParser):
    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return _camunda_extensions(self.node if node is None else node, super().parse_extensions(node))


class AssignableManualTaskParser(SpiffTaskParser):
    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return _camunda_extensions(self.node if node is None else node, super().parse_extensions(node))


class ExactServiceTask(ServiceTask):
    """Spiff's service task reads the operator's JSON with float numbers; we keep decimals exact."""

    def _execute(self, task: Any) -> bool:
        from forms import json_loads

        result = task.workflow.script_engine.call_service(
            task, operation_name=self.operation_name, operation_params=self.evaluate_params(task))
        task.data[self.result_variable] = json_loads(result)
        return True


class ApprovalBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, ExactServiceTask),
        full_tag("userTask"): (AssignableUserTaskParser, UserTask),
        full_tag("manualTask"): (AssignableManualTaskParser, ManualTask),
    }


class LayoutTolerantValidator:
    """Checks a BPMN file against the schema, leaving out its diagram (the layout): bpmn-js, the
    modeler spiff-arena uses, writes attributes the schema does not know there (label="[object
    Object]" on a sub-process's plane) and spiff-arena does not validate files at all. The
    layout does not change how a process runs."""

    def __init__(self, inner: BpmnValidator) -> None:
        self.inner = inner

    def validate(self, bpmn: Any, filename: str | None = None) -> None:
        root = bpmn.getroot() if hasattr(bpmn, "getroot") else bpmn
        if root.find(BPMNDI_DIAGRAM) is None:
            self.inner.validate(bpmn, filename)
            return
        copy = deepcopy(root)
        for diagram in copy.findall(BPMNDI_DIAGRAM):
            copy.remove(diagram)
        self.inner.validate(copy, filename)
