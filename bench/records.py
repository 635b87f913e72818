"""Seconds per signed record (render + PAdES B-LTA signature) for a 20-step request, and
verification time; target under 1 s per record on this machine."""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run(repeat: int = 5, out: Any = sys.stdout) -> dict[str, float]:
    from reports.pki import SigningConfig, ensure_pki
    from reports.record import render_record_pdf
    from reports.sample import sample_record
    from reports.sign import sign_pdf
    from reports.verify import verify_pdf

    config = SigningConfig.from_pki(ensure_pki(Path(tempfile.mkdtemp(prefix="bench-pki-"))))
    record = sample_record(steps=20)
    sign_pdf(render_record_pdf(record), config)  # warm-up: imports, fonts (the worker does this once)
    renders, signs, verifies = [], [], []
    pdf = b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        raw = render_record_pdf(record)
        t1 = time.perf_counter()
        pdf = sign_pdf(raw, config)
        t2 = time.perf_counter()
        verdict = verify_pdf(pdf, list(config.trust_roots), list(config.crls))
        t3 = time.perf_counter()
        assert verdict.ok, verdict.reason
        renders.append(t1 - t0)
        signs.append(t2 - t1)
        verifies.append(t3 - t2)
    total = statistics.median([r + s for r, s in zip(renders, signs, strict=True)])
    print(f"records: s per 20-step record (render + sign) {total:.2f} (target < 1)", file=out)
    print(f"records: render {statistics.median(renders):.2f} s, sign {statistics.median(signs):.2f} s, "
          f"verify {statistics.median(verifies):.2f} s", file=out)
    print(f"records: signed PDF size {len(pdf) / 1024:.0f} KB", file=out)
    return {"record_s": total}
