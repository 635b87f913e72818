"""Inbox at scale (issue #8, figure 3): a user's first inbox page, filtered by region and a
metadata field, over 1,000,000 human_task rows (200,000 open), 10,000 users in 5 regions.

`generate` fills a PostgreSQL schema `scale_<tasks>` of database bench_scale
(BENCH_SCALE_DATABASE_URL) with COPY: users and their groups, 40 % as many instances as tasks
(half open: one open task after 0-2 done ones; half complete with three done tasks), their
task candidates (direct users, a fifth of the reviews offered to the regional group), metadata
rows (station, category) and a realistic `state` (a real serialized instance of the bench
model). Open tasks go to the initiator (fill), one of 50 reviewers of the region (review) or
one of 100 finance approvers (approve; a fifth offered to the finance group), with a skew: the
busiest approvers carry a few thousand open tasks, the busiest reviewers about a thousand.
A finished generation is marked in `bench_scale_info` and reused; an unfinished one is dropped.

`measure` calls engine.instances.inbox.list_tasks directly (p50/p95/p99 over heavy, medium
and light users) and the same page over HTTP through gunicorn.

Run alone: `python -m bench.scale [--tasks N] [--explain] [--index "CREATE INDEX ..."]`:
--explain prints EXPLAIN (ANALYZE, BUFFERS) of the page and count queries for the heaviest
user; --index creates an index, measures again (with plans) and drops it afterwards."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import click

from bench.http_load import MODEL_DIR, MODEL_ID, PASSWORD, libpq_url, percentiles, postgres_reachable
from engine.instances.models import LIVE_STATUSES as LIVE

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_scale"
REGIONS = [("EAST", 0.30), ("SOUTH", 0.25), ("NORTH", 0.20), ("WEST", 0.15), ("HQ", 0.10)]
CATEGORIES = [("maintenance", 0.35), ("expansion", 0.25), ("grid", 0.20), ("software", 0.12), ("other", 0.08)]
N_APPROVERS, N_REVIEWERS_PER_REGION = 100, 50
STEPS = [("fill", "填写申请"), ("review", "区域审核"), ("approve", "财务批准")]
GENERATOR_VERSION = "3"
EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=700)


def base_url() -> str:
    return os.environ.get("BENCH_SCALE_DATABASE_URL", DEFAULT_URL)


def schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


# ---------------------------------------------------------------- generation


@dataclass
class Plan:
    tasks: int
    users: int

    @property
    def instances(self) -> int:
        return self.tasks * 2 // 5  # half open (avg. 2 rows), half complete (3 rows)

    @property
    def schema(self) -> str:
        return f"scale_{self.tasks}"


def _psycopg_conn(url: str) -> Any:
    import psycopg

    return psycopg.connect(libpq_url(url), autocommit=True)


def is_generated(url: str, plan: Plan) -> bool:
    with _psycopg_conn(base_url_of(url)) as conn:
        row = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = "
                           "'bench_scale_info'", (plan.schema,)).fetchone()
        if row is None:
            return False
        info = conn.execute(f"SELECT value FROM {plan.schema}.bench_scale_info WHERE key = 'done'").fetchone()
        return info is not None and info[0] == f"{GENERATOR_VERSION}:{plan.tasks}:{plan.users}"


def _one(conn: Any, sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def _missing_columns(url: str, plan: Plan) -> list[str]:
    """Columns the models have and the generated schema lacks."""
    import engine.models  # noqa: F401  (registers every table)
    from engine.db import Base

    with _psycopg_conn(base_url_of(url)) as conn:
        have = {(t, c) for t, c in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s",
            (plan.schema,)).fetchall()}
    return [f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns
            if (t.name, c.name) not in have]


def base_url_of(url: str) -> str:
    return url.split("?", 1)[0]


def _weighted(rnd: random.Random, table: list[tuple[str, float]]) -> str:
    x = rnd.random()
    for value, w in table:
        x -= w
        if x < 0:
            return value
    return table[-1][0]


def _skewed(rnd: random.Random, n: int) -> int:
    """0..n-1 with a long tail: the first few are much busier (a Pareto-ish pick)."""
    return min(n - 1, int(n * (rnd.random() ** 1.5)))


def _state_template(url: str) -> str:
    """The serialized state of a real bench instance waiting at its review step."""
    from engine.db import make_engine, make_session_factory
    from engine.instances import service
    from engine.instances.models import HumanTask
    from engine.instances.runner import EngineContext
    from engine.org.service import get_user_by_username

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            user = get_user_by_username(s, "east_ops")
            assert user is not None
            step = service.start_instance(s, EngineContext(), model_id=MODEL_ID, actor=user, data={})
            task = s.query(HumanTask).filter_by(instance_id=step.instance.id, status="open").one()
            step = service.complete_task(s, EngineContext(), task_id=task.id, actor=user, data={
                "subject": "充电站扩容改造 1", "amount": 123456.78, "station": "E001", "category": "grid",
                "needed_by": "2026-12-31"})
            state = step.instance.state
            s.rollback()
    finally:
        engine.dispose()
    return state


def generate(url: str, plan: Plan, seed: int = 20261121, progress: bool = True) -> float:
    """Create and fill the schema unless a finished generation is there. Seconds taken (0: reused)."""
    if is_generated(url, plan):
        from engine.migrate import upgrade

        upgrade(url)  # the code may have moved on since the rows were generated
        missing = _missing_columns(url, plan)
        if not missing:
            return 0.0
        print(f"  scale: {plan.schema} lacks {', '.join(missing[:5])} (a migration changed in place); "
              "generating again", file=sys.stderr)
    from sqlalchemy import create_engine, text

    from engine.db import make_engine, make_session_factory
    from engine.deploy.loader import read_model_dir
    from engine.deploy.service import deploy
    from engine.migrate import upgrade
    from engine.org.demo import seed_demo
    from engine.org.service import hash_password, use_fast_password_hashing

    t0 = time.monotonic()
    eng = create_engine(base_url_of(url))
    with eng.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {plan.schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {plan.schema}"))
    eng.dispose()
    upgrade(url)
    use_fast_password_hashing()
    engine = make_engine(url)
    with make_session_factory(engine)() as s, s.begin():
        seed_demo(s, PASSWORD)
        deploy(s, model_id=MODEL_ID, files=read_model_dir(MODEL_DIR.parent, MODEL_DIR).files, actor="bench")
    engine.dispose()
    state = _state_template(url)
    pw_hash = hash_password(PASSWORD)
    rnd = random.Random(seed)
    with _psycopg_conn(url) as conn:
        version_id = _one(conn, "SELECT latest_version_id FROM process_model WHERE id = %s", (MODEL_ID,))
        groups = dict(conn.execute("SELECT name, id FROM app_group").fetchall())
        first_user = int(_one(conn, "SELECT coalesce(max(id), 0) + 1 FROM app_user"))
        users = _users(rnd, plan, first_user)
        _copy(conn, "app_user", ["id", "username", "display_name", "email", "phone", "password_hash", "region",
                                 "department", "manager_id", "locale", "is_active", "created_at"],
              ((u["id"], u["username"], u["display_name"], f"{u['username']}@scale.example.com", "", pw_hash,
                u["region"], u["department"], None, "zh-CN", True, EPOCH) for u in users["all"]),
              len(users["all"]), "users", progress)
        _copy(conn, "user_group", ["user_id", "group_id"],
              ((u["id"], groups[u["group"]]) for u in users["all"]), len(users["all"]), "user groups", progress)
        instances = plan.instances
        bar = _bar(plan.tasks, "instances, tasks, candidates, metadata", progress)
        task_id = 0
        chunk = 10_000
        for lo in range(1, instances + 1, chunk):
            # One COPY per table and chunk, parents first (a connection runs one COPY at a time).
            inst_rows, task_rows, cand_rows, meta_rows = [], [], [], []
            for i in range(lo, min(instances, lo + chunk - 1) + 1):
                rows = _instance(rnd, i, instances, users, version_id, state)
                inst_rows.append(rows["instance"])
                meta_rows += [(i, key, value) for key, value in rows["metadata"]]
                for task, principal, any_region in rows["tasks"]:
                    task_id += 1
                    task_rows.append((task_id, *task))
                    cand_rows.append((task_id, principal, any_region, task[TASK_COLS.index("status") - 1] in LIVE))
            with conn.transaction():
                for table, cols, data in (("process_instance", INSTANCE_COLS, inst_rows),
                                          ("human_task", TASK_COLS, task_rows),
                                          ("task_candidate", ["task_id", "principal", "any_region", "is_open"], cand_rows),
                                          ("instance_metadata", ["instance_id", "key", "value"], meta_rows)):
                    with conn.cursor() as cur, cur.copy(_copy_sql(table, cols)) as cp:
                        for row in data:
                            cp.write_row(row)
            bar.update(len(task_rows))
        bar.render_finish()
        for table in ("app_user", "process_instance", "human_task"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        print(f"  scale: {task_id:,} tasks written; VACUUM ANALYZE", file=sys.stderr)
        conn.execute("VACUUM ANALYZE")
        conn.execute("CREATE TABLE bench_scale_info (key text PRIMARY KEY, value text NOT NULL)")
        conn.execute("INSERT INTO bench_scale_info VALUES ('done', %s)",
                     (f"{GENERATOR_VERSION}:{plan.tasks}:{plan.users}",))
    return time.monotonic() - t0


INSTANCE_COLS = ["id", "model_id", "version_id", "process_id", "title", "status", "initiator_id", "region", "state",
                 "lock_version", "meta", "error", "audit_seq", "audit_head", "created_at", "updated_at",
                 "completed_at"]
TASK_COLS = ["id", "instance_id", "task_guid", "bpmn_id", "name", "lane", "model_id", "region", "status",
             "assignee_id", "due_at", "sla_state", "created_at", "completed_at", "completed_by_id", "escalation_level",
             "next_sla_check_at", "outcome", "kind", "claimed", "approve_data"]


def _copy_sql(table: str, cols: list[str]) -> str:
    return f"COPY {table} ({', '.join(cols)}) FROM STDIN"


def _bar(length: int, label: str, enabled: bool) -> Any:
    return click.progressbar(length=length, label=f"  scale: {label}", file=sys.stderr if enabled else open(os.devnull, "w"),
                             show_pos=True, show_eta=True)


def _copy(conn: Any, table: str, cols: list[str], rows: Iterator[tuple[Any, ...]], total: int, label: str,
          progress: bool) -> None:
    bar = _bar(total, label, progress)
    with conn.cursor() as cur, cur.copy(_copy_sql(table, cols)) as cp:
        for n, row in enumerate(rows, 1):
            cp.write_row(row)
            if n % 5000 == 0:
                bar.update(5000)
    bar.update(total - bar.pos)
    bar.render_finish()


def _users(rnd: random.Random, plan: Plan, first_id: int) -> dict[str, Any]:
    """Approvers (HQ, finance), reviewers (regional managers, 50 per region) and initiators."""
    out: list[dict[str, Any]] = []
    uid = first_id

    def add(username: str, region: str, group: str, department: str) -> dict[str, Any]:
        nonlocal uid
        u = {"id": uid, "username": username, "display_name": username, "region": region, "group": group,
             "department": department}
        uid += 1
        out.append(u)
        return u

    approvers = [add(f"s_approver_{n:02d}", "HQ" if n < 20 else REGIONS[n % 4][0], "finance", "财务中心")
                 for n in range(N_APPROVERS)]
    reviewers = {r: [add(f"s_reviewer_{r.lower()}_{n:02d}", r, "regional_manager", "区域管理部")
                     for n in range(N_REVIEWERS_PER_REGION)] for r, _ in REGIONS if r != "HQ"}
    initiators: dict[str, list[dict[str, Any]]] = {r: [] for r, _ in REGIONS}
    for n in range(plan.users - len(out)):
        region = _weighted(rnd, REGIONS)
        initiators[region].append(add(f"s_user_{n:05d}", region, "operations", "运营支持部"))
    return {"all": out, "approvers": approvers, "reviewers": reviewers, "initiators": initiators}


def _instance(rnd: random.Random, i: int, total: int, users: dict[str, Any], version_id: int, state: str
              ) -> dict[str, Any]:
    region = _weighted(rnd, REGIONS)
    initiator = rnd.choice(users["initiators"][region])
    created = EPOCH + SPAN * (i / total) + dt.timedelta(seconds=rnd.randint(0, 3600))
    # Older requests are mostly finished, recent ones mostly open: half open overall.
    open_ = rnd.random() < (0.2 if i <= total // 2 else 0.8)
    done_steps = rnd.choice((0, 1, 2)) if open_ else 3
    category = _weighted(rnd, CATEGORIES)
    station = f"{region[0]}{rnd.randint(0, 499):03d}"
    review_region = region if region != "HQ" else rnd.choice(["EAST", "SOUTH", "NORTH", "WEST"])
    reviewer = users["reviewers"][review_region][_skewed(rnd, N_REVIEWERS_PER_REGION)]
    approver = users["approvers"][_skewed(rnd, N_APPROVERS)]
    review_by_group = rnd.random() < 0.2
    approve_by_group = rnd.random() < 0.2
    tasks = []
    at = created
    for step, (bpmn_id, name) in enumerate(STEPS):
        if step > done_steps:
            break
        finished = step < done_steps
        done_at = at + dt.timedelta(minutes=rnd.randint(5, 60 * 24 * 3))
        if bpmn_id == "fill":
            principal, any_region, actor = f"user:{initiator['id']}", True, initiator
        elif bpmn_id == "review":
            actor = reviewer
            principal, any_region = ((f"group:regional_manager@{review_region}", False) if review_by_group
                                     else (f"user:{reviewer['id']}", True))
        else:
            actor = approver
            principal, any_region = (("group:finance", True) if approve_by_group
                                     else (f"user:{approver['id']}", True))
        claimed = (not finished) and bpmn_id == "approve" and rnd.random() < 0.05
        due = at + dt.timedelta(days=3) if bpmn_id != "fill" else None
        tasks.append(((i, str(uuid.UUID(int=rnd.getrandbits(128), version=4)), bpmn_id, name, None, MODEL_ID, region,
                       "completed" if finished else "open", actor["id"] if claimed else None, due,
                       ("on_track" if due else None), at, done_at if finished else None,
                       actor["id"] if finished else None, 0, (due - dt.timedelta(hours=14) if due and not finished else None),
                       None, "task", claimed,
                       json.dumps({f"{bpmn_id}_decision": "approve"}) if bpmn_id != "fill" else None),
                      principal, any_region))
        at = done_at
    meta = {"station": station, "category": category}
    status = "running" if open_ else "complete"
    instance = (i, MODEL_ID, version_id, "bench_three_step", "三步审批（基准） / Three-step approval (benchmark)", status,
                initiator["id"], region, state, 1 + 2 * done_steps, json.dumps(meta, ensure_ascii=False), None,
                2 + 2 * done_steps, "0" * 64, created, at, None if open_ else at)
    return {"instance": instance, "tasks": tasks, "metadata": sorted(meta.items())}


# ---------------------------------------------------------------- measurement


@dataclass
class Probe:
    user_id: int
    username: str
    open_tasks: int
    region: str
    category: str


def probes(url: str, heavy: int = 8, medium: int = 8, light: int = 8) -> list[Probe]:
    """Users with direct open tasks: the busiest ones (HQ approvers), busy reviewers and ordinary
    initiators; each with the region and category most common in their open tasks."""
    sql = """
        WITH mine AS (
          SELECT c.principal, h.region, m.value AS category
          FROM human_task h JOIN task_candidate c ON c.task_id = h.id
          JOIN instance_metadata m ON m.instance_id = h.instance_id AND m.key = 'category'
          WHERE h.status = 'open' AND c.principal LIKE 'user:%'),
        per_user AS (SELECT principal, count(*) AS n FROM mine GROUP BY principal),
        top AS (SELECT principal, region, category,
                       row_number() OVER (PARTITION BY principal ORDER BY count(*) DESC) AS r
                FROM mine GROUP BY principal, region, category)
        SELECT p.principal, p.n, t.region, t.category, u.username
        FROM per_user p JOIN top t ON t.principal = p.principal JOIN app_user u ON 'user:' || u.id = p.principal
        WHERE t.r = 1 ORDER BY p.n DESC, p.principal"""
    with _psycopg_conn(url) as conn:
        rows = [Probe(int(r[0][5:]), str(r[4]), int(r[1]), str(r[2]), str(r[3])) for r in conn.execute(sql).fetchall()]
    chosen = rows[:heavy]
    chosen += [p for p in rows[heavy:] if p.username.startswith("s_reviewer_")][:medium]
    ordinary = [p for p in rows if p.username.startswith("s_user_")]
    chosen += random.Random(7).sample(ordinary, min(light, len(ordinary)))
    return chosen


def time_list_tasks(url: str, users: list[Probe], rounds: int, capture: Callable[[str, Any], None] | None = None
                    ) -> tuple[list[float], dict[int, list[float]]]:
    from sqlalchemy import event

    from engine.db import make_engine, make_session_factory
    from engine.instances.inbox import list_tasks
    from engine.org.models import User

    engine = make_engine(url)
    if capture is not None:
        event.listen(engine, "before_cursor_execute", lambda _c, _cur, stmt, params, *_a: capture(stmt, params))
    sessions = make_session_factory(engine)
    times: list[float] = []
    per_user: dict[int, list[float]] = {p.user_id: [] for p in users}
    try:
        for r in range(rounds):
            for p in users:
                with sessions() as s:
                    t0 = time.perf_counter()
                    user = s.get(User, p.user_id)
                    assert user is not None
                    page = list_tasks(s, user, scope="mine", status="open", region=p.region,
                                      metadata={"category": p.category}, page=1, per_page=20)
                    _ = [(t.id, t.name, i.title) for t, i in page.items]
                    elapsed = time.perf_counter() - t0
                if r > 0 or rounds == 1:  # the first round warms caches
                    times.append(elapsed)
                    per_user[p.user_id].append(elapsed)
    finally:
        engine.dispose()
    return times, per_user


def time_http(url: str, users: list[Probe], rounds: int) -> list[float]:
    from bench.http_load import ApiClient, Server, login

    times: list[float] = []
    with Server(url, 2) as server:
        tokens = {p.user_id: login(server.port, p.username) for p in users}
        client = ApiClient(server.port)
        for r in range(rounds):
            for p in users:
                t0 = time.perf_counter()
                status, body = client.call("GET", f"/api/v1/tasks?scope=mine&region={p.region}"
                                                  f"&metadata=category:{p.category}&per_page=20", tokens[p.user_id])
                elapsed = time.perf_counter() - t0
                if status != 200:
                    raise RuntimeError(f"inbox HTTP {status}: {str(body)[:200]}")
                if r > 0:
                    times.append(elapsed)
    return times


def explain(url: str, user: Probe) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements list_tasks runs for one user."""
    captured: list[tuple[str, Any]] = []
    time_list_tasks(url, [user], 1, capture=lambda stmt, params: captured.append((stmt, params)))
    out: list[str] = []
    with _psycopg_conn(url) as conn:
        for stmt, params in captured:
            if "human_task" not in stmt or not stmt.lstrip().upper().startswith("SELECT"):
                continue
            out.append("-- " + " ".join(stmt.split())[:3000])
            out.append(f"-- params: {params}")
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params).fetchall()
            out += [r[0] for r in plan]
            out.append("")
    return out


def _line(times: list[float]) -> str:
    p50, p95, p99, _n = percentiles(times)
    return f"{p50:.1f}/{p95:.1f}/{p99:.1f} ms"


def measure(url: str, plan: Plan, out: Any, *, rounds: int, http: bool, label: str = "", per_kind: int = 8
            ) -> dict[str, Any]:
    users = probes(url, per_kind, per_kind, per_kind)
    heaviest = users[0]
    times, per_user = time_list_tasks(url, users, rounds)
    heavy_ids = {p.user_id for p in users[:per_kind]}
    heavy = [t for uid, ts in per_user.items() if uid in heavy_ids for t in ts]
    with _psycopg_conn(url) as conn:
        n_open = _one(conn, "SELECT count(*) FROM human_task WHERE status = 'open'")
        n_all = _one(conn, "SELECT count(*) FROM human_task")
    print(f"inbox at scale{label} ({n_all:,} tasks, {n_open:,} open, {plan.users:,} users): list_tasks first page, "
          f"region + metadata filter, p50/p95/p99 {_line(times)} ({len(users)} users; the {per_kind} busiest, "
          f"{heaviest.open_tasks:,} open tasks at most: p95 {percentiles(heavy)[1]:.1f} ms; target p95 <= 25)",
          file=out)
    result: dict[str, Any] = {"p95": percentiles(times)[1], "heavy_p95": percentiles(heavy)[1]}
    if http:
        ht = time_http(url, users, max(2, rounds // 2))
        print(f"inbox at scale{label} over HTTP (GET /api/v1/tasks?scope=mine&region=..&metadata=category:.., "
              f"one client, 2 gunicorn workers): p50/p95/p99 {_line(ht)}", file=out)
        result["http_p95"] = percentiles(ht)[1]
    return result


def run(quick: bool = False, out: Any = sys.stdout, *, tasks: int | None = None, show_plans: bool = False,
        index: str | None = None) -> dict[str, Any]:
    url0 = base_url()
    if not postgres_reachable(url0):
        print(f"inbox at scale: skipped (no PostgreSQL at {libpq_url(url0)})", file=out)
        return {}
    plan = Plan(tasks or (100_000 if quick else 1_000_000), 10_000)
    url = schema_url(url0, plan.schema)
    took = generate(url, plan)
    print(f"  scale: {plan.schema} " + (f"generated in {took:.0f} s" if took else "reused"), file=sys.stderr)
    result = measure(url, plan, out, rounds=3 if quick else 8, http=True, per_kind=4 if quick else 8)
    if show_plans or index:
        for line in explain(url, probes(url, heavy=1, medium=0, light=0)[0]):
            print(line, file=out)
    if index:
        with _psycopg_conn(url) as conn:
            conn.execute(index)
            conn.execute("ANALYZE")
        try:
            print(f"-- with: {index}", file=out)
            result["with_index"] = measure(url, plan, out, rounds=4 if quick else 8, http=False, label=" with index")
            for line in explain(url, probes(url, heavy=1, medium=0, light=0)[0]):
                print(line, file=out)
        finally:
            name = index.split(" ON ")[0].split()[-1]
            with _psycopg_conn(url) as conn:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 tasks")
    ap.add_argument("--tasks", type=int, help="human_task rows (default 1,000,000)")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the heaviest user's page")
    ap.add_argument("--index", help="a CREATE INDEX statement to try (dropped afterwards)")
    args = ap.parse_args()
    run(args.quick, tasks=args.tasks, show_plans=args.explain, index=args.index)


if __name__ == "__main__":
    main()
