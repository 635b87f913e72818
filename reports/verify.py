"""Verify a signed record offline: signatures, time-stamps, coverage, and the facts inside.

``verify_pdf`` takes untrusted bytes (an upload). It never raises on bad input and never
touches the network: revocation information comes from the document's DSS (that is what
B-LT is for) plus CRLs the caller passes, and no certificate or CRL is fetched from URLs a
document names (a crafted PDF could otherwise make the server request internal addresses).

What "ok" means: at least one signature; every signature intact (its digest matches the
bytes it covers), cryptographically valid, trusted (chains to one of ``trust_roots``, with
revocation information that says "not revoked"), with a valid trusted signature time-stamp,
modified afterwards only by the DSS / document time-stamp updates that PAdES-LTA adds; every
document time-stamp valid and trusted; the last signature or time-stamp covering the whole
file (nothing appended after it); no bytes hidden in the padding of a /Contents; and, unless
``require_lta=False``, the B-LTA level (DSS with revocation information + a document
time-stamp over it).

The comparison of the embedded chain head with the audit log is the caller's: the verdict
carries ``record`` (the facts read from the signed revision) for that.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, TypeAlias

from asn1crypto import crl as asn1_crl
from asn1crypto import parser as asn1_parser
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.validation import DocumentSecurityStore, EmbeddedPdfSignature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer

from reports import _sync
from reports.record import INFO_KEYS, RECORD_JSON_NAME

log = logging.getLogger(__name__)

# The facts file is a few hundred bytes; refuse to decode a big one from an upload.
_MAX_RECORD_JSON = 64 * 1024
_ACCEPTED_MODIFICATIONS = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)

# What callers may pass as trust roots and CRLs: asn1crypto or cryptography objects,
# PEM/DER bytes, or a file path.
CertLike: TypeAlias = "asn1_x509.Certificate | pyca_x509.Certificate | bytes | str | Path"
CrlLike: TypeAlias = "asn1_crl.CertificateList | pyca_x509.CertificateRevocationList | bytes | str | Path"


@dataclass
class TimestampReport:
    time: dt.datetime | None
    intact: bool
    valid: bool
    trusted: bool
    tsa: str | None

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted


@dataclass
class SignatureReport:
    field_name: str
    kind: str  # "signature" or "document-timestamp"
    revision: int  # PDF revision (0-based) the signature belongs to
    signer: str | None  # subject of the signing (or TSA) certificate
    signer_sha256: str | None  # certificate fingerprint
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    signing_time: dt.datetime | None = None  # as claimed by the signer (or the doc time-stamp's time)
    timestamp: TimestampReport | None = None  # RFC 3161 signature time-stamp (signatures only)
    coverage: str | None = None  # ENTIRE_FILE, ENTIRE_REVISION, ...
    modification_level: str | None = None  # NONE, LTA_UPDATES, FORM_FILLING, ANNOTATIONS, OTHER
    subfilter: str | None = None
    ades_indication: str | None = None  # AdES (ETSI EN 319 102-1) result of the LTA validation
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Verdict:
    ok: bool
    reason: str | None = None  # the first problem, for a one-line answer
    level: str | None = None  # PAdES baseline level reached: B-B, B-T, B-LT, B-LTA
    signatures: list[SignatureReport] = field(default_factory=list)
    document_timestamps: list[SignatureReport] = field(default_factory=list)
    dss: dict[str, int] | None = None  # counts of certs, CRLs, OCSP responses in the DSS
    record: dict[str, Any] | None = None  # embedded facts (record.json / info keys) of the signed revision
    problems: list[str] = field(default_factory=list)

    @property
    def chain_head(self) -> str | None:
        return (self.record or {}).get("chain_head")

    @property
    def instance_id(self) -> Any:
        return (self.record or {}).get("instance_id")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (datetimes as ISO 8601)."""
        def convert(value: Any) -> Any:
            if isinstance(value, dt.datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: convert(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [convert(v) for v in value]
            return value
        out: dict[str, Any] = convert(asdict(self))
        for report, sig in zip(out["signatures"], self.signatures, strict=True):
            report["ok"] = sig.ok
            if sig.timestamp is not None:
                report["timestamp"]["ok"] = sig.timestamp.ok
        for report, sig in zip(out["document_timestamps"], self.document_timestamps, strict=True):
            report["ok"] = sig.ok
        out["chain_head"] = self.chain_head
        out["instance_id"] = self.instance_id
        return out


# --- inputs --------------------------------------------------------------------------------

def _to_asn1_cert(value: CertLike) -> list[asn1_x509.Certificate]:
    if isinstance(value, asn1_x509.Certificate):
        return [value]
    if isinstance(value, pyca_x509.Certificate):
        return [asn1_x509.Certificate.load(value.public_bytes(Encoding.DER))]
    data = Path(value).read_bytes() if isinstance(value, str | Path) else bytes(value)
    if pem.detect(data):
        return [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
    return [asn1_x509.Certificate.load(data)]


def _to_asn1_crl(value: CrlLike) -> list[asn1_crl.CertificateList]:
    if isinstance(value, asn1_crl.CertificateList):
        return [value]
    if isinstance(value, pyca_x509.CertificateRevocationList):
        return [asn1_crl.CertificateList.load(value.public_bytes(Encoding.DER))]
    data = Path(value).read_bytes() if isinstance(value, str | Path) else bytes(value)
    if pem.detect(data):
        return [asn1_crl.CertificateList.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
    return [asn1_crl.CertificateList.load(data)]


def _subject(cert: asn1_x509.Certificate | None) -> str | None:
    return cert.subject.human_friendly if cert is not None else None


# --- checks pyHanko does not do for us ---------------------------------------------------------

def _padding_problem(sig: EmbeddedPdfSignature) -> str | None:
    """/Contents is a fixed-size hole in the signed range, filled with the DER signature and
    zero padding. Nothing checks the padding, so bytes could be changed there unnoticed
    (in the last time-stamp, no later signature covers them either). Require zeros."""
    contents = sig.pkcs7_content
    try:
        _, _, _, header, body, trailer = asn1_parser.parse(contents)
    except ValueError:
        return "signature /Contents is not DER"
    used = len(header) + len(body) + len(trailer)
    if contents[used:].strip(b"\x00"):
        return "non-zero bytes after the signature in /Contents"
    return None


def _coverage(sig: EmbeddedPdfSignature) -> SignatureCoverageLevel:
    coverage: SignatureCoverageLevel | None = sig.coverage
    return coverage if coverage is not None else sig.evaluate_signature_coverage()


def _read_dss(reader: PdfFileReader) -> tuple[dict[str, int] | None, list[asn1_x509.Certificate],
                                               list[asn1_crl.CertificateList], int | None]:
    """Counts, certificates and CRLs of the DSS, and the revision that last wrote it."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return None, [], [], None
    certs = list(dss.load_certs())
    crls = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    dss_ref = reader.root.raw_get("/DSS")
    revision = reader.xrefs.get_last_change(dss_ref.reference) \
        if isinstance(dss_ref, generic.IndirectObject) else reader.xrefs.total_revisions - 1
    return {"certs": len(certs), "crls": len(crls), "ocsps": len(dss.ocsps)}, certs, crls, revision


def _name_tree_items(node: generic.PdfObject, depth: int = 0) -> Iterable[tuple[str, generic.PdfObject]]:
    if depth > 8 or not isinstance(node, generic.DictionaryObject):
        return
    names = node.get("/Names")
    if isinstance(names, generic.ArrayObject):
        for i in range(0, len(names) - 1, 2):
            key = names[i]
            if isinstance(key, generic.TextStringObject | generic.ByteStringObject):
                yield str(key), names[i + 1]
    kids = node.get("/Kids")
    if isinstance(kids, generic.ArrayObject):
        for kid in kids[:64]:
            yield from _name_tree_items(kid.get_object() if hasattr(kid, "get_object") else kid, depth + 1)


def _read_record_facts(resolver: HistoricalResolver) -> dict[str, Any] | None:
    """The facts as the signer saw them: read from the signed revision, so an update
    appended later (which verification would flag anyway) cannot substitute them."""
    facts: dict[str, Any] = {}
    try:
        info = resolver.trailer_view.get("/Info")
        info = info.get_object() if info is not None else None
        if isinstance(info, generic.DictionaryObject):
            for key, pdf_key in INFO_KEYS.items():
                value = info.get(f"/{pdf_key}")
                if value is not None:
                    facts[key] = str(value)
    except Exception as exc:  # noqa: BLE001 - a damaged info dictionary is just "no facts"
        log.debug("no readable info dictionary: %s", exc)
    try:
        tree = resolver.root["/Names"]["/EmbeddedFiles"]
        for name, spec in _name_tree_items(tree.get_object()):
            if name != RECORD_JSON_NAME:
                continue
            stream = spec.get_object()["/EF"]["/F"].get_object()
            if int(stream.get("/Length", 0)) > _MAX_RECORD_JSON:
                break
            data = stream.data
            if len(data) <= _MAX_RECORD_JSON:
                embedded = json.loads(data.decode("utf-8"))
                if isinstance(embedded, dict):
                    facts.update(embedded)  # the JSON is typed (ints, bools); prefer it
            break
    except Exception as exc:  # noqa: BLE001
        log.debug("no readable %s: %s", RECORD_JSON_NAME, exc)
    return facts or None


# --- validation ----------------------------------------------------------------------------

def _spec(roots: list[asn1_x509.Certificate], crls: list[asn1_crl.CertificateList]) -> PdfSignatureValidationSpec:
    trust = SimpleTrustManager.build(trust_roots=roots)
    policy = CertValidationPolicySpec(
        trust_manager=trust,
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
    )
    return PdfSignatureValidationSpec(
        signature_validation_spec=SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
                certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
            ),
            local_knowledge=LocalKnowledge(known_crls=[CRLContainer(c) for c in crls]),
        ),
        diff_policy=DEFAULT_DIFF_POLICY,
    )


def _ts_report(status: TimestampSignatureStatus | None) -> TimestampReport | None:
    if status is None:
        return None
    return TimestampReport(time=status.timestamp, intact=status.intact, valid=status.valid,
                           trusted=status.trusted, tsa=_subject(status.signing_cert))


async def _check_signature(sig: EmbeddedPdfSignature, spec: PdfSignatureValidationSpec,
                           timing: ValidationTimingInfo, archived: bool) -> SignatureReport:
    report = SignatureReport(field_name=str(sig.field_name), kind="signature", revision=sig.signed_revision,
                             signer=_subject(sig.signer_cert), signer_sha256=sig.signer_cert.sha256.hex(),
                             subfilter=str(sig.sig_object.get("/SubFilter", "")) or None)
    result = await ades_lta_validation(sig, spec, timing_info=timing)
    status = result.api_status
    report.ades_indication = str(result.ades_subindic)
    if status is None:
        report.problems.append(f"signature not validated: {result.failure_msg or result.ades_subindic}")
        return report
    report.intact, report.valid, report.trusted = status.intact, status.valid, status.trusted
    report.signing_time = status.signer_reported_dt
    report.timestamp = _ts_report(status.timestamp_validity)
    report.coverage = status.coverage.name if status.coverage is not None else None
    level = status.modification_level
    report.modification_level = level.name if level is not None else None
    if not status.intact:
        report.problems.append("the signed bytes were changed (digest mismatch)")
    if not status.valid:
        report.problems.append("the signature value does not verify")
    if status.intact and status.valid and not status.trusted:
        report.problems.append(f"signer not trusted: {result.failure_msg or status.trust_problem_indic}")
    if report.timestamp is None:
        report.problems.append("no signature time-stamp")
    elif not report.timestamp.ok:
        report.problems.append("the signature time-stamp is not valid or not trusted")
    if level not in _ACCEPTED_MODIFICATIONS:
        report.problems.append(f"document modified after signing ({report.modification_level})")
    if status.docmdp_ok is False:
        report.problems.append("modifications violate the document's permissions (DocMDP)")
    if report.subfilter != "/ETSI.CAdES.detached":
        report.problems.append(f"not a PAdES signature (SubFilter {report.subfilter})")
    # With a document time-stamp after the signature, the AdES long-term validation (past
    # validation with proofs of existence) must pass too. Without one (a B-T/B-LT file)
    # that validation has nothing to work with and reports NO_POE: the checks above judge.
    if archived and "PASSED" not in report.ades_indication.upper() and not report.problems:
        report.problems.append(f"AdES validation: {report.ades_indication} {result.failure_msg or ''}".strip())
    return report


async def _check_timestamp(sig: EmbeddedPdfSignature, vc: ValidationContext) -> SignatureReport:
    report = SignatureReport(field_name=str(sig.field_name), kind="document-timestamp", revision=sig.signed_revision,
                             signer=_subject(sig.signer_cert), signer_sha256=sig.signer_cert.sha256.hex(),
                             subfilter=str(sig.sig_object.get("/SubFilter", "")) or None)
    status = await async_validate_pdf_timestamp(sig, validation_context=vc, diff_policy=DEFAULT_DIFF_POLICY)
    report.intact, report.valid, report.trusted = status.intact, status.valid, status.trusted
    report.signing_time = status.timestamp
    report.coverage = status.coverage.name if status.coverage is not None else None
    level = status.modification_level
    report.modification_level = level.name if level is not None else None
    if not (status.intact and status.valid):
        report.problems.append("document time-stamp does not verify (bytes changed)")
    elif not status.trusted:
        report.problems.append("document time-stamp not trusted")
    if level not in _ACCEPTED_MODIFICATIONS:
        report.problems.append(f"document modified after the time-stamp ({report.modification_level})")
    return report


async def _verify(pdf: bytes, roots: list[asn1_x509.Certificate], crls: list[asn1_crl.CertificateList],
                  require_lta: bool, validation_time: dt.datetime | None) -> Verdict:
    reader = PdfFileReader(BytesIO(pdf), strict=True)
    signatures = list(reader.embedded_regular_signatures)
    timestamps = list(reader.embedded_timestamp_signatures)
    if not signatures:
        return Verdict(ok=False, reason="the PDF has no signature",
                       problems=["the PDF has no signature"])
    verdict = Verdict(ok=False)
    verdict.dss, dss_certs, dss_crls, dss_revision = _read_dss(reader)
    verdict.record = _read_record_facts(reader.get_historical_resolver(signatures[0].signed_revision))

    now = validation_time or dt.datetime.now(dt.UTC)
    timing = ValidationTimingInfo(validation_time=now, best_signature_time=now,
                                  point_in_time_validation=validation_time is not None)
    spec = _spec(roots, crls)
    for sig in signatures:
        archived = any(ts.signed_revision > sig.signed_revision for ts in timestamps)
        verdict.signatures.append(await _check_signature(sig, spec, timing, archived))

    if timestamps:
        vc = ValidationContext(
            trust_roots=roots, other_certs=dss_certs, crls=[*crls, *dss_crls],
            allow_fetching=False, revocation_mode="require", moment=now,
        )
        for ts in timestamps:
            verdict.document_timestamps.append(await _check_timestamp(ts, vc))

    problems = [f"{r.field_name}: {p}" for r in verdict.signatures + verdict.document_timestamps for p in r.problems]
    every = signatures + timestamps
    for sig in every:
        padding = _padding_problem(sig)
        if padding:
            problems.append(f"{sig.field_name}: {padding}")
    last = max(every, key=lambda s: s.signed_revision)
    if _coverage(last) != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append("bytes were appended after the last signature or time-stamp")

    verdict.level = _level(verdict, dss_revision)
    if require_lta and verdict.level != "B-LTA":
        problems.append(f"PAdES level {verdict.level or 'none'} reached, B-LTA required")
    verdict.problems = problems
    verdict.ok = not problems
    verdict.reason = problems[0] if problems else None
    return verdict


def _level(verdict: Verdict, dss_revision: int | None) -> str | None:
    """The baseline level all signatures reach, judged on what validated above."""
    levels = []
    for sig in verdict.signatures:
        if not (sig.intact and sig.valid and sig.subfilter == "/ETSI.CAdES.detached"):
            return None
        level = "B-B"
        if sig.timestamp is not None and sig.timestamp.ok:
            level = "B-T"
            has_revinfo = bool(verdict.dss and (verdict.dss["crls"] or verdict.dss["ocsps"]))
            if has_revinfo and sig.trusted and dss_revision is not None and dss_revision > sig.revision:
                level = "B-LT"
                # the DSS and the time-stamp over it may share a revision (DSS written first)
                if any(ts.ok and ts.revision >= dss_revision for ts in verdict.document_timestamps):
                    level = "B-LTA"
        levels.append(level)
    order = ["B-B", "B-T", "B-LT", "B-LTA"]
    return min(levels, key=order.index) if levels else None


def read_record_facts(pdf: bytes) -> dict[str, Any] | None:
    """The embedded facts (record.json, else the info keys) of a record PDF, without any
    verification: from the revision the first signature covers, or the last revision of an
    unsigned PDF. None if there are none or the bytes are no readable PDF."""
    try:
        reader = PdfFileReader(BytesIO(bytes(pdf)), strict=True)
        signatures = list(reader.embedded_regular_signatures)
        revision = signatures[0].signed_revision if signatures else reader.xrefs.total_revisions - 1
        return _read_record_facts(reader.get_historical_resolver(revision))
    except Exception as exc:  # noqa: BLE001
        log.debug("no record facts: %s", exc)
        return None


async def async_verify_pdf(
    pdf: bytes,
    trust_roots: Sequence[CertLike],
    crls: Sequence[CrlLike] | None = None,
    *,
    require_lta: bool = True,
    validation_time: dt.datetime | None = None,
) -> Verdict:
    """:func:`verify_pdf` for callers that already run an event loop."""
    if not isinstance(pdf, bytes | bytearray | memoryview) or b"%PDF-" not in bytes(pdf[:1024]):
        return Verdict(ok=False, reason="not a PDF", problems=["not a PDF"])
    try:
        roots = [c for value in trust_roots for c in _to_asn1_cert(value)]
        crl_list = [c for value in (crls or ()) for c in _to_asn1_crl(value)]
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"bad trust root or CRL: {exc}") from exc  # the caller's mistake, not the upload's
    if not roots:
        raise ValueError("verify_pdf needs at least one trust root")
    try:
        return await _verify(bytes(pdf), roots, crl_list, require_lta, validation_time)
    except Exception as exc:  # noqa: BLE001 - any failure to parse an upload is a verdict, not a crash
        log.info("PDF verification failed: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
        reason = f"unreadable or damaged signed PDF ({exc.__class__.__name__}: {exc})"[:500]
        return Verdict(ok=False, reason=reason, problems=[reason])


def verify_pdf(
    pdf: bytes,
    trust_roots: Sequence[CertLike],
    crls: Sequence[CrlLike] | None = None,
    *,
    require_lta: bool = True,
    validation_time: dt.datetime | None = None,
) -> Verdict:
    """Verify the signatures of ``pdf`` (untrusted bytes) against ``trust_roots``
    (certificates as asn1crypto or cryptography objects, PEM/DER bytes or file paths), with
    extra ``crls`` besides the ones embedded in the document. ``validation_time`` validates
    as of another moment (e.g. to show that a record stays valid after its certificates
    expire). Never raises on bad input (bad trust roots are the caller's error: ValueError);
    never uses the network. Not for use inside a running event loop: use
    :func:`async_verify_pdf` there."""
    return _sync.run(lambda: async_verify_pdf(pdf, trust_roots, crls, require_lta=require_lta,
                                              validation_time=validation_time))


__all__ = ["SignatureReport", "TimestampReport", "Verdict", "async_verify_pdf", "read_record_facts", "verify_pdf"]
