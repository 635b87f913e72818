"""Cost per step of a request sent back and resubmitted many times.

SpiffWorkflow alone keeps every finished task: its iterator stops at depth 1000, so a loop
stalls silently after a few hundred rounds, and each step walks the whole history before
that. We compact the tree after each step; this measures the cost per step at the 10th and
at the last cycle (target ratio <= 2) and shows where plain SpiffWorkflow stalls."""
from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bench.env import bench_database
from engine.deploy.service import deploy
from engine.deploy.specs import parse_version
from engine.instances import service
from engine.instances.models import HumanTask
from engine.instances.runner import EngineContext
from engine.org.service import get_user_by_username

LOOP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="submit" name="提交"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="count" name="计数"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>rounds = rounds + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="review" name="审核"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" default="done"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="back" sourceRef="gw" targetRef="submit"><bpmn:conditionExpression>rounds &lt; target</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="submit"/>
    <bpmn:sequenceFlow id="f2" sourceRef="submit" targetRef="count"/>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="gw"/>
    <bpmn:sequenceFlow id="done" sourceRef="gw" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
FILES = {"loop.bpmn": LOOP_BPMN, "process_model.json": json.dumps(
    {"display_name": "loop", "primary_file_name": "loop.bpmn", "primary_process_id": "loop"})}


def plain_spiff_stall(limit: int) -> int | None:
    """Rounds after which plain SpiffWorkflow no longer sees its READY task (None: never)."""
    parsed = parse_version(FILES, "loop")
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    wf.task_tree.data.update({"rounds": 0, "target": limit})
    wf.do_engine_steps()
    for i in range(limit):
        for _ in range(2):
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                return i
            ready[0].run()
            wf.do_engine_steps()
    return None


def run(cycles: int, out: Any = sys.stdout) -> dict[str, float]:
    url, sessions = bench_database()
    ctx = EngineContext()
    with sessions() as s:
        deploy(s, model_id="bench/loop", files=FILES, actor="bench")
        s.commit()
        user = get_user_by_username(s, "east_ops")
        assert user is not None
        inst_id = service.start_instance(s, ctx, model_id="bench/loop", actor=user,
                                         data={"rounds": 0, "target": cycles}).instance.id
        s.commit()
    per_cycle: list[float] = []
    sizes: list[int] = []
    with sessions() as s:
        user = get_user_by_username(s, "east_ops")
        assert user is not None
        for i in range(cycles):
            t0 = time.perf_counter()
            for _ in range(2):
                task = s.query(HumanTask).filter_by(instance_id=inst_id, status="open").one()
                service.complete_task(s, ctx, task_id=task.id, actor=user, data={})
                s.commit()
            per_cycle.append((time.perf_counter() - t0) / 2)
            if i % 50 == 0 or i == cycles - 1:
                print(f"\r  long loops: cycle {i + 1}/{cycles}", end="", file=sys.stderr, flush=True)
        from engine.instances.models import ProcessInstance
        final = s.get(ProcessInstance, inst_id)
        status, sizes = final.status, [len(final.state)]
    print(file=sys.stderr)
    early = statistics.median(per_cycle[5:15])
    late = statistics.median(per_cycle[-10:])
    stall = plain_spiff_stall(min(cycles, 400))
    db = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"long loops ({db}): {cycles} send-back cycles, status {status}", file=out)
    print(f"long loops: ms per step at cycle 10 {early * 1000:.2f}", file=out)
    print(f"long loops: ms per step at cycle {cycles} {late * 1000:.2f}", file=out)
    print(f"long loops: cost ratio last/10th {late / early:.2f} (target <= 2)", file=out)
    print(f"long loops: stored state after the last cycle {sizes[-1] / 1024:.1f} KB", file=out)
    print(f"long loops: plain SpiffWorkflow stalls after {stall if stall is not None else 'no'} rounds", file=out)
    return {"early_ms": early * 1000, "late_ms": late * 1000, "ratio": late / early}
