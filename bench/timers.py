"""Timer firing at scale: N waiting requests whose timers come due spread over a window, fired
by the real poller (`engine.instances.timers.poll_timers`, the body of the Celery beat task)
in P worker processes fed by a simulated beat: one tick a second onto a shared queue, where
ticks wait while every worker is busy (Celery with prefetch 1 and late acks does the same).

Figures: lateness (the time the step was written minus the due time) at p50/p95/p99/max, and
firing throughput while the pollers are busy. The requests are bulk-inserted from a template
request started through the engine (a "wait for the utility's answer" timer, then a regional
engineering task with an SLA), each with its own due time in its state, its own timer row and a
valid audit chain, so that firing one is exactly what production does.

PostgreSQL is the intended database (BENCH_DATABASE_URL, e.g. .../bench_timers); on SQLite one
poller runs (no SKIP LOCKED) and the figures are only indicative."""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.env import bench_database

MODEL_ID = "bench/grid-follow-up"
PLACEHOLDER = "2099-12-31T23:59:59.123456+00:00"  # the templates' due time (they never fire)
FAR = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
REGIONS = ["EAST", "SOUTH", "NORTH", "WEST"]
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="grid_follow_up" name="电力报装跟进" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_initiator" name="发起人"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>wait_utility</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_engineering" name="工程"><bpmn:flowNodeRef>follow_up</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_utility" name="等待电网答复">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>follow_up_at</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="follow_up" name="跟进电力报装">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="slaDuration" value="P2D" />
        <spiffworkflow:property name="slaCalendar" value="working-days" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_utility" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait_utility" targetRef="follow_up" />
    <bpmn:sequenceFlow id="f3" sourceRef="follow_up" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""
FILES = {"grid_follow_up.bpmn": BPMN, "process_model.json": json.dumps({
    "display_name": "电力报装跟进 / Grid connection follow-up", "primary_file_name": "grid_follow_up.bpmn",
    "primary_process_id": "grid_follow_up"})}


def _request_data(region: str) -> dict[str, Any]:
    return {
        "station_name": f"{region} 物流园超充站", "site_type": "logistics_park", "capacity_kw": 1440,
        "transformer_kva": 2000, "chargers": [{"kind": "DC", "kw": 240, "n": 4}, {"kind": "AC", "kw": 7, "n": 12}],
        "utility": "国网某市供电公司", "application_no": "DL-2026-000123", "follow_up_at": PLACEHOLDER,
    }


def _templates(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    """One real waiting request per region, started through the engine: its row, timer and audit."""
    from engine.audit.models import AuditEvent
    from engine.deploy.service import deploy
    from engine.instances import service
    from engine.instances.models import ProcessInstance, Timer
    from engine.instances.runner import EngineContext
    from engine.org.service import get_user_by_username

    ctx = EngineContext()
    out: dict[str, dict[str, Any]] = {}
    with sessions() as s:
        deploy(s, model_id=MODEL_ID, files=FILES, actor="bench")
        s.commit()
        for region in REGIONS:
            user = get_user_by_username(s, f"{region.lower()}_ops")
            assert user is not None
            step = service.start_instance(s, ctx, model_id=MODEL_ID, actor=user, data=_request_data(region))
            s.commit()
            assert step.instance.status == "waiting", step.instance.status
            iid = step.instance.id
            row = dict(s.execute(select(ProcessInstance.__table__).where(ProcessInstance.id == iid)).mappings().one())
            timer = dict(s.execute(select(Timer.__table__).where(Timer.instance_id == iid)).mappings().one())
            events = [dict(e) for e in s.execute(select(AuditEvent.__table__).where(
                AuditEvent.instance_id == iid).order_by(AuditEvent.seq)).mappings()]
            assert PLACEHOLDER in row["state"]
            out[region] = {"row": row, "timer": timer, "events": events}
    return out


def _rows(templates: dict[str, dict[str, Any]], first_id: int, count: int, t0: dt.datetime, window: float,
          seed: int = 6) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    from engine.audit.service import PendingEvent, build_chain

    rng = random.Random(seed)
    offsets = [window * i / count for i in range(count)]
    rng.shuffle(offsets)  # ids are not in due order, as in life
    instances, timers, audits = [], [], []
    for n in range(count):
        iid = first_id + n
        tpl = templates[REGIONS[n % len(REGIONS)]]
        due = t0 + dt.timedelta(seconds=offsets[n])
        created = due - dt.timedelta(days=3)
        due_text = due.isoformat()
        events, seq, head = build_chain(chain=f"instance:{iid}", instance_id=iid, head_seq=0, head_hash="", events=[
            PendingEvent(e["type"], e["actor"], json.loads(json.dumps(e["data"]).replace(PLACEHOLDER, due_text)),
                         e["task_guid"], e["bpmn_id"]) for e in tpl["events"]])
        row = dict(tpl["row"], id=iid, state=tpl["row"]["state"].replace(PLACEHOLDER, due_text), audit_seq=seq,
                   audit_head=head, created_at=created, updated_at=created)
        instances.append(row)
        timers.append(dict({k: v for k, v in tpl["timer"].items() if k != "id"}, instance_id=iid, due_at=due))
        for ev in events:
            audits.append({"chain": ev.chain, "seq": ev.seq, "instance_id": iid, "at": created, "actor": ev.actor,
                           "type": ev.type, "task_guid": ev.task_guid, "bpmn_id": ev.bpmn_id, "data": ev.data,
                           "prev_hash": ev.prev_hash, "hash": ev.hash})
    return instances, timers, audits


def _copy(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL (psycopg 3), executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    from psycopg.types.json import Jsonb

    cols = list(rows[0])
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row([Jsonb(v) if isinstance(v, dict | list) else v for v in (r[c] for c in cols)])


def bulk_insert(sessions: sessionmaker[Session], templates: dict[str, dict[str, Any]], count: int,
                t0: dt.datetime, window: float, chunk: int = 5000) -> None:
    from engine.audit.models import AuditEvent
    from engine.instances.models import ProcessInstance, Timer

    with sessions() as s:
        first_id = (s.execute(select(func.max(ProcessInstance.id))).scalar() or 0) + 1
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        instances, timers, audits = _rows(templates, first_id + start, n, t0, window, seed=start)
        with sessions() as s, s.begin():
            _copy(s, ProcessInstance.__table__, instances)
            _copy(s, Timer.__table__, timers)
            _copy(s, AuditEvent.__table__, audits)
        print(f"\r  timers: inserted {start + n}/{count}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with sessions() as s, s.begin():
        if s.get_bind().dialect.name == "postgresql":
            for table in ("process_instance", "timer", "audit_event"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    if sessions.kw["bind"].dialect.name == "postgresql":
        with sessions.kw["bind"].connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE process_instance, timer, audit_event"))


def _poller(url: str, ticks: Any, results: Any) -> None:
    """One Celery worker process (concurrency 1, prefetch 1): runs the beat task body for each
    tick it takes off the shared queue, until it takes None."""
    import importlib

    from engine.db import make_engine, make_session_factory
    from engine.instances.runner import EngineContext

    # BENCH_TIMERS_POLLER=module:function measures another poller (an A/B against an old one).
    module, _, name = (os.environ.get("BENCH_TIMERS_POLLER") or "engine.instances.timers:poll_timers").partition(":")
    poll_timers = getattr(importlib.import_module(module), name)
    engine = make_engine(url)
    backends: set[int] = set()  # PostgreSQL server processes of this worker, for their CPU time
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _backend_pid(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                backends.add(cur.fetchone()[0])

    sessions = make_session_factory(engine)
    ctx = EngineContext()
    fired, busy, polls = 0, 0.0, 0
    cpu = time.process_time()
    while ticks.get() is not None:
        t = time.perf_counter()
        n = poll_timers(sessions, ctx)
        polls += 1
        if n:
            fired += n
            busy += time.perf_counter() - t
    cpu = time.process_time() - cpu
    db_cpu = _proc_cpu(backends)  # read while the connections are still open
    engine.dispose()
    results.put({"fired": fired, "busy": busy, "polls": polls, "cpu": cpu, "db_cpu": db_cpu})


def _proc_cpu(pids: set[int]) -> float | None:
    """CPU seconds of local processes (a PostgreSQL on this machine), None when not readable."""
    total = 0.0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return total if pids else None


def _beat(sessions: sessionmaker[Session], bpmn_id: str, ticks: Any, workers: int, until: float) -> None:
    """Celery beat: one tick a second onto the queue (ticks wait there while every worker is
    busy), until every timer has fired or `until`; then one None per worker."""
    from engine.instances.models import Timer

    next_tick = time.time()
    while time.time() < until:
        ticks.put(1)
        next_tick += 1.0
        with sessions() as s:  # any left? (one index probe, not a count of 100,000 rows a second)
            left = s.execute(select(Timer.id).where(Timer.due_at < FAR, Timer.bpmn_id == bpmn_id)
                             .order_by(Timer.due_at).limit(1)).first()
        if left is None:
            break
        time.sleep(max(0.0, next_tick - time.time()))
    for _ in range(workers):
        ticks.put(None)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def run(count: int, window: float | None = None, workers: int = 2, out: Any = sys.stdout,
        stop_after: float | None = None) -> dict[str, float]:
    """`stop_after` seconds after the first timer is due the pollers stop even if timers are
    left (reported as left); by default they run until every timer has fired."""
    from engine.audit.models import AuditEvent
    from engine.instances.models import Timer

    url, sessions = bench_database()
    pg = url.startswith("postgresql")
    workers = workers if pg else 1
    window = window if window is not None else max(10.0, count / 28)  # 100,000 within the hour
    templates = _templates(sessions)
    bpmn_id = templates[REGIONS[0]]["timer"]["bpmn_id"]
    # The first timers come due once everything is in (insert rate seen here: 1,000-1,500/s).
    lead = 10 + count / 400
    t_insert = time.time()
    t0 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead)
    bulk_insert(sessions, templates, count, t0, window)
    insert_s = time.time() - t_insert
    overran = max(0.0, insert_s - lead)
    with sessions() as s:
        pending = s.execute(select(func.count()).select_from(Timer).where(Timer.bpmn_id == bpmn_id, Timer.due_at < FAR)).scalar_one()
    assert pending == count, pending

    ctx = mp.get_context("spawn")
    results, ticks = ctx.Queue(), ctx.Queue()
    until = t0.timestamp() + (stop_after if stop_after is not None else window + max(600.0, count / 20))
    procs = [ctx.Process(target=_poller, args=(url, ticks, results)) for _ in range(workers)]
    t_start = time.time()
    for p in procs:
        p.start()
    _beat(sessions, bpmn_id, ticks, workers, until)
    stats = [results.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.time() - t_start

    with sessions() as s:
        rows = s.execute(select(AuditEvent.at, AuditEvent.data).where(
            AuditEvent.type == "timer_fired", AuditEvent.bpmn_id == bpmn_id)).all()
        left = s.execute(select(func.count()).select_from(Timer).where(Timer.bpmn_id == bpmn_id, Timer.due_at < FAR)).scalar_one()
    late = sorted((at - dt.datetime.fromisoformat(data["due_at"])).total_seconds() for at, data in rows)
    fired = len(late)
    busy = sum(st["busy"] for st in stats) / len(stats)
    throughput = sum(st["fired"] for st in stats) / busy if busy else float("nan")
    db = "postgresql" if pg else "sqlite"
    p50, p95, p99 = (_percentile(late, q) for q in (0.5, 0.95, 0.99))
    print(f"timers ({db}): {count} waiting requests, due over {window:.0f} s ({count / window:.0f}/s), "
          f"{workers} pollers; {fired} fired, {left} left, in {wall:.0f} s", file=out)
    print(f"timers: bulk insert of {count} requests (instance, timer, audit chain) {insert_s:.1f} s"
          + (f" (overran the lead by {overran:.1f} s: early lateness includes it)" if overran else ""), file=out)
    print(f"timers: lateness p50 {p50:.2f} s", file=out)
    print(f"timers: lateness p95 {p95:.2f} s", file=out)
    print(f"timers: lateness p99 {p99:.2f} s", file=out)
    print(f"timers: lateness max {late[-1] if late else float('nan'):.2f} s, mean "
          f"{statistics.fmean(late) if late else float('nan'):.2f} s", file=out)
    print(f"timers: firing throughput while busy {throughput:.0f} timers/s ({workers} pollers)", file=out)
    cpu = sum(st["cpu"] for st in stats) / max(1, fired) * 1000
    db_cpus = [st["db_cpu"] for st in stats]
    db_cpu = sum(db_cpus) / max(1, fired) * 1000 if all(c is not None for c in db_cpus) else None
    if db_cpu is not None:
        cores = os.cpu_count() or 1
        print(f"timers: CPU per fired timer: pollers {cpu:.1f} ms + PostgreSQL {db_cpu:.1f} ms, i.e. about "
              f"{cores * 1000 / (cpu + db_cpu):.0f} timers/s on {cores} idle cores", file=out)
    else:
        print(f"timers: CPU per fired timer: pollers {cpu:.1f} ms", file=out)
    return {"p50": p50, "p95": p95, "p99": p99, "throughput": throughput, "fired": fired, "left": left}


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.timers")
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--window", type=float, default=None, help="seconds over which the timers come due")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--stop-after", type=float, default=None, help="stop polling this many seconds after the "
                    "first timer is due, even with timers left (a busy machine)")
    args = ap.parse_args()
    run(args.count, args.window, args.workers, stop_after=args.stop_after)
