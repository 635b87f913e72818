"""Fixtures for the records package: one PKI and one signed 20-step record per test session
(rendering and signing take about a second; every test reads the same bytes)."""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from reports.pki import Pki, SigningConfig, ensure_pki
from reports.record import RecordData
from reports.sample import sample_record


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return ensure_pki(tmp_path_factory.mktemp("records") / "pki")


@pytest.fixture(scope="session")
def signing_config(pki: Pki) -> SigningConfig:
    return SigningConfig.from_pki(pki)


@pytest.fixture(scope="session")
def record() -> RecordData:
    return sample_record(steps=20)


@pytest.fixture(scope="session")
def unsigned_pdf(record: RecordData) -> bytes:
    from reports.record import render_record_pdf

    return render_record_pdf(record)


@pytest.fixture(scope="session")
def signed_pdf(unsigned_pdf: bytes, signing_config: SigningConfig) -> bytes:
    from reports.sign import sign_pdf

    return sign_pdf(unsigned_pdf, signing_config)


@pytest.fixture(scope="session")
def interim_pdf() -> bytes:
    from reports.record import render_record_pdf

    return render_record_pdf(sample_record(steps=20, interim=True))


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian: poppler-utils / libnss3-tools)")
    return path


@pytest.fixture
def pdftotext(tmp_path: Path) -> Callable[..., str]:
    """Text layer of a PDF (or of one page of it) through poppler's pdftotext."""
    need_tool("pdftotext")

    def run(pdf: bytes, page: int | None = None) -> str:
        src = tmp_path / "text.pdf"
        src.write_bytes(pdf)
        args = ["pdftotext", "-enc", "UTF-8"]
        if page is not None:
            args += ["-f", str(page), "-l", str(page)]
        out = subprocess.run([*args, str(src), "-"], check=True, capture_output=True, timeout=60)
        return out.stdout.decode("utf-8")

    return run


@pytest.fixture
def page_count(tmp_path: Path) -> Callable[[bytes], int]:
    need_tool("pdfinfo")

    def run(pdf: bytes) -> int:
        src = tmp_path / "count.pdf"
        src.write_bytes(pdf)
        out = subprocess.run(["pdfinfo", str(src)], check=True, capture_output=True, timeout=60).stdout.decode()
        return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))

    return run
