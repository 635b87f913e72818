"""PAdES baseline B-LTA signatures with pyHanko.

What B-LTA means here, step by step (as incremental updates, so earlier bytes never change):
1. the signature (SubFilter ETSI.CAdES.detached) with the signer certificate and its chain,
   carrying an RFC 3161 signature time-stamp (B-T);
2. a document security store (DSS) with every certificate on the signer's and the TSA's
   paths and the CRLs (B-LT: validates offline, without asking the CA anything);
3. a document time-stamp over all of that (B-LTA: proves the validation material existed
   while it was valid, so the record still validates after the certificates expire).
2 and 3 share one incremental update, so the last time-stamp covers every byte of the file.

Nothing here touches the network unless the configuration says so (``tsa_url``, or
``allow_fetching`` for CRL/OCSP of a public CA).
"""
from __future__ import annotations

import datetime
import functools
import logging
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import algos, cms, core, keys, pem, tsp, x509
from asn1crypto import crl as asn1_crl
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, general, signers
from pyhanko.sign.general import SigningError, simple_cms_attribute
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    SigDSSPlacementPreference,
    TimestampDSSContentSettings,
)
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from reports import _sync
from reports.pki import SigningConfig

log = logging.getLogger(__name__)


class _OfflineNoticeFilter(logging.Filter):
    """pyHanko warns on every signature that revocation information is embedded while
    fetching is off. Offline is this module's design (the CRLs come from the configuration),
    so that line is noise in the worker's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineNoticeFilter())

SIGNATURE_FIELD = "RecordSignature"
TIMESTAMP_FIELD = "RecordArchiveTimestamp"

# A TSA policy OID of our own under the UUID arc (ITU-T X.667, 2.25.<uuid>): needs no
# registration, and marks tokens from the in-process TSA as ours rather than borrowing
# someone else's policy.
LOCAL_TSA_POLICY = "2.25.248691929200402662800408479771511214405"


@functools.lru_cache(maxsize=16)
def _load_key(path: str, mtime_ns: int, password: bytes | None) -> PrivateKeyTypes:
    """Parse a private key once per process. cryptography checks an RSA key on every load
    (~130 ms for 3072 bits), and pyHanko re-parses its key for every raw signature, which
    made a B-LTA signature (5 RSA operations) cost over a second. ``mtime_ns`` is part of the
    cache key so a renewed key file is picked up."""
    data = Path(path).read_bytes()
    if pem.detect(data):
        return serialization.load_pem_private_key(data, password)
    return serialization.load_der_private_key(data, password)


def load_private_key(path: Path, password: bytes | None = None) -> PrivateKeyTypes:
    return _load_key(str(path), path.stat().st_mtime_ns, password)


@functools.lru_cache(maxsize=4)
def _load_p12(path: str, mtime_ns: int, password: bytes | None) -> pkcs12.PKCS12KeyAndCertificates:
    return pkcs12.load_pkcs12(Path(path).read_bytes(), password)


def _sign_with(key: PrivateKeyTypes, data: bytes, mechanism: algos.SignedDigestAlgorithm,
               digest_algorithm: str) -> bytes | None:
    """Raw signature with an already parsed key, for the mechanisms we use; None means
    "let pyHanko do it"."""
    algo = mechanism["algorithm"].native
    if algo.endswith("_rsa") or algo == "rsassa_pkcs1v15":
        if isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
    elif algo == "rsassa_pss":
        if isinstance(key, RSAPrivateKey):
            padding, hash_algo = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algo)
    elif algo.endswith("_ecdsa") or algo == "ecdsa":
        if isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
    return None


class CachedKeySigner(signers.SimpleSigner):
    """SimpleSigner that signs with a key parsed once (see :func:`_load_key`)."""

    def __init__(self, *, pyca_key: PrivateKeyTypes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pyca_key = pyca_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        signature = _sign_with(self._pyca_key, data, mechanism, digest_algorithm)
        return signature if signature is not None else super().sign_raw(data, digest_algorithm)


class LocalTimeStamper(DummyTimeStamper):
    """pyHanko's in-process TSA, signing with our TSA key and certificate.

    pyHanko ships it for tests, but it produces a standard RFC 3161 token from a real TSA
    certificate that chains to our CA, which is all that validators look at; it only has to
    be trusted as much as the machine that holds the TSA key, which for the embedded default
    is the same machine that holds the signing key anyway. Two changes: a policy OID of our
    own, and the key parsed once instead of per token.
    """

    def __init__(self, tsa_cert: x509.Certificate, tsa_key: RSAPrivateKey,
                 certs_to_embed: list[x509.Certificate]) -> None:
        info = keys.PrivateKeyInfo.load(tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        super().__init__(tsa_cert=tsa_cert, tsa_key=info, certs_to_embed=certs_to_embed)  # type: ignore[arg-type]
        self._pyca_key = tsa_key

    def _build_tst_info(self, message_imprint: tsp.MessageImprint, dt: datetime.datetime,
                        req: tsp.TimeStampReq) -> tsp.TSTInfo:
        info = super()._build_tst_info(message_imprint, dt, req)
        info["policy"] = tsp.ObjectIdentifier(LOCAL_TSA_POLICY)
        return info

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str,
                       dt: datetime.datetime) -> tuple[bytes, cms.CMSAttributes]:
        md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        md.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", md.finalize()),
        ])
        signature = self._pyca_key.sign(signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm))
        return signature, signed_attrs


def load_crls(paths: tuple[Path, ...] | list[Path]) -> list[asn1_crl.CertificateList]:
    """CRLs from PEM or DER files (one or several per file)."""
    out: list[asn1_crl.CertificateList] = []
    for path in paths:
        data = Path(path).read_bytes()
        if pem.detect(data):
            out.extend(asn1_crl.CertificateList.load(der) for _, _, der in pem.unarmor(data, multiple=True))
        else:
            out.append(asn1_crl.CertificateList.load(data))
    return out


def load_certs(paths: tuple[Path, ...] | list[Path]) -> list[x509.Certificate]:
    return list(load_certs_from_pemder([str(p) for p in paths]))


def _asn1_key(key: PrivateKeyTypes) -> keys.PrivateKeyInfo:
    return keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _signer(config: SigningConfig) -> CachedKeySigner:
    chain = load_certs(config.chain)
    if config.pkcs12 is not None:
        p12 = _load_p12(str(config.pkcs12), config.pkcs12.stat().st_mtime_ns, config.key_password)
        if p12.key is None or p12.cert is None:
            raise ValueError(f"{config.pkcs12}: no key and certificate in the PKCS#12 file")
        key: PrivateKeyTypes = p12.key
        cert = translate_pyca_cryptography_cert_to_asn1(p12.cert.certificate)
        chain += [translate_pyca_cryptography_cert_to_asn1(c.certificate) for c in p12.additional_certs]
    else:
        assert config.signer_key is not None and config.signer_cert is not None  # SigningConfig checks
        key = load_private_key(config.signer_key, config.key_password)
        cert = load_cert_from_pemder(str(config.signer_cert))
    registry = SimpleCertificateStore()
    registry.register_multiple(chain)
    return CachedKeySigner(pyca_key=key, signing_cert=cert, signing_key=_asn1_key(key), cert_registry=registry)


def _timestamper(config: SigningConfig, chain: list[x509.Certificate]) -> TimeStamper:
    if config.tsa_url:
        auth = (config.tsa_username, config.tsa_password or "") if config.tsa_username else None
        return HTTPTimeStamper(config.tsa_url, timeout=30, auth=auth)
    assert config.tsa_cert is not None and config.tsa_key is not None  # SigningConfig checks this
    tsa_key = load_private_key(config.tsa_key)
    if not isinstance(tsa_key, RSAPrivateKey):
        raise ValueError("the local TSA key must be RSA")
    return LocalTimeStamper(load_cert_from_pemder(str(config.tsa_cert)), tsa_key, chain)


def validation_context(config: SigningConfig) -> ValidationContext:
    """What the signer checks its own certificates against before signing, and the source of
    the validation material that goes into the DSS."""
    return ValidationContext(
        trust_roots=load_certs(config.trust_roots),
        other_certs=load_certs(config.chain),
        crls=load_crls(config.crls),
        allow_fetching=config.allow_fetching,
        # The CRL must be there and cover every certificate, otherwise the record would not
        # validate offline later: fail now rather than sign something that won't verify.
        revocation_mode="require",
    )


def sign_pdf(pdf: bytes, config: SigningConfig) -> bytes:
    """Sign ``pdf`` PAdES B-LTA and return the signed bytes: the input plus two incremental
    updates, (1) the signature with its signature time-stamp, (2) the DSS and the document
    time-stamp over everything."""
    # pyHanko's synchronous API runs its own event loop: keep that possible under a running one.
    return _sync.call(_sign_pdf, pdf, config)


def _sign_pdf(pdf: bytes, config: SigningConfig) -> bytes:
    signer = _signer(config)
    vc = validation_context(config)
    chain = load_certs(config.chain)
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=config.reason,
        location=config.location,
        embed_validation_info=True,
        use_pades_lta=True,
        timestamp_field_name=TIMESTAMP_FIELD,
        validation_context=vc,
        # PAdES/CAdES signers: non-repudiation (content commitment) is what marks a key as
        # one that commits its holder to a document.
        signer_key_usage={"non_repudiation"},
        # All validation material goes into the DSS *before* the document time-stamp, in the
        # time-stamp's revision, so that the time-stamp covers the entire file: a change to
        # any byte then breaks a signature. (pyHanko's default adds one more DSS update after
        # the time-stamp, which no signature covers.) VRI entries are off: deprecated in
        # PAdES baseline, and they would force that trailing update.
        dss_settings=DSSContentSettings(
            include_vri=False,
            placement=SigDSSPlacementPreference.TOGETHER_WITH_NEXT_TS,
            next_ts_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
        ),
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=True)
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=_timestamper(config, chain))
    try:
        out = pdf_signer.sign_pdf(writer, in_place=False)
    except SigningError as exc:
        raise SigningError(
            f"{exc} (the signer and TSA certificates must chain to the trust roots, and B-LT needs "
            "current revocation information for them: SIGNING_CRLS, or SIGNING_ALLOW_FETCHING=1)"
        ) from exc
    return out.getvalue()


def extend_lta(pdf: bytes, config: SigningConfig) -> bytes:
    """Renew the archive time-stamp of a signed record: a DSS update with fresh revocation
    information for the last document time-stamp, and a new document time-stamp over all
    of it (PAdES-LTA "augmentation").

    Offline validation of a record needs revocation information that is current at
    validation time for the *last* time-stamp only. Run this (e.g. a yearly worker job)
    before the CRL in the record (1 year) or the TSA certificate expires, and a record stays
    verifiable from the file and the root certificate alone, indefinitely. Without it, a
    verifier can still pass the current CRL to :func:`reports.verify.verify_pdf`.
    """
    return _sync.run(lambda: _extend_lta(pdf, config))


async def _extend_lta(pdf: bytes, config: SigningConfig) -> bytes:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp

    reader = PdfFileReader(BytesIO(pdf), strict=True)
    timestamps = reader.embedded_timestamp_signatures
    if not timestamps:
        raise ValueError("not a B-LTA record: no document time-stamp to extend")
    vc = validation_context(config)
    last = timestamps[-1]
    status = await async_validate_pdf_timestamp(last, validation_context=vc)
    if not (status.intact and status.valid and status.trusted) or status.validation_path is None:
        raise ValueError("the last document time-stamp does not validate; refusing to extend it")

    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=True)
    # Revocation information for the previous time-stamp, then (update_before_ts) for the new
    # one, both in the revision that the new time-stamp covers: no trailing unsigned update.
    DocumentSecurityStore.supply_dss_in_writer(
        writer, sig_contents=None, paths=(status.validation_path,), validation_context=vc)
    chain = load_certs(config.chain)
    stamper = signers.PdfTimeStamper(_timestamper(config, chain),
                                     field_name=f"{TIMESTAMP_FIELD}{len(timestamps) + 1}")
    output = BytesIO()
    await stamper.async_timestamp_pdf(
        writer, "sha256", validation_context=vc, output=output,
        dss_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
    )
    return output.getvalue()
