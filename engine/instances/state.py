"""Workflow state <-> JSON, without the spec: specs are stored once per deployed version and
attached again on load, so an instance row carries only its task tree and data."""
from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.deploy.specs import ParsedVersion

FORMAT_VERSION = "spiff-3.2/specless-1"


def _registry() -> DefaultRegistry:
    reg = DefaultRegistry()
    # Money stays exact and dates stay dates across save/load.
    reg.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]), typename="Decimal")
    reg.register(dt.date, lambda v: {"value": v.isoformat()}, lambda v: dt.date.fromisoformat(v["value"]), typename="date")
    return BpmnWorkflowSerializer.configure(SPIFF_CONFIG, reg)


REGISTRY = _registry()
_SERIALIZER = BpmnWorkflowSerializer(REGISTRY)
# Our own handle on the workflow converter (registering it again is harmless: same methods).
_WF = BpmnWorkflowConverter(BpmnWorkflow, REGISTRY)
# SpiffWorkflow switches its registry into "encoder mode" with a flag on the shared object; two
# threads serializing at once (a threaded web server) would flip it under each other.
_ENCODER_LOCK = threading.Lock()


def dump_state(wf: BpmnWorkflow) -> str:
    """Serialize the workflow's runtime state (tasks, data, subprocesses, events), not its spec."""
    with _ENCODER_LOCK:
        REGISTRY._encoder_mode = True
        try:
            dct = WorkflowConverter.to_dict(_WF, wf)  # the base converter's fields: no spec
            dct["subprocesses"] = _WF.mapping_to_dict(wf.subprocesses)
            dct["bpmn_events"] = REGISTRY.convert(wf.bpmn_events)
            dct["format"] = FORMAT_VERSION
            return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"), ensure_ascii=False)
        finally:
            REGISTRY._encoder_mode = False


def load_state(state: str, parsed: ParsedVersion, script_engine: Any) -> BpmnWorkflow:
    dct = json.loads(state, cls=_SERIALIZER.json_decoder_cls)
    dct.pop("format", None)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=script_engine, deserializing=True)
    wf.tasks = _WF.mapping_from_dict(dct["tasks"], UUID, workflow=wf)
    wf.task_tree = wf.tasks.get(UUID(dct["root"]))
    _WF.set_default_attributes(wf, dct)
    _WF.subprocesses_from_dict(dct["subprocesses"], wf)
    wf.bpmn_events = REGISTRY.restore(dct.pop("bpmn_events", []))
    return wf
