"""Schemathesis against the app's own OpenAPI document, in-process (WSGI), signed in as admin:
every operation gets schema-valid and schema-invalid requests, half of them aimed at objects that
exist. No response may be a 5xx, and every response must match what the document promises
(status code, content type, body schema). Bounded by the example counts: ~1.5 min here."""
from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

POSITIVE_EXAMPLES = 10
NEGATIVE_EXAMPLES = 6
# Each of these renders or signs a PDF (seconds per call): a couple of examples are enough.
SLOW = ("record.pdf", "record-exports", "records/verify")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _real_ids(login: Any) -> dict[str, Any]:
    """Path parameters that name existing objects, so requests get past the 404s."""
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={
        "process_model_id": "demo:simple-approval", "data": {"title": "fuzz", "amount": 100}}).get_json()
    task = next((t for t in inst.get("tasks", []) if t.get("status") == "open"), {})
    notes = login("admin").get("/api/v1/notifications").get_json() or {}
    items = notes.get("items") if isinstance(notes, dict) else None
    return {
        "instance_id": inst["id"], "task_id": task.get("id", 1), "model_id": "demo:simple-approval",
        "username": "east_ops", "name": "fuzz-message", "notification_id": (items or [{"id": 1}])[0]["id"],
        "token_id": 1, "delegation_id": 1, "export_id": 1, "sha256": "0" * 64,
    }


@pytest.mark.slow
def test_every_operation_conforms_to_the_openapi_document(app: Flask, login: Any) -> None:
    real = _real_ids(login)
    admin = login("admin")
    auth = {"Authorization": f"Bearer {admin.token}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for op in operations:
        slow = any(s in op.path for s in SLOW)
        wanted = {p.name: real[p.name] for p in op.path_parameters if p.name in real}
        for mode, examples in ((GenerationMode.POSITIVE, POSITIVE_EXAMPLES), (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)):
            strategies = [op.as_strategy(generation_mode=mode)]
            if wanted and not slow:
                strategies.append(op.as_strategy(generation_mode=mode, path_parameters=wanted))

            @settings(max_examples=2 if slow else examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=st.one_of(strategies))
            def call(case: Any) -> None:
                case.call_and_validate(headers=auth, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing invalid to send (no parameters, or strings)
            except (Exception, BaseExceptionGroup) as exc:  # collect every failure, then report them all
                failures.append(f"{mode.value} {op.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
