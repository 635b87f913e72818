"""End to end over HTTP (issue #8, figures 1, 2 and 5): complete approval instances per second
through gunicorn with auth, form validation and audit; task-complete and inbox latency at half
that rate (open-loop arrivals); bytes stored per completed instance; and the same flow on raw
SpiffWorkflow in the same run (`throughput ratio` = HTTP / raw in memory).

The flow (bench/models/three-step): POST /process-instances (initiator), then POST
/tasks/<id>/complete three times: the initiator fills a small form, a fixed reviewer
(east_manager) and a fixed approver (cfo) each submit a decision form. Every call carries a
bearer token. The next task id is read from the previous response, so a throughput flow is four
requests. PostgreSQL only: BENCH_HTTP_DATABASE_URL (default: database bench_http on
127.0.0.1:5432), which is emptied first.

Besides instances/s it reports CPU per instance (gunicorn workers, their PostgreSQL backends,
the load generator) read from /proc, and how busy the machine was with other work: figures
measured next to other jobs are depressed, CPU per instance much less so.

Run alone: `python -m bench.http_load [--quick] [--workers 2,4] [--clients 8] [--profile]`;
`--profile` samples the gunicorn workers with py-spy during the throughput window and prints
where their CPU goes."""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = Path(__file__).resolve().parent / "models" / "three-step"
MODEL_ID = "bench/three-step"
MODEL_PATH = MODEL_ID.replace("/", ":")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_http"
PASSWORD = "bench"
INITIATORS = ["east_ops", "south_ops", "north_ops", "west_ops"]
REVIEWER, APPROVER = "east_manager", "cfo"
CATEGORIES = ["maintenance", "expansion", "grid", "software", "other"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def database_url() -> str:
    return os.environ.get("BENCH_HTTP_DATABASE_URL", DEFAULT_URL)


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def postgres_reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


# ---------------------------------------------------------------- database and server


def prepare_database(url: str) -> None:
    """Empty the database, migrate it, seed the demo organisation (password `bench`, cheap
    hashing) and deploy the bench model: what `init-db`, `seed-demo` and `processes deploy` do."""
    from sqlalchemy import create_engine, text

    from engine.db import make_engine, make_session_factory
    from engine.deploy.loader import read_model_dir
    from engine.deploy.service import deploy
    from engine.migrate import upgrade
    from engine.org.demo import seed_demo
    from engine.org.service import use_fast_password_hashing

    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()
    upgrade(url)
    use_fast_password_hashing()
    engine = make_engine(url)
    with make_session_factory(engine)() as s, s.begin():
        seed_demo(s, PASSWORD)
        deploy(s, model_id=MODEL_ID, files=read_model_dir(MODEL_DIR.parent, MODEL_DIR).files, actor="bench")
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`gunicorn -w N wsgi:app` on a free loopback port, with its own instance dir and an
    in-memory broker (nothing external but PostgreSQL)."""

    def __init__(self, url: str, workers: int, worker_class: str = "sync", threads: int = 1) -> None:
        self.url, self.workers, self.worker_class, self.threads = url, workers, worker_class, threads
        self.port = _free_port()
        self.instance_dir = Path(tempfile.mkdtemp(prefix="bench-http-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = dict(os.environ, DATABASE_URL=self.url, INSTANCE_DIR=str(self.instance_dir),
                   CELERY_BROKER_URL="memory://", SECRET_KEY="bench-http-secret-key-" + "x" * 24,
                   PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-k", self.worker_class,
               "--threads", str(self.threads), "-b", f"127.0.0.1:{self.port}", "--backlog", "2048",
               "--timeout", "120", "--log-level", "warning",
               "--error-logfile", str(self.instance_dir / "gunicorn.log"), "wsgi:app"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(self.instance_dir / 'gunicorn.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.worker_pids()) >= self.workers:
                    conn.close()
                    return self
                conn.close()
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 90 s")

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.instance_dir, ignore_errors=True)


# ---------------------------------------------------------------- CPU accounting from /proc


def children_of(ppid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == ppid:
                    out.append(int(entry))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(parts)
    return (total - parts[3] - parts[4]) / CLK_TCK, total / CLK_TCK


def pg_backend_pids(url: str) -> list[int]:
    import psycopg

    dbname = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            (dbname,)).fetchall()
    return [int(r[0]) for r in rows]


@dataclass
class CpuSample:
    at: float
    machine_busy: float
    machine_total: float
    procs: dict[str, dict[int, float]]


def sample_cpu(groups: dict[str, list[int]]) -> CpuSample:
    busy, total = machine_cpu()
    return CpuSample(time.monotonic(), busy, total, {g: {p: cpu_seconds(p) for p in pids} for g, pids in groups.items()})


def cpu_delta(a: CpuSample, b: CpuSample) -> dict[str, float]:
    """CPU seconds per group between two samples (processes born in between count whole)."""
    out = {g: sum(v - a.procs.get(g, {}).get(p, 0.0) for p, v in procs.items()) for g, procs in b.procs.items()}
    out["machine_busy"] = b.machine_busy - a.machine_busy
    out["machine_total"] = b.machine_total - a.machine_total
    return out


# ---------------------------------------------------------------- HTTP client


class ApiClient:
    """One connection, kept alive when the server allows it (gunicorn's sync workers close
    after each response; http.client then reconnects)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            self.conn.request(method, path, payload, headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        if resp.will_close:
            self.conn.close()
            self.conn = None
        return resp.status, (json.loads(raw) if raw else None)


def login(port: int, username: str) -> str:
    status, body = ApiClient(port).call("POST", "/api/v1/auth/login", None, {"username": username, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"login {username}: HTTP {status} {body}")
    return str(body["token"])


def fill_data(n: int) -> dict[str, Any]:
    return {"subject": f"充电站扩容改造 {n}", "amount": round(1000 + (n * 7919) % 900_000 + 0.37, 2),
            "station": f"{'ESNW'[n % 4]}{n % 1000:03d}", "category": CATEGORIES[n % len(CATEGORIES)],
            "needed_by": "2026-12-31"}


def _open_task(body: Any) -> int | None:
    for t in (body or {}).get("tasks") or []:
        if t.get("status") == "open":
            return int(t["id"])
    return None


class FlowError(Exception):
    pass


def _checked(client: ApiClient, lat: dict[str, list[float]] | None, kind: str, method: str, path: str,
             token: str, body: Any = None, t0: float | None = None) -> Any:
    start = time.perf_counter() if t0 is None else t0
    status, out = client.call(method, path, token, body)
    if lat is not None:
        lat.setdefault(kind, []).append(time.perf_counter() - start)
    if status not in (200, 201):
        raise FlowError(f"{kind} HTTP {status}: {str(out)[:200]}")
    return out


def run_flow(client: ApiClient, tokens: dict[str, str], initiator: str, n: int, *, steps: int = 3,
             lat: dict[str, list[float]] | None = None, inbox: bool = False, t0: float | None = None) -> bool:
    """Start an instance and complete `steps` of its three tasks. With `inbox`, the reviewer
    opens their inbox (first page) before reviewing. True when the instance completed."""
    body = _checked(client, lat, "start", "POST", "/api/v1/process-instances", tokens[initiator],
                    {"process_model_id": MODEL_PATH}, t0=t0)
    actors = [(initiator, fill_data(n)), (REVIEWER, {"review_decision": "approve", "review_comment": "同意"}),
              (APPROVER, {"approve_decision": "approve"})]
    for i, (who, data) in enumerate(actors[:steps]):
        task_id = _open_task(body)
        if task_id is None:
            raise FlowError(f"no open task after step {i}")
        if inbox and who == REVIEWER:
            _checked(client, lat, "inbox", "GET", "/api/v1/tasks?scope=mine&per_page=20", tokens[who])
        body = _checked(client, lat, "complete", "POST", f"/api/v1/tasks/{task_id}/complete", tokens[who], {"data": data})
    return body.get("status") == "complete"


# ---------------------------------------------------------------- closed loop: throughput


def _closed_loop(idx: int, port: int, tokens: dict[str, str], start_at: float, stop_at: float, steps: int,
                 count: Any, limit: int, results: Any) -> None:
    client = ApiClient(port)
    initiator = INITIATORS[idx % len(INITIATORS)]
    done: list[float] = []
    errors: list[str] = []
    n = idx * 1_000_000
    while time.time() < start_at:
        time.sleep(0.005)
    while time.time() < stop_at:
        if limit:
            with count.get_lock():
                if count.value >= limit:
                    break
                count.value += 1
        n += 1
        try:
            if run_flow(client, tokens, initiator, n, steps=steps) or steps < 3:
                done.append(time.time())
        except (FlowError, OSError, http.client.HTTPException) as exc:
            errors.append(str(exc))
            time.sleep(0.05)
    results.put((idx, done, errors[:5], len(errors)))


@dataclass
class Throughput:
    rate: float
    instances: int
    errors: int
    workers: int
    clients: int
    cpu: dict[str, float] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def cpu_ms(self, group: str) -> float:
        return 1000 * self.cpu.get(group, 0.0) / max(self.instances, 1)


def closed_loop(server: Server, tokens: dict[str, str], clients: int, *, warmup: float, duration: float,
                steps: int = 3, limit: int = 0, profile: Path | None = None) -> Throughput:
    """`clients` processes each run flows back to back; instances completed inside the window
    (after the warm-up) count. With `limit`, stop after that many flows (backlog building)."""
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    count = ctx.Value("i", 0)
    start_at = time.time() + 0.5
    window_start, stop_at = start_at + warmup, start_at + warmup + duration
    procs = [ctx.Process(target=_closed_loop, args=(i, server.port, tokens, start_at, stop_at, steps, count, limit,
                                                    results), daemon=True) for i in range(clients)]
    for p in procs:
        p.start()
    groups = {"client": [p.pid for p in procs if p.pid]}
    spies: list[subprocess.Popen[bytes]] = []
    if limit:
        a = b = sample_cpu({})
    else:
        time.sleep(max(0.0, window_start - time.time()))
        groups.update(web=server.worker_pids(), postgres=pg_backend_pids(server.url))
        if profile is not None:
            spies = start_py_spy(server.worker_pids(), duration, profile)
        a = sample_cpu(groups)
        time.sleep(max(0.0, stop_at - time.time()))
        groups["postgres"] = sorted(set(groups["postgres"]) | set(pg_backend_pids(server.url)))
        b = sample_cpu(groups)
    collected = [results.get() for _ in procs]
    for p in procs:
        p.join(timeout=30)
    for spy in spies:
        spy.wait(timeout=60)
    if limit:
        total = sum(len(d) for _, d, _, _ in collected)
        return Throughput(0.0, total, sum(e for *_, e in collected), len(server.worker_pids()), clients)
    finished = sorted(t for _, d, _, _ in collected for t in d if window_start <= t < stop_at)
    errors = sum(e for *_, e in collected)
    samples = [s for _, _, es, _ in collected for s in es]
    return Throughput(len(finished) / duration, len(finished), errors, len(server.worker_pids()), clients,
                      cpu_delta(a, b), samples)


# ---------------------------------------------------------------- open loop: latency


def _open_loop(idx: int, port: int, tokens: dict[str, str], rate: float, start_at: float, duration: float,
               threads: int, seed: int, results: Any) -> None:
    rnd = random.Random(seed)
    local = threading.local()
    lat: dict[str, list[float]] = {}
    lock = threading.Lock()
    errors: list[str] = []
    late: list[float] = []

    def flow(n: int, scheduled: float) -> None:
        if not hasattr(local, "client"):
            local.client = ApiClient(port)
        mine: dict[str, list[float]] = {}
        # Latency of the first request counts from its scheduled arrival (no coordinated omission).
        t0 = time.perf_counter() - max(0.0, time.time() - scheduled)
        late.append(time.time() - scheduled)
        try:
            run_flow(local.client, tokens, INITIATORS[n % len(INITIATORS)], n, lat=mine, inbox=True, t0=t0)
        except (FlowError, OSError, http.client.HTTPException) as exc:
            errors.append(str(exc))
        with lock:
            for k, v in mine.items():
                lat.setdefault(k, []).extend(v)

    arrivals = []
    t = start_at
    while True:
        t += rnd.expovariate(rate)
        if t >= start_at + duration:
            break
        arrivals.append(t)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for i, at in enumerate(arrivals):
            delay = at - time.time()
            if delay > 0:
                time.sleep(delay)
            pool.submit(flow, idx * 1_000_000 + 500_000 + i, at)
    results.put((lat, errors[:5], len(errors), len(arrivals), sorted(late)))


@dataclass
class Latency:
    rate: float
    flows: int
    errors: int
    ms: dict[str, tuple[float, float, float, int]]
    late_p99_ms: float
    error_samples: list[str]


def percentiles(values: list[float]) -> tuple[float, float, float, int]:
    if not values:
        return (math.nan, math.nan, math.nan, 0)
    v = sorted(values)

    def pick(q: float) -> float:
        return 1000 * v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]

    return (pick(0.50), pick(0.95), pick(0.99), len(v))


def open_loop(server: Server, tokens: dict[str, str], rate: float, duration: float, processes: int = 4,
              threads: int = 16) -> Latency:
    """Poisson arrivals of whole flows at `rate` instances/s for `duration` seconds, spread over
    `processes` client processes with `threads` connections each."""
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    start_at = time.time() + 0.5
    procs = [ctx.Process(target=_open_loop, args=(i, server.port, tokens, rate / processes, start_at, duration,
                                                  threads, 8000 + i, results), daemon=True) for i in range(processes)]
    for p in procs:
        p.start()
    collected = [results.get() for _ in procs]
    for p in procs:
        p.join(timeout=60)
    lat: dict[str, list[float]] = {}
    for part, *_ in collected:
        for k, v in part.items():
            lat.setdefault(k, []).extend(v)
    late = sorted(x for *_, lt in collected for x in lt)
    return Latency(rate, sum(c[3] for c in collected), sum(c[2] for c in collected),
                   {k: percentiles(v) for k, v in lat.items()},
                   1000 * late[min(len(late) - 1, int(0.99 * len(late)))] if late else 0.0,
                   [s for c in collected for s in c[1]])


# ---------------------------------------------------------------- raw SpiffWorkflow


def raw_spiff(seconds: float, round_trips: bool) -> float:
    """The same flow on plain SpiffWorkflow in this process: parse once, then per instance create
    the workflow, run engine steps and complete the three user tasks with the same data. With
    `round_trips`, the workflow is saved to JSON and loaded again around every step (what a
    persistent engine must do at least). Instances per second on one core."""
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_str((MODEL_DIR / "three_step.bpmn").read_bytes())
    spec = parser.get_spec("bench_three_step")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    steps = [fill_data(1), {"review_decision": "approve", "review_comment": "同意"}, {"approve_decision": "approve"}]
    n = 0
    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < deadline:
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        saved = serializer.serialize_json(wf) if round_trips else ""
        for data in steps:
            if round_trips:
                wf = serializer.deserialize_json(saved)
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(data)
            task.run()
            wf.do_engine_steps()
            if round_trips:
                saved = serializer.serialize_json(wf)
        if not wf.is_completed():
            raise RuntimeError("raw SpiffWorkflow flow did not complete")
        n += 1
    return n / (time.perf_counter() - t0)


# ---------------------------------------------------------------- storage


def relation_sizes(url: str) -> dict[str, int]:
    """pg_total_relation_size of every table (heap + TOAST + indexes)."""
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return {str(t): int(n) for t, n in conn.execute(
            "SELECT tablename, pg_total_relation_size(quote_ident(tablename)) FROM pg_tables "
            "WHERE schemaname = current_schema()").fetchall()}


def storage(url: str, empty: dict[str, int] | None = None) -> dict[str, float]:
    """Bytes per completed instance of the bench model: the rows it owns in every table with an
    `instance_id` (audit events, task rows, metadata, notifications...) plus task candidates and
    the instance row, as pg_column_size; and the same share of each table's total size
    (heap + TOAST + indexes, after VACUUM FULL) minus its size when empty (`empty`: the fixed
    pages every relation has, which would weigh on a small run)."""
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        n = conn.execute("SELECT count(*) FROM process_instance WHERE model_id = %s AND status = 'complete'",
                         (MODEL_ID,)).fetchone()
        count = int(n[0]) if n else 0
        if not count:
            return {}
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND column_name = 'instance_id' ORDER BY table_name").fetchall()]
        done = f"(SELECT id FROM process_instance WHERE model_id = '{MODEL_ID}' AND status = 'complete')"
        owned: dict[str, tuple[str, str]] = {
            "process_instance": (f"SELECT sum(pg_column_size(t.*)) FROM process_instance t WHERE id IN {done}",
                                 "SELECT sum(pg_column_size(t.*)) FROM process_instance t"),
            "task_candidate": (f"SELECT sum(pg_column_size(c.*)) FROM task_candidate c JOIN human_task h "
                               f"ON h.id = c.task_id WHERE h.instance_id IN {done}",
                               "SELECT sum(pg_column_size(c.*)) FROM task_candidate c"),
        }
        for t in tables:
            owned[t] = (f"SELECT sum(pg_column_size(t.*)) FROM {t} t WHERE instance_id IN {done}",
                        f"SELECT sum(pg_column_size(t.*)) FROM {t} t")
        conn.execute("VACUUM FULL ANALYZE")
        rows = total = audit = 0.0
        for t, (mine_sql, all_sql) in owned.items():
            mine = float((conn.execute(mine_sql).fetchone() or [0])[0] or 0)
            if not mine:
                continue
            everything = float((conn.execute(all_sql).fetchone() or [0])[0] or 0)
            size = float((conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone() or [0])[0] or 0)
            size -= (empty or {}).get(t, 0)
            rows += mine
            total += size * mine / everything
            if t == "audit_event":
                audit = mine
        state = conn.execute(f"SELECT avg(pg_column_size(state)), avg(length(state)) FROM process_instance "
                             f"WHERE id IN {done}").fetchone() or (0, 0)
    return {"instances": count, "rows": rows / count, "total": total / count, "audit": audit / count,
            "state_stored": float(state[0] or 0), "state_chars": float(state[1] or 0)}


# ---------------------------------------------------------------- profile (py-spy)


def start_py_spy(pids: list[int], duration: float, out: Path) -> list[subprocess.Popen[bytes]]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print("  profile: py-spy not installed (requirements-dev.txt)", file=sys.stderr)
        return []
    out.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(duration)), "--rate", "250",
                              "--nonblocking", "--format", "raw", "-o", str(out / f"worker-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]


# (category, substring of a py-spy frame "function (path:line)"), first match from the innermost frame.
LIBRARY_CATEGORIES = [
    ("json", "(json/"), ("hashlib (audit hashes)", "hashlib"), ("jsonschema/referencing (forms)", "(jsonschema/"),
    ("jsonschema/referencing (forms)", "(referencing/"), ("jsonschema/referencing (forms)", "(urllib/parse"),
    ("jinja2 (forms)", "(jinja2/"), ("RestrictedPython (sandbox)", "(RestrictedPython/"),
    ("psycopg (driver, not waiting)", "(psycopg/"), ("SQLAlchemy", "(sqlalchemy/"), ("SpiffWorkflow", "(SpiffWorkflow/"),
    ("marshmallow/flask-smorest/webargs", "(marshmallow/"), ("marshmallow/flask-smorest/webargs", "(flask_smorest/"),
    ("marshmallow/flask-smorest/webargs", "(webargs/"), ("flask/werkzeug", "(werkzeug/"), ("flask/werkzeug", "(flask/"),
    ("itsdangerous (tokens)", "(itsdangerous/"), ("celery/kombu (enqueue)", "(kombu/"),
    ("celery/kombu (enqueue)", "(celery/"), ("our code (engine/api/forms)", "(engine/"), ("our code (engine/api/forms)", "(api/"),
    ("our code (engine/api/forms)", "(forms/"), ("gunicorn", "(gunicorn/"),
]
# Which of our steps a sample is in: first match from the innermost frame.
STEP_CATEGORIES = [
    ("audit chain (build_chain)", "build_chain (engine/"), ("state: dump_state", "dump_state (engine/"),
    ("state: load_state", "load_state (engine/"), ("engine: compact", "compact (engine/"),
    ("forms: load_form (metaschema check)", "load_form (forms/"), ("forms: validate_submission", "validate_submission (forms/"),
    ("users: load user + groups (selectin)", "get_user_by_username (engine/"),
    ("project_human_tasks (rows, candidates, delegation)", "project_human_tasks (engine/"),
    ("metadata + timers/messages sync", "extract_metadata (engine/"), ("metadata + timers/messages sync", "sync_waits (engine/"),
    ("engine: task.run + do_engine_steps", "run_engine (engine/"), ("engine: task.run + do_engine_steps", "Task.run (SpiffWorkflow/"),
    ("flush (SQL writes)", "flush_or_conflict (engine/"), ("response: detail() (tasks, data, timeline)", "detail (api/views/instances"),
    ("auth: bearer token -> user", "require_user (api/"), ("authz: actionable/get_human_task", "actionable (engine/"),
    ("start: model, version, instance row", "start_instance (engine/"), ("inbox: list_tasks", "list_tasks (engine/"),
    ("inbox: task_rows_to_dicts", "task_rows_to_dicts (api/"), ("commit", "Session.commit (sqlalchemy/"),
    ("session rollback/close", "_close (api/db"), ("response: marshmallow dump + JSON", "(flask_smorest/response"),
    ("request parsing (webargs)", "(webargs/"),
]
DB_WAIT = "Connection.wait (psycopg/"


def summarize_profile(folder: Path, instances: int) -> list[str]:
    samples: list[tuple[list[str], int]] = []
    for f in folder.glob("worker-*.txt"):
        for line in f.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                samples.append((stack.split(";"), int(count)))
    total = sum(n for _, n in samples)
    if not total:
        return ["  profile: no samples"]
    waiting = sum(n for frames, n in samples if any(DB_WAIT in f for f in frames))
    busy = [(frames, n) for frames, n in samples if not any(DB_WAIT in f for f in frames)]
    out = [f"  profile: {total} samples of the gunicorn workers (py-spy, 250 Hz), {instances} instances; "
           f"{100 * waiting / total:.0f}% waiting for PostgreSQL answers; the rest (Python running) by step "
           f"and by library:"]
    rest = total - waiting
    for title, cats in (("step", STEP_CATEGORIES), ("library (innermost)", LIBRARY_CATEGORIES)):
        counts: dict[str, int] = {}
        for frames, n in busy:
            name = "other"
            for frame in reversed(frames):
                hit = next((c for c, needle in cats if needle in frame), None)
                if hit:
                    name = hit
                    break
            counts[name] = counts.get(name, 0) + n
        out.append(f"  profile by {title}:")
        out += [f"    {100 * n / rest:5.1f}%  {name}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    return out


def anatomy(url: str, flows: int) -> dict[str, tuple[int, float]]:
    """The same requests in this process through Flask's test client: SQL statements and CPU
    per request (median per kind). Both hardly depend on what else the machine is doing."""
    from sqlalchemy import event

    from api import create_app

    folder = Path(tempfile.mkdtemp(prefix="bench-http-anatomy-"))
    app = create_app({"database_url": url, "broker_url": "memory://", "secret_key": "bench-" + "y" * 40,
                      "instance_dir": folder})
    engine = app.extensions["db_engine"]
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    client = app.test_client()
    tokens = {u: client.post("/api/v1/auth/login", json={"username": u, "password": PASSWORD}).get_json()["token"]
              for u in (INITIATORS[0], REVIEWER, APPROVER)}
    seen: dict[str, list[tuple[int, float]]] = {}

    def call(kind: str, method: str, path: str, who: str, body: Any = None) -> Any:
        statements[0] = 0
        t0 = time.process_time()
        resp = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {tokens[who]}"})
        seen.setdefault(kind, []).append((statements[0], 1000 * (time.process_time() - t0)))
        if resp.status_code not in (200, 201):
            raise FlowError(f"{kind}: HTTP {resp.status_code} {resp.get_data(as_text=True)[:200]}")
        return resp.get_json()

    for n in range(flows + 1):
        body = call("start", "POST", "/api/v1/process-instances", INITIATORS[0], {"process_model_id": MODEL_PATH})
        steps = [(INITIATORS[0], fill_data(n)), (REVIEWER, {"review_decision": "approve", "review_comment": "同意"}),
                 (APPROVER, {"approve_decision": "approve"})]
        for i, (who, data) in enumerate(steps):
            if who == REVIEWER:
                call("inbox", "GET", "/api/v1/tasks?scope=mine&per_page=20", who)
            body = call(f"complete {i + 1}", "POST", f"/api/v1/tasks/{_open_task(body)}/complete", who, {"data": data})
        if n == 0:  # the first flow parses the spec and warms caches
            seen.clear()
    engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    return {k: (int(statistics.median(s for s, _ in v)), statistics.median(c for _, c in v)) for k, v in seen.items()}


# ---------------------------------------------------------------- the benchmark


@contextlib.contextmanager
def _server(url: str, workers: int) -> Iterator[tuple[Server, dict[str, str]]]:
    with Server(url, workers) as server:
        tokens = {u: login(server.port, u) for u in [*INITIATORS, REVIEWER, APPROVER]}
        yield server, tokens


def run(quick: bool = False, out: Any = sys.stdout, *, workers: list[int] | None = None, clients: int | None = None,
        duration: float | None = None, profile: bool = False) -> dict[str, Any]:
    url = database_url()
    if not postgres_reachable(url):
        print(f"http: skipped (no PostgreSQL at {libpq_url(url)})", file=out)
        return {}
    cores = os.cpu_count() or 1
    workers = workers or ([2 * cores] if quick else [cores, 2 * cores])
    clients = clients or 4 * cores
    duration = duration or (6.0 if quick else 20.0)
    warmup = 2.0 if quick else 5.0
    backlog = 16 if quick else 200
    t_start = time.monotonic()

    def progress(msg: str) -> None:
        print(f"  http [{time.monotonic() - t_start:5.1f} s, load {os.getloadavg()[0]:.1f}]: {msg}", file=sys.stderr)

    progress(f"preparing {libpq_url(url)}")
    prepare_database(url)
    empty = relation_sizes(url)
    progress("request anatomy in-process")
    anat = anatomy(url, 1 if quick else 10)
    completes = sorted(k for k in anat if k.startswith("complete"))
    print("http anatomy (per request, in-process): SQL statements start {} / complete {} / inbox {}; CPU ms "
          "start {:.0f} / complete {} / inbox {:.0f}".format(
              anat["start"][0], ",".join(str(anat[k][0]) for k in completes), anat["inbox"][0], anat["start"][1],
              ",".join(f"{anat[k][1]:.0f}" for k in completes), anat["inbox"][1]), file=out)
    best: Throughput | None = None
    lat: Latency | None = None
    rate = 0.0
    for i, w in enumerate(workers):
        with _server(url, w) as (server, tokens):
            if i == 0:  # the reviewer's inbox holds `backlog` open tasks from here on
                progress(f"backlog of {backlog} open review tasks")
                closed_loop(server, tokens, clients, warmup=0, duration=600, steps=1, limit=backlog)
            progress(f"throughput: {w} workers, {clients} clients, {warmup:.0f} s warm-up + {duration:.0f} s")
            spy_dir = Path(tempfile.mkdtemp(prefix="bench-pyspy-")) if profile else None
            tp = closed_loop(server, tokens, clients, warmup=warmup, duration=duration, profile=spy_dir)
            _print_throughput(tp, out)
            if spy_dir is not None:
                for line in summarize_profile(spy_dir, tp.instances):
                    print(line, file=out)
                shutil.rmtree(spy_dir, ignore_errors=True)
            if best is None or tp.rate > best.rate:
                best = tp
    assert best is not None
    # Latency at half the best rate, on the configuration that reached it.
    with _server(url, best.workers) as (server, tokens):
        rate = max(0.2, best.rate / 2)
        progress(f"latency: open loop at {rate:.1f} instances/s for {duration:.0f} s, {best.workers} workers")
        lat = open_loop(server, tokens, rate, duration, processes=min(4, clients))
    progress("raw SpiffWorkflow")
    raw_seconds = 2.0 if quick else 5.0
    raw = raw_spiff(raw_seconds, round_trips=False)
    raw_json = raw_spiff(raw_seconds, round_trips=True)
    print(f"raw SpiffWorkflow, same flow in memory: {raw:.0f} instances/s (1 process); "
          f"with JSON save/load around each step: {raw_json:.0f}/s", file=out)
    print(f"throughput ratio {best.rate / raw:.3f} (http {best.rate:.1f} / raw in memory {raw:.0f}; "
          f"{best.rate / raw_json:.2f} of raw with JSON round trips, target >= 0.35)", file=out)
    c, ib, st = lat.ms.get("complete"), lat.ms.get("inbox"), lat.ms.get("start")
    note = f"open loop at {rate:.1f} instances/s = 50% of max, {best.workers} workers, {lat.flows} flows"
    if lat.errors:
        note += f", {lat.errors} errors: {lat.error_samples[:1]}"
    if c:
        print(f"complete p50/p95/p99: {c[0]:.0f}/{c[1]:.0f}/{c[2]:.0f} ms ({note}; target p95 <= 30)", file=out)
    if ib:
        print(f"inbox p50/p95/p99: {ib[0]:.0f}/{ib[1]:.0f}/{ib[2]:.0f} ms (GET /tasks?scope=mine first page, "
              f"reviewer with >= {backlog} open tasks, same run; target p95 <= 25)", file=out)
    if st:
        print(f"start p50/p95/p99: {st[0]:.0f}/{st[1]:.0f}/{st[2]:.0f} ms (from the scheduled arrival; "
              f"client dispatch lag p99 {lat.late_p99_ms:.0f} ms)", file=out)
    progress("storage")
    size = storage(url, empty)
    if size:
        print(f"storage: {size['total'] / 1024:.1f} KB per completed instance incl. indexes and TOAST "
              f"({size['rows'] / 1024:.1f} KB of rows, audit {size['audit'] / 1024:.1f} KB, state "
              f"{size['state_stored'] / 1024:.1f} KB stored for {size['state_chars'] / 1024:.1f} KB of JSON; "
              f"{size['instances']:.0f} instances; target <= 16)", file=out)
    progress("done")
    return {"rate": best.rate, "raw": raw, "raw_json": raw_json, "latency": lat.ms, "storage": size,
            "anatomy": anat}


def _print_throughput(tp: Throughput, out: Any) -> None:
    busy, total = tp.cpu.get("machine_busy", 0.0), tp.cpu.get("machine_total", 0.0)
    ours = tp.cpu.get("web", 0.0) + tp.cpu.get("postgres", 0.0) + tp.cpu.get("client", 0.0)
    cores = os.cpu_count() or 1
    err = f", {tp.errors} errors: {tp.error_samples[:1]}" if tp.errors else ""
    print(f"http throughput: {tp.rate:.1f} instances/s ({tp.workers} gunicorn workers, {tp.clients} clients{err})",
          file=out)
    per = tp.cpu_ms("web") + tp.cpu_ms("postgres") + tp.cpu_ms("client")
    print(f"http cpu per instance: {tp.cpu_ms('web'):.0f} ms gunicorn, {tp.cpu_ms('postgres'):.0f} ms postgres, "
          f"{tp.cpu_ms('client'):.0f} ms client (client {100 * tp.cpu.get('client', 0) / max(busy, 1e-9):.0f}% of "
          f"busy CPU; machine {100 * busy / max(total, 1e-9):.0f}% busy, other jobs "
          f"{100 * max(0.0, busy - ours) / max(total, 1e-9):.0f}%; idle-machine bound "
          f"{1000 * cores / max(per - tp.cpu_ms('client'), 1e-9):.0f} instances/s)", file=out)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", help="comma-separated gunicorn worker counts to try (default: cores, 2 x cores)")
    ap.add_argument("--clients", type=int, help="load generator processes (default: 4 x cores)")
    ap.add_argument("--duration", type=float, help="seconds of each measurement window")
    ap.add_argument("--profile", action="store_true", help="sample the gunicorn workers with py-spy")
    args = ap.parse_args()
    run(args.quick, workers=[int(w) for w in args.workers.split(",")] if args.workers else None,
        clients=args.clients, duration=args.duration, profile=args.profile)


if __name__ == "__main__":
    main()
