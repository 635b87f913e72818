"""The engine through its services: persistence round trips, projection, locking, long loops."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.deploy.service import deploy
from engine.errors import Conflict
from engine.instances import service
from engine.instances.compaction import KEEP_ANCESTORS
from engine.instances.models import HumanTask, ProcessInstance, TaskCandidate
from engine.instances.runner import parsed_version
from engine.instances.state import dump_state, load_state
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


def _ctx(app: Any) -> Any:
    return app.extensions["engine_ctx"]


def _open(session: Any, instance_id: int) -> list[HumanTask]:
    return list(session.execute(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")).scalars())


def test_state_round_trips_through_persistence(app: Any, deployed: Any, session: Any) -> None:
    user = get_user_by_username(session, "east_ops")
    step = service.start_instance(session, _ctx(app), model_id="demo/simple-approval", actor=user, data={"title": "初始"})
    session.commit()
    inst = session.get(ProcessInstance, step.instance.id)
    parsed = parsed_version(session, _ctx(app), inst.version_id)
    wf = load_state(inst.state, parsed, None)
    # Saving what was loaded gives the same document: nothing is lost or invented by a round trip.
    assert json.loads(dump_state(wf)) == json.loads(inst.state)
    assert "spec" not in json.loads(inst.state)  # specs live once per version, not per instance
    tasks = _open(session, inst.id)
    assert [t.bpmn_id for t in tasks] == ["apply"]
    cands = session.execute(select(TaskCandidate.principal).where(TaskCandidate.task_id == tasks[0].id)).scalars().all()
    assert cands == [f"user:{user.id}"]


def test_lost_race_is_a_conflict_not_an_overwrite(app: Any, deployed: Any) -> None:
    sessions = app.extensions["db_sessions"]
    with sessions() as s:
        user = get_user_by_username(s, "east_ops")
        inst_id = service.start_instance(s, _ctx(app), model_id="demo/simple-approval", actor=user).instance.id
        s.commit()
        task_id = _open(s, inst_id)[0].id
    a, b = sessions(), sessions()
    try:
        ua, ub = get_user_by_username(a, "east_ops"), get_user_by_username(b, "east_ops")
        # Both read the instance before either writes.
        a.get(ProcessInstance, inst_id), b.get(ProcessInstance, inst_id)
        service.complete_task(a, _ctx(app), task_id=task_id, actor=ua, data={"title": "甲方案", "amount": 1})
        a.commit()
        with pytest.raises(Exception) as exc:
            service.complete_task(b, _ctx(app), task_id=task_id, actor=ub, data={"title": "乙方案", "amount": 2})
            b.commit()
        assert isinstance(exc.value, Conflict) or "locked" in str(exc.value).lower()
    finally:
        a.close(), b.close()
    with sessions() as s:
        data = service.load_workflow(s, _ctx(app), s.get(ProcessInstance, inst_id), None)[0]
        assert data.last_task.data["title"] == "甲方案"


def test_running_instances_stay_on_their_version(app: Any, deployed: Any, session: Any) -> None:
    user = get_user_by_username(session, "east_ops")
    old = service.start_instance(session, _ctx(app), model_id="demo/simple-approval", actor=user).instance
    session.commit()
    from engine.deploy.models import ModelVersion
    v1 = session.get(ModelVersion, old.version_id)
    changed = v1.files["simple_approval.bpmn"].replace('name="提交申请"', 'name="提交申请V2"')
    res = deploy(session, model_id="demo/simple-approval", files={"simple_approval.bpmn": changed}, actor="designer")
    session.commit()
    assert res.created and res.version.number == v1.number + 1
    new = service.start_instance(session, _ctx(app), model_id="demo/simple-approval", actor=user).instance
    session.commit()
    assert new.version_id == res.version.id and old.version_id == v1.id
    names = {t.instance_id: t.name for t in session.execute(select(HumanTask)).scalars()}
    assert names[old.id] == "提交申请" and names[new.id] == "提交申请V2"
    # Redeploying identical content makes no new version.
    assert not deploy(session, model_id="demo/simple-approval", files={"simple_approval.bpmn": changed}, actor="d").created


def _deploy_loop(session: Any) -> None:
    deploy(session, model_id="test/loop", actor="t", files={
        "loop.bpmn": LOOP_BPMN,
        "process_model.json": json.dumps({"display_name": "loop", "primary_file_name": "loop.bpmn", "primary_process_id": "loop"}),
    })
    session.commit()


def test_long_send_back_loops_keep_working_and_stay_small(app: Any, deployed: Any, session: Any) -> None:
    """SpiffWorkflow's iterator stops at depth 1000 (~250 loops here): the tree must be compacted."""
    _deploy_loop(session)
    user = get_user_by_username(session, "east_ops")
    rounds = 300
    inst = service.start_instance(session, _ctx(app), model_id="test/loop", actor=user, data={"target": rounds, "rounds": 0}).instance
    session.commit()
    sizes = []
    for i in range(rounds):
        for expected in ("submit", "review"):
            tasks = _open(session, inst.id)
            assert [t.bpmn_id for t in tasks] == [expected], f"round {i}: stalled at {tasks}"
            service.complete_task(session, _ctx(app), task_id=tasks[0].id, actor=user, data={})
            session.commit()
        sizes.append(len(session.get(ProcessInstance, inst.id).state))
    final = session.get(ProcessInstance, inst.id)
    assert final.status == "complete"
    wf = service.load_workflow(session, _ctx(app), final, None)[0]
    assert wf.last_task is None or wf.last_task.data.get("rounds") == rounds
    # Stored state stops growing once compaction kicks in.
    assert max(sizes[-100:]) <= 1.2 * max(sizes[KEEP_ANCESTORS: KEEP_ANCESTORS + 100])
    n_events = session.execute(select(func.count()).select_from(
        select(HumanTask).where(HumanTask.instance_id == inst.id).subquery())).scalar_one()
    assert n_events == 2 * rounds


def test_state_serialization_is_safe_from_several_threads(app: Any, deployed: Any, session: Any) -> None:
    """SpiffWorkflow's serializer keeps a mode flag on a shared registry: threads of one web
    process must not flip it under each other."""
    import threading
    from decimal import Decimal

    user = get_user_by_username(session, "east_ops")
    inst = service.start_instance(session, _ctx(app), model_id="demo/simple-approval", actor=user,
                                  data={"amount": Decimal("1234.56"), "items": [{"fee": Decimal("0.10")}]}).instance
    session.commit()
    wf = load_state(inst.state, parsed_version(session, _ctx(app), inst.version_id), None)
    reference = dump_state(wf)
    outputs: list[str] = []

    def work() -> None:
        for _ in range(40):
            outputs.append(dump_state(wf))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outputs) == 240 and all(o == reference for o in outputs)


PARALLEL_TERMINATE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="race" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>fa</bpmn:outgoing><bpmn:outgoing>fb</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="a" name="甲"><bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>fa2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="b" name="乙"><bpmn:incoming>fb</bpmn:incoming><bpmn:outgoing>fb2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="stop"><bpmn:incoming>fa2</bpmn:incoming><bpmn:terminateEventDefinition/></bpmn:endEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>fb2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="a"/>
    <bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="b"/>
    <bpmn:sequenceFlow id="fa2" sourceRef="a" targetRef="stop"/>
    <bpmn:sequenceFlow id="fb2" sourceRef="b" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_completing_one_branch_closes_the_rows_the_workflow_no_longer_waits_for(app: Any, deployed: Any, session: Any) -> None:
    """A terminate end event on one branch ends the request: the other branch's open task is
    cancelled in the same step (its row was read with the completed task, not after)."""
    deploy(session, model_id="test/race", actor="t", files={
        "race.bpmn": PARALLEL_TERMINATE_BPMN,
        "process_model.json": json.dumps({"display_name": "race", "primary_file_name": "race.bpmn",
                                          "primary_process_id": "race"}),
    })
    session.commit()
    user = get_user_by_username(session, "east_ops")
    inst = service.start_instance(session, _ctx(app), model_id="test/race", actor=user).instance
    session.commit()
    rows = {t.bpmn_id: t for t in _open(session, inst.id)}
    assert set(rows) == {"a", "b"}
    step = service.complete_task(session, _ctx(app), task_id=rows["a"].id, actor=user, data={})
    session.commit()
    assert step.instance.status == "complete" and step.created_tasks == []
    status = dict(session.execute(select(HumanTask.bpmn_id, HumanTask.status).where(HumanTask.instance_id == inst.id)).all())
    assert status == {"a": "completed", "b": "cancelled"}
    # The candidacy index follows (migration 0013's trigger): nobody's inbox still lists "b".
    assert not session.execute(select(TaskCandidate.is_open).where(TaskCandidate.task_id == rows["b"].id)).scalars().first()
