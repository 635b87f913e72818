"""Signed PDF records of real requests: download, the same bytes again, verification against
the audit log, tampering caught, interim records, the trust root."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest


def _finished_request(login: Any) -> int:
    ops, mgr, fin = login("east_ops"), login("east_manager"), login("east_finance")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}).get_json()
    ops.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", json={"data": {"title": "储能柜采购", "amount": 88000.5}})
    t = [t for t in ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()["tasks"] if t["status"] == "open"][0]
    mgr.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {"decision": "approve", "comment": "同意采购"}})
    t = [t for t in ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()["tasks"] if t["status"] == "open"][0]
    assert fin.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {"finance_ok": True}}).get_json()["status"] == "complete"
    return int(inst["id"])


def test_record_is_signed_stable_and_verifies_against_the_audit_log(login: Any, app: Any, tmp_path: Path) -> None:
    iid = _finished_request(login)
    auditor = login("auditor")
    r = auditor.get(f"/api/v1/process-instances/{iid}/record.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    again = auditor.get(f"/api/v1/process-instances/{iid}/record.pdf")
    assert again.data == r.data  # content-addressed: the same bytes
    assert login("south_ops").get(f"/api/v1/process-instances/{iid}/record.pdf").status_code == 404

    v = auditor.client.post("/api/v1/records/verify", data=r.data, headers={**auditor._h(), "Content-Type": "application/pdf"})
    verdict = v.get_json()
    assert v.status_code == 200 and verdict["ok"] is True, verdict
    assert verdict["audit"]["matches"] and verdict["audit"]["chain_intact"] and verdict["audit"]["instance_id"] == iid

    tampered = bytearray(r.data)
    tampered[len(tampered) // 2] ^= 0x01
    bad = auditor.client.post("/api/v1/records/verify", data=bytes(tampered),
                              headers={**auditor._h(), "Content-Type": "application/pdf"}).get_json()
    assert bad["ok"] is False
    junk = auditor.client.post("/api/v1/records/verify", data=b"not a pdf", headers={**auditor._h(), "Content-Type": "application/pdf"})
    assert junk.status_code == 200 and junk.get_json()["ok"] is False

    if shutil.which("pdftotext"):
        f = tmp_path / "r.pdf"
        f.write_bytes(r.data)
        text = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout
        assert "简单审批" in text and "储能柜采购" in text and "同意采购" in text

    # The CLI says the same, from the file alone.
    f = tmp_path / "record.pdf"
    f.write_bytes(r.data)
    out = app.test_cli_runner().invoke(args=["records", "verify", str(f)])
    assert out.exit_code == 0 and "valid" in out.output.splitlines()[-1]
    f.write_bytes(bytes(tampered))
    assert app.test_cli_runner().invoke(args=["records", "verify", str(f)]).exit_code == 1


def test_unfinished_request_gets_an_interim_record_and_ca_is_public(login: Any, app: Any) -> None:
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}).get_json()
    r = ops.get(f"/api/v1/process-instances/{inst['id']}/record.pdf")
    assert r.status_code == 200 and "interim" in r.headers["Content-Disposition"]
    ca = app.test_client().get("/api/v1/records/ca.pem")
    assert ca.status_code == 200 and b"BEGIN CERTIFICATE" in ca.data


@pytest.mark.skipif(not shutil.which("pdfsig"), reason="poppler-utils not installed")
def test_an_independent_tool_sees_a_valid_signature(login: Any, tmp_path: Path) -> None:
    iid = _finished_request(login)
    f = tmp_path / "r.pdf"
    f.write_bytes(login("auditor").get(f"/api/v1/process-instances/{iid}/record.pdf").data)
    out = subprocess.run(["pdfsig", "-nocert", str(f)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out
