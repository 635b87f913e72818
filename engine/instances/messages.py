"""Messages from outside (the grid utility's reply, a government decision, a fault alarm):
delivered to the instances waiting for them, matched by instance id or by correlation on
their metadata, or starting a new request when a model begins with that message. With an
Idempotency-Key a retried delivery gets the first answer and changes nothing."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.service import PendingEvent
from engine.deploy.models import ProcessModel
from engine.errors import BadRequest, NotFound
from engine.instances import access
from engine.instances.models import FINISHED_STATUSES, InstanceMetadata, MessageReceipt, MessageWait, ProcessInstance
from engine.instances.runner import EngineContext, failure_from, parsed_version, run_engine
from engine.instances.service import _finish_step, load_workflow, start_instance, version_meta
from engine.org.models import Region, User


@dataclass
class Delivery:
    status: int  # 200 delivered, 201 started a request
    delivered_to: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"delivered_to": self.delivered_to, "started": self.started}


def previous_answer(session: Session, key: str | None, name: str) -> MessageReceipt | None:
    if not key:
        return None
    receipt = session.get(MessageReceipt, key)
    if receipt is not None and receipt.message_name != name:
        raise BadRequest(f"Idempotency-Key '{key}' was already used for message '{receipt.message_name}'")
    return receipt


def _waiting_instances(session: Session, name: str, instance_id: int | None, correlation: dict[str, str]) -> list[int]:
    q = select(MessageWait.instance_id).where(MessageWait.message_name == name).distinct()
    if instance_id is not None:
        q = q.where(MessageWait.instance_id == instance_id)
    for key, value in correlation.items():
        q = q.where(MessageWait.instance_id.in_(select(InstanceMetadata.instance_id).where(
            InstanceMetadata.key == key, InstanceMetadata.value == str(value))))
    return sorted(session.execute(q).scalars())


def _deliver(session: Session, ctx: EngineContext, instance: ProcessInstance, name: str,
             payload: dict[str, Any], actor: User) -> None:
    wf, _ = load_workflow(session, ctx, instance, actor)
    waiting = [t for t in wf.get_tasks(state=TaskState.WAITING)
               if isinstance(getattr(t.task_spec, "event_definition", None), MessageEventDefinition)
               and t.task_spec.event_definition.name == name]
    if not waiting:
        raise NotFound(f"request {instance.id} is not waiting for message '{name}'")
    task = waiting[0]
    ed = task.task_spec.event_definition
    if getattr(ed, "message_var", None) is None:
        DeepMerge.merge(task.data, payload)  # no messageVariable: the payload becomes task data
    failure = None
    try:
        wf.send_event(BpmnEvent(ed, payload=payload))
    except SpiffWorkflowException as exc:
        failure = failure_from(exc)
    if failure is None:
        failure = run_engine(wf)
    events = [PendingEvent("message_received", actor.username, {"message": name, "payload": payload},
                           task_guid=str(task.id), bpmn_id=task.task_spec.bpmn_id)]
    _finish_step(session, instance, wf, version_meta(session, instance, wf), events, failure, actor.username,
                 now=ctx.clock())


def models_started_by(session: Session, ctx: EngineContext, name: str) -> list[str]:
    """Models whose newest version starts with a message start event of this name."""
    out = []
    for model in session.execute(select(ProcessModel).where(ProcessModel.latest_version_id.is_not(None))).scalars():
        assert model.latest_version_id is not None
        parsed = parsed_version(session, ctx, model.latest_version_id)
        for ts in parsed.spec.task_specs.values():
            ed = getattr(ts, "event_definition", None)
            if isinstance(ts, StartEvent) and isinstance(ed, MessageEventDefinition) and ed.name == name:
                out.append(model.id)
                break
    return out


def deliver_message(
    session: Session, ctx: EngineContext, *, name: str, payload: dict[str, Any], actor: User,
    instance_id: int | None = None, correlation: dict[str, str] | None = None,
) -> Delivery:
    correlation = correlation or {}
    targets = [
        i for i in _waiting_instances(session, name, instance_id, correlation)
        if access.can_read_instance(session, actor, session.get(ProcessInstance, i))  # type: ignore[arg-type]
    ]
    result = Delivery(200)
    for iid in targets:
        instance = session.get(ProcessInstance, iid)
        if instance is None or instance.status in FINISHED_STATUSES:
            continue
        _deliver(session, ctx, instance, name, payload, actor)
        result.delivered_to.append(iid)
    if result.delivered_to:
        return result
    if instance_id is None:
        for model_id in models_started_by(session, ctx, name):
            region = payload.get("region")
            known = isinstance(region, str) and session.get(Region, region) is not None
            step = start_instance(session, ctx, model_id=model_id, actor=actor, data=payload, message=name,
                                  region=region if known and access.reads_everything(actor) else None)
            result.started.append(step.instance.id)
    if not result.started:
        where = f" for request {instance_id}" if instance_id is not None else (
            f" with {correlation}" if correlation else "")
        raise NotFound(f"no request is waiting for message '{name}'{where}, and no process starts with it")
    result.status = 201
    return result


def remember_answer(session: Session, key: str | None, name: str, actor: User, delivery: Delivery) -> None:
    if key:
        session.add(MessageReceipt(idempotency_key=key, message_name=name, actor=actor.username,
                                   status=delivery.status, response=delivery.to_dict()))
        session.flush()
