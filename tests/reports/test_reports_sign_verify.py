"""PAdES B-LTA signing and offline verification, including tampering."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError

from reports.pki import Pki, SigningConfig, ensure_pki
from reports.record import RecordData
from reports.sign import sign_pdf
from reports.verify import Verdict, read_record_facts, verify_pdf


@pytest.fixture(scope="module")
def verdict(signed_pdf: bytes, pki: Pki) -> Verdict:
    return verify_pdf(signed_pdf, trust_roots=[pki.ca_cert_path])


def _flip(pdf: bytes, position: int) -> bytes:
    data = bytearray(pdf)
    data[position] ^= 0x01
    return bytes(data)


def _contents_spans(pdf: bytes) -> list[tuple[int, int]]:
    """(start, end) of the hex digits of every signature's /Contents."""
    return [(m.start(1), m.end(1)) for m in re.finditer(rb"/Contents <([0-9a-fA-F]+)>", pdf)]


# --- the happy path ----------------------------------------------------------------------

def test_signed_record_verifies_ok_trusted_timestamped_lta(verdict: Verdict, record: RecordData) -> None:
    assert verdict.ok, verdict.problems
    assert verdict.reason is None
    assert verdict.level == "B-LTA"
    [sig] = verdict.signatures
    assert sig.intact and sig.valid and sig.trusted
    assert sig.subfilter == "/ETSI.CAdES.detached"
    assert sig.modification_level == "LTA_UPDATES"  # only the DSS + document time-stamp came after
    assert sig.timestamp is not None and sig.timestamp.ok
    assert sig.timestamp.time is not None
    assert abs(sig.timestamp.time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=10)
    assert "Document Signing" in (sig.signer or "")
    [doc_ts] = verdict.document_timestamps
    assert doc_ts.ok and doc_ts.kind == "document-timestamp"
    assert doc_ts.coverage == "ENTIRE_FILE"  # the last time-stamp covers every byte
    assert verdict.dss == {"certs": 3, "crls": 1, "ocsps": 0}
    assert verdict.chain_head == record.chain_head
    assert verdict.instance_id == record.instance_id
    assert verdict.record is not None and verdict.record["model_hash"] == record.model_hash


def test_structure_is_pades_lta(signed_pdf: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    assert reader.xrefs.total_revisions == 3  # original, signature, DSS + document time-stamp
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) == 3 and len(dss["/CRLs"]) == 1
    [sig] = reader.embedded_regular_signatures
    [ts] = reader.embedded_timestamp_signatures
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert ts.sig_object["/SubFilter"] == "/ETSI.RFC3161" and ts.sig_object["/Type"] == "/DocTimeStamp"
    # the signature time-stamp token is an unsigned attribute of the CMS signer info
    unsigned = sig.signer_info["unsigned_attrs"]
    assert any(attr["type"].native == "signature_time_stamp_token" for attr in unsigned)


def test_verdict_to_dict_is_json_ready(verdict: Verdict) -> None:
    import json

    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["ok"] is True and data["level"] == "B-LTA"
    assert data["signatures"][0]["ok"] is True
    assert data["signatures"][0]["timestamp"]["ok"] is True
    assert data["chain_head"] == verdict.chain_head


def test_embedded_facts_are_read_from_the_signed_revision(signed_pdf: bytes, record: RecordData) -> None:
    facts = read_record_facts(signed_pdf)
    assert facts is not None and facts["chain_head"] == record.chain_head


def test_within_the_crl_lifetime_it_verifies_from_the_file_alone(signed_pdf: bytes, pki: Pki) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=300)
    verdict = verify_pdf(signed_pdf, [pki.ca_cert], validation_time=later)
    assert verdict.ok, verdict.problems


def _crl_issued_at(pki: Pki, when: dt.datetime, monkeypatch: pytest.MonkeyPatch) -> object:
    from reports import pki as pki_module

    with monkeypatch.context() as patch:
        patch.setattr(pki_module, "_now", lambda: when)
        return pki_module._make_crl(pki.ca_key, pki.ca_cert, 99)


@pytest.mark.parametrize("days", [400, 3 * 365 + 60])  # CRL expired; then the signer certificate too
def test_later_it_verifies_with_the_current_crl(signed_pdf: bytes, pki: Pki, days: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of B-LTA: the document time-stamp proves the signature was valid when made,
    so past the CRL's (1 y) and the signer certificate's (3 y) validity the record verifies
    given revocation information that is current for the last time-stamp only."""
    later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days)
    assert not verify_pdf(signed_pdf, [pki.ca_cert], validation_time=later).ok  # embedded CRL is stale
    current = _crl_issued_at(pki, later - dt.timedelta(hours=1), monkeypatch)
    verdict = verify_pdf(signed_pdf, [pki.ca_cert], crls=[current], validation_time=later)
    assert verdict.ok, verdict.problems


def test_extend_lta_adds_a_covering_time_stamp(signed_pdf: bytes, pki: Pki, signing_config: SigningConfig) -> None:
    from reports.sign import extend_lta

    extended = extend_lta(signed_pdf, signing_config)
    assert extended.startswith(signed_pdf)  # incremental: the signed bytes are untouched
    verdict = verify_pdf(extended, [pki.ca_cert])
    assert verdict.ok, verdict.problems
    assert len(verdict.document_timestamps) == 2
    assert verdict.document_timestamps[-1].coverage == "ENTIRE_FILE"
    assert not verify_pdf(_flip(extended, 2000), [pki.ca_cert]).ok


# --- tampering ---------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["start", "header", "early", "middle", "late", "dss", "end", "last"])
def test_one_flipped_byte_anywhere_fails(signed_pdf: bytes, pki: Pki, where: str) -> None:
    size = len(signed_pdf)
    dss = signed_pdf.rfind(b"/DSS")
    position = {"start": 0, "header": 5, "early": 1000, "middle": size // 2, "late": size - 3000,
                "dss": dss + 2, "end": size - 10, "last": size - 1}[where]
    verdict = verify_pdf(_flip(signed_pdf, position), [pki.ca_cert])
    assert not verdict.ok, f"byte {position} ({where}) flipped and still ok"
    assert verdict.reason


def test_one_flipped_byte_inside_each_signature_container_fails(signed_pdf: bytes, pki: Pki) -> None:
    spans = _contents_spans(signed_pdf)
    assert len(spans) == 2  # signature and document time-stamp
    for start, end in spans:
        for position in (start + 10, start + (end - start) // 4, end - 2):  # DER, DER, zero padding
            verdict = verify_pdf(_flip(signed_pdf, position), [pki.ca_cert])
            assert not verdict.ok, f"byte {position} in /Contents {start}-{end} flipped and still ok"


@pytest.mark.slow
def test_sweep_of_flipped_bytes_never_passes(signed_pdf: bytes, pki: Pki) -> None:
    """Two dozen positions spread over all three revisions (~0.2 s per verification)."""
    for position in range(7, len(signed_pdf), len(signed_pdf) // 24 + 1):
        verdict = verify_pdf(_flip(signed_pdf, position), [pki.ca_cert])
        assert not verdict.ok, f"byte {position} flipped and still ok"


def test_appended_update_is_detected(signed_pdf: bytes, pki: Pki) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    info = writer.trailer["/Info"].get_object()
    from pyhanko.pdf_utils.generic import NameObject, TextStringObject
    info[NameObject("/ApprovalChainHead")] = TextStringObject("0" * 64)
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    verdict = verify_pdf(out.getvalue(), [pki.ca_cert])
    assert not verdict.ok
    assert verdict.chain_head != "0" * 64  # facts come from the signed revision, not the forgery


def test_truncated_to_the_signed_revision_is_not_lta(signed_pdf: bytes, pki: Pki) -> None:
    [sig] = PdfFileReader(io.BytesIO(signed_pdf)).embedded_regular_signatures
    byte_range = [int(n) for n in sig.byte_range]
    first_revision = signed_pdf[: byte_range[2] + byte_range[3]]
    assert not verify_pdf(first_revision, [pki.ca_cert]).ok
    # ... though it is the authentic B-T signature when the CRL is supplied separately
    bt = verify_pdf(first_revision, [pki.ca_cert], crls=[pki.crl_path], require_lta=False)
    assert bt.ok, bt.problems
    assert bt.level == "B-T"


def test_another_root_is_not_trusted(signed_pdf: bytes, tmp_path: Path) -> None:
    stranger = ensure_pki(tmp_path / "other", org_name="Someone Else")
    verdict = verify_pdf(signed_pdf, [stranger.ca_cert])
    assert not verdict.ok
    assert verdict.signatures and not verdict.signatures[0].trusted
    assert verdict.signatures[0].intact and verdict.signatures[0].valid


# --- garbage in ----------------------------------------------------------------------------

@pytest.mark.parametrize("upload", [
    b"", b"hello", b"PK\x03\x04 not a pdf", b"%PDF-1.7\n%%EOF", b"%PDF-1.7\n" + b"\x00" * 5000,
    b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
])
def test_garbage_upload_gives_a_verdict_not_an_exception(upload: bytes, pki: Pki) -> None:
    verdict = verify_pdf(upload, [pki.ca_cert])
    assert not verdict.ok and verdict.reason
    assert verdict.to_dict()["ok"] is False


def test_unsigned_pdf_is_not_ok(unsigned_pdf: bytes, pki: Pki) -> None:
    verdict = verify_pdf(unsigned_pdf, [pki.ca_cert])
    assert not verdict.ok and verdict.reason == "the PDF has no signature"


def test_truncated_signed_pdf_gives_a_verdict(signed_pdf: bytes, pki: Pki) -> None:
    for cut in (100, len(signed_pdf) // 3, len(signed_pdf) - 100):
        assert not verify_pdf(signed_pdf[:cut], [pki.ca_cert]).ok


def test_bad_trust_root_is_the_callers_error(signed_pdf: bytes) -> None:
    with pytest.raises(ValueError):
        verify_pdf(signed_pdf, [])
    with pytest.raises(ValueError):
        verify_pdf(signed_pdf, [b"not a certificate"])


# --- signing configuration -------------------------------------------------------------------

def test_signing_fails_early_without_revocation_information(unsigned_pdf: bytes, pki: Pki) -> None:
    """No CRL, no B-LT: refuse to sign rather than produce a record that won't validate offline."""
    config = dataclasses.replace(SigningConfig.from_pki(pki), crls=())
    with pytest.raises(SigningError, match="revocation information"):
        sign_pdf(unsigned_pdf, config)


def test_signing_with_a_pkcs12_file(unsigned_pdf: bytes, pki: Pki, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    p12 = tmp_path / "signer.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"signer", pki.signer_key, pki.signer_cert, None, BestAvailableEncryption(b"pw")))
    config = SigningConfig(pkcs12=p12, key_password=b"pw", trust_roots=(pki.ca_cert_path,), crls=(pki.crl_path,),
                           tsa_cert=pki.tsa_cert_path, tsa_key=pki.tsa_key_path)
    verdict = verify_pdf(sign_pdf(unsigned_pdf, config), [pki.ca_cert])
    assert verdict.ok, verdict.problems


# --- an independent validator ------------------------------------------------------------------

@pytest.fixture(scope="module")
def nss_db(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("pdfsig") is None or shutil.which("certutil") is None:
        pytest.skip("pdfsig (poppler-utils) and certutil (libnss3-tools) needed")
    db = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True, timeout=60)
    subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "approvals-root", "-t", "CT,C,C",
                    "-i", str(pki.ca_cert_path)], check=True, timeout=60)
    return f"sql:{db}"


def _pdfsig(pdf: bytes, nss_db: str, tmp_path: Path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["pdfsig", "-nssdir", nss_db, str(path)], capture_output=True, timeout=60)
    return result.stdout.decode("utf-8", "replace")


def test_poppler_pdfsig_validates_the_signature(signed_pdf: bytes, nss_db: str, tmp_path: Path) -> None:
    """An inspector's check with an unrelated implementation (poppler + NSS). pdfsig does not
    implement RFC 3161 document time-stamps, so it only judges the signature itself."""
    out = _pdfsig(signed_pdf, nss_db, tmp_path)
    first = out.split("Signature #2")[0]
    assert "Signature Validation: Signature is Valid." in first
    assert "Certificate Validation: Certificate is Trusted." in first
    assert "ETSI.CAdES.detached" in first
    assert "Total document signed" in out.split("Signature #2")[1]  # the document time-stamp


def test_poppler_pdfsig_sees_tampering(signed_pdf: bytes, nss_db: str, tmp_path: Path) -> None:
    out = _pdfsig(_flip(signed_pdf, 1000), nss_db, tmp_path)
    assert "Signature is Valid." not in out.split("Signature #2")[0]
