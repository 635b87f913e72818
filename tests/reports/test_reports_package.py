"""The package's boundaries: plain data in, no web framework or ORM, cheap to import."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_imports_neither_flask_nor_sqlalchemy_nor_eagerly_weasyprint() -> None:
    code = (
        "import sys, reports, reports.pki, reports.diagram, reports.record, reports.sign, reports.verify\n"
        "from reports import verify_pdf, sign_pdf, RecordData, render_diagram_svg\n"
        "loaded = sorted(m for m in ('flask', 'sqlalchemy', 'weasyprint', 'engine', 'api') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_public_api_is_exported() -> None:
    import reports

    for name in reports.__all__:
        assert getattr(reports, name) is not None
