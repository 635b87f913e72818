"""Every endpoint, called as each role from inside and outside the object's region, against the
expected status in this table. An endpoint without a row fails the test: new endpoints must
say who may call them."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

# who: anonymous, a requester in the request's region (its initiator) and outside it, a regional
# approver of the request's region and of another, the designer, the auditor and the admin.
ROLES = {
    "anon": None, "req_in": "east_ops", "req_out": "south_ops", "appr_in": "east_manager",
    "appr_out": "south_manager", "designer": "designer", "auditor": "auditor", "admin": "admin",
}


@dataclass
class Objects:
    instance_id: int
    task_id: int  # the regional manager's review task of that instance
    delegation_id: int  # east_ops's own delegation
    token_id: int
    notification_id: int  # east_manager's


def _all(status: int, **overrides: int) -> dict[str, int]:
    out = {r: status for r in ROLES}
    out.update(overrides)
    return out


def _signed_in(status: int, **overrides: int) -> dict[str, int]:
    return _all(status, anon=401, **overrides)


def _admin_only(status: int) -> dict[str, int]:
    return _signed_in(403, admin=status)


def _read_instance(status_in: int = 200) -> dict[str, int]:
    # HQ users (designer, auditor, admin) read every region; others only their own.
    return _signed_in(status_in, req_out=404, appr_out=404)


Call = Callable[[Any, Objects, str], Any]  # (client, objects, role) -> response
NOW = dt.datetime.now(dt.UTC)

TABLE: dict[str, tuple[Call, dict[str, int]]] = {
    "GET /api/openapi.json": (lambda c, o, r: c.get("/api/openapi.json"), _all(200)),
    "GET /api/docs": (lambda c, o, r: c.get("/api/docs"), _all(200)),
    "GET /healthz": (lambda c, o, r: c.get("/healthz"), _all(200)),
    "GET /": (lambda c, o, r: c.get("/"), _all(200)),
    "GET /<path:path>": (lambda c, o, r: c.get("/inbox/anything"), _all(200)),
    "POST /api/v1/auth/login": (
        lambda c, o, r: c.post("/api/v1/auth/login", json={"username": ROLES[r] or "nobody", "password": "demo"}),
        _all(200, anon=401)),
    "POST /api/v1/auth/logout": (lambda c, o, r: c.post("/api/v1/auth/logout"), _all(204)),
    "GET /api/v1/me": (lambda c, o, r: c.get("/api/v1/me"), _signed_in(200)),
    "GET /api/v1/users": (lambda c, o, r: c.get("/api/v1/users"), _admin_only(200)),
    "POST /api/v1/users": (lambda c, o, r: c.post("/api/v1/users", json={
        "username": f"new_{r}", "region": "EAST", "password": "password-123"}), _admin_only(201)),
    "GET /api/v1/users/<string:username>": (lambda c, o, r: c.get("/api/v1/users/east_ops"), _admin_only(200)),
    "PATCH /api/v1/users/<string:username>": (
        lambda c, o, r: c.patch("/api/v1/users/east_planner", json={"department": "计划二部"}), _admin_only(200)),
    "GET /api/v1/groups": (lambda c, o, r: c.get("/api/v1/groups"), _admin_only(200)),
    "POST /api/v1/groups": (lambda c, o, r: c.post("/api/v1/groups", json={"name": f"g_{r}"}), _admin_only(201)),
    "GET /api/v1/regions": (lambda c, o, r: c.get("/api/v1/regions"), _signed_in(200)),
    "GET /api/v1/me/delegations": (lambda c, o, r: c.get("/api/v1/me/delegations"), _signed_in(200)),
    "POST /api/v1/me/delegations": (lambda c, o, r: c.post("/api/v1/me/delegations", json={
        "delegate": "east_planner" if r != "req_in" else "east_manager",
        "starts_at": NOW.isoformat(), "ends_at": (NOW + dt.timedelta(days=1)).isoformat()}), _signed_in(201)),
    # Only the owner sees their delegation: for everyone else it does not exist.
    "DELETE /api/v1/me/delegations/<int:delegation_id>": (
        lambda c, o, r: c.delete(f"/api/v1/me/delegations/{o.delegation_id}"), _signed_in(404, req_in=204)),
    "GET /api/v1/tokens": (lambda c, o, r: c.get("/api/v1/tokens"), _admin_only(200)),
    "POST /api/v1/tokens": (lambda c, o, r: c.post("/api/v1/tokens", json={"username": "east_ops", "name": "t"}),
                            _admin_only(201)),
    "DELETE /api/v1/tokens/<int:token_id>": (lambda c, o, r: c.delete(f"/api/v1/tokens/{o.token_id}"), _admin_only(204)),
    "GET /api/v1/process-models": (lambda c, o, r: c.get("/api/v1/process-models"), _signed_in(200)),
    "GET /api/v1/process-models/<string:model_id>": (
        lambda c, o, r: c.get("/api/v1/process-models/demo:simple-approval"), _signed_in(200)),
    "POST /api/v1/process-models/<string:model_id>/deployments": (
        lambda c, o, r: c.post("/api/v1/process-models/demo:simple-approval/deployments",
                               json={"files": {"README.md": f"# {r}"}}),
        _signed_in(403, designer=201, admin=201)),
    "POST /api/v1/process-instances": (
        lambda c, o, r: c.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}),
        _signed_in(201, auditor=403)),
    "GET /api/v1/process-instances": (lambda c, o, r: c.get("/api/v1/process-instances"), _signed_in(200)),
    "GET /api/v1/process-instances/<int:instance_id>": (
        lambda c, o, r: c.get(f"/api/v1/process-instances/{o.instance_id}"), _read_instance()),
    "POST /api/v1/process-instances/<int:instance_id>/withdraw": (
        lambda c, o, r: c.post(f"/api/v1/process-instances/{o.instance_id}/withdraw", json={}),
        _read_instance(403) | {"req_in": 200}),
    # Retry is for administrators, and only for a request in error (this one is running: 409).
    "POST /api/v1/process-instances/<int:instance_id>/retry": (
        lambda c, o, r: c.post(f"/api/v1/process-instances/{o.instance_id}/retry", json={}),
        _signed_in(403, admin=409)),
    "GET /api/v1/process-instances/<int:instance_id>/audit": (
        lambda c, o, r: c.get(f"/api/v1/process-instances/{o.instance_id}/audit"), _read_instance()),
    # Delivered only to requests the caller can see: out of region it finds nobody waiting (404).
    "POST /api/v1/messages/<string:name>": (
        lambda c, o, r: c.post("/api/v1/messages/grid_reply", json={"payload": {"approved": True},
                                                                    "process_instance_id": o.instance_id}),
        _signed_in(404)),
    "GET /api/v1/notifications": (lambda c, o, r: c.get("/api/v1/notifications"), _signed_in(200)),
    "POST /api/v1/notifications/read-all": (lambda c, o, r: c.post("/api/v1/notifications/read-all"), _signed_in(204)),
    # Notifications are private: someone else's is not found.
    "POST /api/v1/notifications/<int:notification_id>/read": (
        lambda c, o, r: c.post(f"/api/v1/notifications/{o.notification_id}/read"), _signed_in(404, appr_in=204)),
    "GET /api/v1/process-instances/<int:instance_id>/record.pdf": (
        lambda c, o, r: c.get(f"/api/v1/process-instances/{o.instance_id}/record.pdf"), _read_instance()),
    "GET /api/v1/records/ca.pem": (lambda c, o, r: c.get("/api/v1/records/ca.pem"), _all(200)),
    "POST /api/v1/records/verify": (
        lambda c, o, r: c.post("/api/v1/records/verify", data=b"%PDF-1.7 nothing", content_type="application/pdf"),
        _signed_in(200)),
    "GET /api/v1/tasks": (lambda c, o, r: c.get("/api/v1/tasks?scope=all"), _signed_in(200)),
    "GET /api/v1/tasks/<int:task_id>": (lambda c, o, r: c.get(f"/api/v1/tasks/{o.task_id}"), _read_instance()),
    # Only the approver acts; others who can see it are refused, others do not see it.
    "POST /api/v1/tasks/<int:task_id>/complete": (
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/complete", json={"data": {"decision": "approve"}}),
        _read_instance(403) | {"appr_in": 200}),
    # Attachments: anyone signed in uploads (auditors change nothing); a file is read by its
    # uploader and by readers of a request that references it (others: not found).
    "POST /api/v1/attachments": (
        lambda c, o, r: c.post("/api/v1/attachments", content_type="multipart/form-data",
                               data={"file": (io.BytesIO(b"%PDF-1.4 " + r.encode()), f"{r}.pdf", "application/pdf")}),
        _signed_in(201, auditor=403)),
    "GET /api/v1/attachments/<string:sha256>": (
        lambda c, o, r: c.get(f"/api/v1/attachments/{_linked_attachment(c, o)}"), _read_instance()),
    "GET /api/v1/attachments/<string:sha256>/meta": (
        lambda c, o, r: c.get(f"/api/v1/attachments/{_linked_attachment(c, o)}/meta"), _read_instance()),
    # Approval actions (docs/task-actions.md): the approver acts; the initiator and other readers
    # may CC (initiator), urge and comment; auditors never act; out of region nothing exists.
    "POST /api/v1/tasks/<int:task_id>/claim": (
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/claim"), _read_instance(403) | {"appr_in": 200}),
    "POST /api/v1/tasks/<int:task_id>/unclaim": (  # nobody claimed it: nothing to give back
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/unclaim"), _read_instance(403) | {"appr_in": 409}),
    "POST /api/v1/tasks/<int:task_id>/transfer": (
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/transfer", json={"to": "east_engineer"}),
        _read_instance(403) | {"appr_in": 200, "admin": 200}),
    "POST /api/v1/tasks/<int:task_id>/add-approver": (
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/add-approver",
                               json={"users": ["east_engineer"], "position": "before"}),
        _read_instance(403) | {"appr_in": 200}),
    "GET /api/v1/tasks/<int:task_id>/send-back-targets": (
        lambda c, o, r: c.get(f"/api/v1/tasks/{o.task_id}/send-back-targets"), _read_instance(403) | {"appr_in": 200}),
    "POST /api/v1/tasks/<int:task_id>/send-back": (
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/send-back", json={"to": "apply", "comment": "请补充"}),
        _read_instance(403) | {"appr_in": 200}),
    "POST /api/v1/tasks/<int:task_id>/cc": (
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/cc", json={"users": ["east_planner"]}),
        _read_instance(403) | {"req_in": 200, "appr_in": 200, "admin": 200}),
    "POST /api/v1/tasks/<int:task_id>/urge": (
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/urge", json={}),
        _read_instance(403) | {"req_in": 200, "admin": 200}),
    "POST /api/v1/tasks/<int:task_id>/comment": (
        lambda c, o, r: c.post(f"/api/v1/tasks/{o.task_id}/comment", json={"body": "意见"}),
        _read_instance(201) | {"auditor": 403}),
    "PUT /api/v1/tasks/<int:task_id>/draft": (
        lambda c, o, r: c.put(f"/api/v1/tasks/{o.task_id}/draft", json={"data": {"decision": "approve"}}),
        _read_instance(403) | {"appr_in": 200}),
    # Each task succeeds or fails on its own inside a 200; auditors are refused outright.
    "POST /api/v1/tasks/batch-approve": (
        lambda c, o, r: c.post("/api/v1/tasks/batch-approve", json={"task_ids": [o.task_id]}),
        _signed_in(200, auditor=403)),
    "GET /api/v1/inbox/counts": (lambda c, o, r: c.get("/api/v1/inbox/counts"), _signed_in(200)),
    "GET /api/v1/cc": (lambda c, o, r: c.get("/api/v1/cc"), _signed_in(200)),
    "POST /api/v1/process-instances/<int:instance_id>/cc": (
        lambda c, o, r: c.post(f"/api/v1/process-instances/{o.instance_id}/cc", json={"users": ["east_planner"]}),
        _read_instance(403) | {"req_in": 200, "appr_in": 200, "admin": 200}),
    "POST /api/v1/process-instances/<int:instance_id>/urge": (
        lambda c, o, r: c.post(f"/api/v1/process-instances/{o.instance_id}/urge", json={}),
        _read_instance(403) | {"req_in": 200, "admin": 200}),
    "POST /api/v1/process-instances/<int:instance_id>/comments": (
        lambda c, o, r: c.post(f"/api/v1/process-instances/{o.instance_id}/comments", json={"body": "意见"}),
        _read_instance(201) | {"auditor": 403}),
    "GET /api/v1/process-instances/<int:instance_id>/comments": (
        lambda c, o, r: c.get(f"/api/v1/process-instances/{o.instance_id}/comments"), _read_instance()),
    # Record exports: anyone may export what they may read (out of region: nothing matches);
    # an export is its requester's alone.
    "POST /api/v1/record-exports": (
        lambda c, o, r: c.post("/api/v1/record-exports", json={"region": "EAST"}),
        _signed_in(202, req_out=400, appr_out=400)),
    "GET /api/v1/record-exports": (lambda c, o, r: c.get("/api/v1/record-exports"), _signed_in(200)),
    "GET /api/v1/record-exports/<int:export_id>": (
        lambda c, o, r: c.get(f"/api/v1/record-exports/{_own_export(c)}"), _signed_in(200, req_out=404, appr_out=404)),
    "GET /api/v1/record-exports/<int:export_id>/download": (  # not built yet: no worker in this test
        lambda c, o, r: c.get(f"/api/v1/record-exports/{_own_export(c)}/download"),
        _signed_in(409, req_out=404, appr_out=404)),
    # The people picker (transfer, add approver, CC): every signed-in user.
    "GET /api/v1/directory": (lambda c, o, r: c.get("/api/v1/directory?q=east"), _signed_in(200)),
}


def _own_export(c: Any) -> int:
    """An export of the caller's (0 when the caller can read nothing to export: not found)."""
    return int(c.post("/api/v1/record-exports", json={}).get_json().get("id", 0))


def _linked_attachment(c: Any, o: Objects) -> str:
    """A file east_ops uploaded, referenced by the request o.instance_id; its sha256."""
    from engine.attachments.models import Attachment
    from engine.attachments.service import link_attachments
    from engine.attachments.store import HashingSpool, store_root
    from engine.org.service import get_user_by_username

    app = c.c.application
    root = store_root(app.extensions["settings"].instance_dir)
    spool = HashingSpool(root, 1 << 20)
    spool.write(b"%PDF-1.4 permission matrix\n")
    spool.store(root)
    with app.extensions["db_sessions"]() as s:
        s.add(Attachment(sha256=spool.sha256, filename="矩阵.pdf", content_type="application/pdf", size=spool.size,
                         uploaded_by_id=get_user_by_username(s, "east_ops").id))
        link_attachments(s, o.instance_id, [f"sha256:{spool.sha256}"])
        s.commit()
    return spool.sha256


def test_every_endpoint_has_a_row(app: Any) -> None:
    endpoints = {f"{m} {rule.rule}" for rule in app.url_map.iter_rules() for m in rule.methods - {"HEAD", "OPTIONS"}}
    missing = endpoints - set(TABLE)
    assert not missing, f"endpoints without a row in the permission table: {sorted(missing)}"
    assert not set(TABLE) - endpoints, "rows for endpoints that no longer exist"


class _Client:
    """A test client signed in with a bearer token (or anonymous)."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.c, self.h = app.test_client(), ({"Authorization": f"Bearer {token}"} if token else {})

    def __getattr__(self, method: str) -> Any:
        return lambda url, **kw: getattr(self.c, method)(url, headers=self.h, **kw)


def _fresh_objects(app: Any, tokens: dict[str, str]) -> Objects:
    ops, mgr, admin = (_Client(app, tokens[r]) for r in ("req_in", "appr_in", "admin"))
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}).get_json()
    apply_task = inst["tasks"][0]["id"]
    assert ops.post(f"/api/v1/tasks/{apply_task}/complete", json={"data": {"title": "矩阵", "amount": 1}}).status_code == 200
    review = [t for t in ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()["tasks"] if t["status"] == "open"][0]
    d = ops.post("/api/v1/me/delegations", json={"delegate": "east_planner", "starts_at": NOW.isoformat(),
                                                 "ends_at": (NOW + dt.timedelta(days=1)).isoformat()}).get_json()
    t = admin.post("/api/v1/tokens", json={"username": "east_ops", "name": "m"}).get_json()
    note = mgr.get("/api/v1/notifications").get_json()
    note_id = note["items"][0]["id"] if note["items"] else _a_notification(app, "east_manager")
    return Objects(inst["id"], review["id"], d["id"], t["id"], note_id)


def _a_notification(app: Any, username: str) -> int:
    from engine.instances.models import Notification
    from engine.org.service import get_user_by_username

    with app.extensions["db_sessions"]() as s:
        n = Notification(user_id=get_user_by_username(s, username).id, kind="test", title="t")
        s.add(n)
        s.commit()
        return n.id


@pytest.mark.parametrize("endpoint", sorted(TABLE))
def test_permission_matrix(app: Any, login: Any, endpoint: str) -> None:
    call, expected = TABLE[endpoint]
    tokens = {r: login(u).token for r, u in ROLES.items() if u}
    failures = []
    for role in ROLES:
        objs = _fresh_objects(app, tokens)  # every call gets objects no earlier call changed
        r = call(_Client(app, tokens.get(role)), objs, role)
        if r.status_code != expected[role]:
            failures.append(f"{role}: {r.status_code} (expected {expected[role]}) {r.get_data(as_text=True)[:160]}")
    assert not failures, f"{endpoint}\n" + "\n".join(failures)
