"""Audit records: an instance's record rendered to PDF (WeasyPrint), signed PAdES B-LTA
(pyHanko) so that it validates offline, and verified again.

Plain data in, bytes out: nothing here imports Flask or SQLAlchemy, so the API, the CLI and
the Celery worker share it. Typical use::

    from reports import RecordData, SigningConfig, render_diagram_svg, render_record_pdf, sign_pdf, verify_pdf

    config = SigningConfig.from_env(os.environ, instance_dir)          # or .from_pki(ensure_pki(dir))
    svg = render_diagram_svg(bpmn_xml, process_id, completed_ids, current_ids)
    pdf = sign_pdf(render_record_pdf(RecordData(..., diagram_svg=svg)), config)
    verdict = verify_pdf(upload, trust_roots=[ca_pem])                  # verdict.ok, verdict.chain_head

Names are loaded lazily: ``import reports`` stays cheap (WeasyPrint alone takes ~0.7 s to
import), and a process that only verifies never loads the renderer.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Pki": "reports.pki",
    "SigningConfig": "reports.pki",
    "ensure_pki": "reports.pki",
    "render_diagram_svg": "reports.diagram",
    "RecordData": "reports.record",
    "StepData": "reports.record",
    "AttachmentData": "reports.record",
    "render_record_html": "reports.record",
    "render_record_pdf": "reports.record",
    "sign_pdf": "reports.sign",
    "extend_lta": "reports.sign",
    "Verdict": "reports.verify",
    "SignatureReport": "reports.verify",
    "TimestampReport": "reports.verify",
    "verify_pdf": "reports.verify",
    "async_verify_pdf": "reports.verify",
    "read_record_facts": "reports.verify",
}

__all__ = [
    "AttachmentData",
    "Pki",
    "RecordData",
    "SignatureReport",
    "SigningConfig",
    "StepData",
    "TimestampReport",
    "Verdict",
    "async_verify_pdf",
    "ensure_pki",
    "extend_lta",
    "read_record_facts",
    "render_diagram_svg",
    "render_record_html",
    "render_record_pdf",
    "sign_pdf",
    "verify_pdf",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from reports.diagram import render_diagram_svg
    from reports.pki import Pki, SigningConfig, ensure_pki
    from reports.record import AttachmentData, RecordData, StepData, render_record_html, render_record_pdf
    from reports.sign import extend_lta, sign_pdf
    from reports.verify import (
        SignatureReport,
        TimestampReport,
        Verdict,
        async_verify_pdf,
        read_record_facts,
        verify_pdf,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reports' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
