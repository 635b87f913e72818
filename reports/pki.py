"""Keys and certificates for signing records: a local PKI for the embedded default, and the
configuration object that points at a real one in production.

Embedded default
----------------
``ensure_pki(instance_dir / "pki")`` creates, once, under that directory (PEM files; private
keys mode 0600, the directory 0700):

``ca.pem`` / ``ca.key.pem``
    a self-signed root CA. ``ca.pem`` is the trust root auditors import
    (``GET /api/v1/records/ca.pem``). It is never rotated automatically: replacing it would
    make every record signed so far untrusted for whoever imported the old one.
``signer.pem`` / ``signer.key.pem``
    the organisation's document-signing certificate (key usage digitalSignature +
    nonRepudiation, extended key usage id-kp-documentSigning (RFC 9336) and
    emailProtection, which NSS-based validators such as poppler's ``pdfsig`` require for
    PDF signers).
``tsa.pem`` / ``tsa.key.pem``
    an RFC 3161 time-stamping unit certificate (extended key usage timeStamping, critical,
    as RFC 3161 section 2.3 demands), valid 10 years (the signer's: 3). The embedded
    default time-stamps in process with it.
``crl.pem``
    an empty CRL from the CA, valid for a year. PAdES B-LT/LTA needs revocation
    information for every certificate on the paths, embedded in the document security store,
    so that a record validates offline. Re-issued when it is about to expire.

The leaf certificates are re-issued (new keys) when they near expiry; records signed earlier
stay valid because their LTA document time-stamp proves they existed while the old
certificates were valid.

Production (read by :meth:`SigningConfig.from_env`)
----------------------------------------------------
``SIGNING_CERT``             signer certificate (PEM/DER). Setting it switches off the local PKI.
``SIGNING_KEY``              signer private key (PEM/DER)              } one of these two
``SIGNING_PKCS12``           signer key + certificate as .p12/.pfx      } (PKCS#12 wins)
``SIGNING_KEY_PASSWORD``     passphrase of the key or of the PKCS#12 file
``SIGNING_CHAIN``            intermediate CA certificates, paths separated by ``os.pathsep``
``SIGNING_TRUST_ROOTS``      root certificates that validate signer and TSA (``os.pathsep`` list);
                             the first one is what ``/api/v1/records/ca.pem`` publishes
``SIGNING_CRLS``             CRL files to embed (``os.pathsep`` list), e.g. refreshed by cron
``SIGNING_ALLOW_FETCHING``   ``1`` lets pyHanko fetch CRLs/OCSP responses at signing time
                             (needed by most public CAs; off by default: no network)
``SIGNING_TSA_URL``          RFC 3161 time-stamp server URL (required in production)
``SIGNING_TSA_USERNAME``     } HTTP basic authentication for the TSA, if it wants it
``SIGNING_TSA_PASSWORD``     }
``SIGNING_REASON``           /Reason of the signature (default: approval record)
``SIGNING_LOCATION``         /Location of the signature (optional)

Embedded default knobs: ``SIGNING_PKI_DIR`` (default ``<INSTANCE_DIR>/pki``) and
``SIGNING_ORG_NAME`` (the organisation name in the generated certificates).
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_ORG_NAME = "新能源审批平台 Demo"
DEFAULT_REASON = "审批记录签章 / Approval record"

# RFC 9336 id-kp-documentSigning; cryptography has no constant for it yet.
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

# 3072-bit RSA: good past 2030 (NIST SP 800-57) and the only key type pyHanko's in-process
# time-stamper signs with. Generated once, so the ~0.5 s per key does not matter.
_KEY_BITS = 3072
_CA_DAYS = 20 * 365
_LEAF_DAYS = 3 * 365
# The TSA certificate outlives the signer's: the last document time-stamp of a record must be
# validatable whenever someone checks it (or renewed with reports.sign.extend_lta first).
_TSA_DAYS = 10 * 365
_CRL_DAYS = 365
# Re-issue leaves and the CRL this long before they lapse, so that a record is never signed
# with material that expires minutes later.
_RENEW_BEFORE = dt.timedelta(days=30)

CA_CERT = "ca.pem"
CA_KEY = "ca.key.pem"
SIGNER_CERT = "signer.pem"
SIGNER_KEY = "signer.key.pem"
TSA_CERT = "tsa.pem"
TSA_KEY = "tsa.key.pem"
CRL = "crl.pem"


@dataclass(frozen=True)
class Pki:
    """The local PKI on disk and loaded. Keys are kept out of ``repr``."""

    directory: Path
    ca_cert_path: Path
    ca_key_path: Path
    signer_cert_path: Path
    signer_key_path: Path
    tsa_cert_path: Path
    tsa_key_path: Path
    crl_path: Path
    ca_cert: x509.Certificate
    signer_cert: x509.Certificate
    tsa_cert: x509.Certificate
    crl: x509.CertificateRevocationList

    # Private keys load on first use only: parsing (and checking) a 3072-bit RSA key costs
    # ~130 ms, and most callers (publishing ca.pem, building a SigningConfig) need none.
    @functools.cached_property
    def ca_key(self) -> rsa.RSAPrivateKey:
        return _load_key(self.ca_key_path)

    @functools.cached_property
    def signer_key(self) -> rsa.RSAPrivateKey:
        return _load_key(self.signer_key_path)

    @functools.cached_property
    def tsa_key(self) -> rsa.RSAPrivateKey:
        return _load_key(self.tsa_key_path)

    @property
    def ca_pem(self) -> bytes:
        """The trust root as published to auditors."""
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)

    @property
    def crl_pem(self) -> bytes:
        """The current CRL, worth publishing beside ca.pem: with it a record still verifies
        offline after the CRL embedded in it has expired."""
        return self.crl.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class SigningConfig:
    """Everything :func:`reports.sign.sign_pdf` needs. Paths, not objects, so that it can be
    built from environment variables and passed to a Celery worker as is.

    Exactly one time-stamp source: ``tsa_url`` (production) or ``tsa_cert`` + ``tsa_key``
    (the in-process TSA of the embedded default).
    """

    signer_cert: Path | None = None
    signer_key: Path | None = None
    pkcs12: Path | None = None
    key_password: bytes | None = field(default=None, repr=False)
    chain: tuple[Path, ...] = ()
    trust_roots: tuple[Path, ...] = ()
    crls: tuple[Path, ...] = ()
    allow_fetching: bool = False
    tsa_url: str | None = None
    tsa_username: str | None = None
    tsa_password: str | None = field(default=None, repr=False)
    tsa_cert: Path | None = None
    tsa_key: Path | None = None
    reason: str = DEFAULT_REASON
    location: str | None = None

    def __post_init__(self) -> None:
        if self.pkcs12 is None and (self.signer_cert is None or self.signer_key is None):
            raise ValueError("SigningConfig needs signer_cert + signer_key, or pkcs12")
        local_tsa = self.tsa_cert is not None or self.tsa_key is not None
        if bool(self.tsa_url) == local_tsa:
            raise ValueError("SigningConfig needs exactly one of tsa_url or tsa_cert + tsa_key")
        if local_tsa and (self.tsa_cert is None or self.tsa_key is None):
            raise ValueError("the local TSA needs both tsa_cert and tsa_key")
        if not self.trust_roots:
            raise ValueError("SigningConfig needs at least one trust root")

    @classmethod
    def from_pki(cls, pki: Pki, *, reason: str = DEFAULT_REASON, location: str | None = None) -> SigningConfig:
        return cls(
            signer_cert=pki.signer_cert_path, signer_key=pki.signer_key_path,
            trust_roots=(pki.ca_cert_path,), crls=(pki.crl_path,),
            tsa_cert=pki.tsa_cert_path, tsa_key=pki.tsa_key_path,
            reason=reason, location=location,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str], instance_dir: Path) -> SigningConfig:
        """Production when ``SIGNING_CERT`` or ``SIGNING_PKCS12`` is set, else the local PKI
        (created on first use). See the module docstring for the variables."""
        reason = env.get("SIGNING_REASON") or DEFAULT_REASON
        location = env.get("SIGNING_LOCATION") or None
        if not (env.get("SIGNING_CERT") or env.get("SIGNING_PKCS12")):
            pki_dir = Path(env.get("SIGNING_PKI_DIR") or instance_dir / "pki")
            pki = ensure_pki(pki_dir, env.get("SIGNING_ORG_NAME") or DEFAULT_ORG_NAME)
            return cls.from_pki(pki, reason=reason, location=location)

        def paths(name: str) -> tuple[Path, ...]:
            return tuple(Path(p) for p in (env.get(name) or "").split(os.pathsep) if p)

        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        password = env.get("SIGNING_KEY_PASSWORD")
        return cls(
            signer_cert=path("SIGNING_CERT"), signer_key=path("SIGNING_KEY"),
            pkcs12=path("SIGNING_PKCS12"),
            key_password=password.encode() if password else None,
            chain=paths("SIGNING_CHAIN"), trust_roots=paths("SIGNING_TRUST_ROOTS"),
            crls=paths("SIGNING_CRLS"),
            allow_fetching=(env.get("SIGNING_ALLOW_FETCHING", "").lower() in {"1", "true", "yes", "on"}),
            tsa_url=env.get("SIGNING_TSA_URL") or None,
            tsa_username=env.get("SIGNING_TSA_USERNAME") or None,
            tsa_password=env.get("SIGNING_TSA_PASSWORD") or None,
            reason=reason, location=location,
        )


# --- generation ----------------------------------------------------------------------------

def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(org_name: str, common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def _key_usage(*, digital_signature: bool = False, non_repudiation: bool = False,
               cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=non_repudiation,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )


def _make_ca(org_name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    name = _name(org_name, f"{org_name} Root CA")
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(
    ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, org_name: str, common_name: str,
    eku: list[x509.ObjectIdentifier], eku_critical: bool, days: int,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    now = _now()
    # A leaf must not outlive its issuer: validators reject such paths.
    not_after = min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(org_name, common_name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, non_repudiation=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=eku_critical)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _make_crl(ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, number: int) -> x509.CertificateRevocationList:
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=_CRL_DAYS))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


# --- files ---------------------------------------------------------------------------------

def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Atomic replace, so a reader in another process never sees half a file; keys are
    created 0600 from the start (no window in which they are world-readable)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: expected an RSA key")
    return key


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Several web and worker processes may start at once: only one generates."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no concurrent start-up to guard
        yield
        return
    with open(directory / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _needs_renewal(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    return (cert.not_valid_after_utc - _now() < _RENEW_BEFORE
            or cert.issuer != ca_cert.subject)


def ensure_pki(directory: Path, org_name: str = DEFAULT_ORG_NAME) -> Pki:
    """Create the local PKI under ``directory`` if it is not there, renew what is about to
    expire, and return it loaded. Idempotent and safe to call from concurrent processes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    p = {name: directory / name for name in (CA_CERT, CA_KEY, SIGNER_CERT, SIGNER_KEY, TSA_CERT, TSA_KEY, CRL)}
    with _locked(directory):
        if p[CA_CERT].exists() and p[CA_KEY].exists():
            ca_cert = _load_cert(p[CA_CERT])
            ca_key: rsa.RSAPrivateKey | None = None  # loaded only if something must be issued
        else:
            ca_key, ca_cert = _make_ca(org_name)
            _write(p[CA_KEY], _key_pem(ca_key), private=True)
            _write(p[CA_CERT], _cert_pem(ca_cert))
            # A new root invalidates everything it did not issue.
            for stale in (SIGNER_CERT, TSA_CERT, CRL):
                p[stale].unlink(missing_ok=True)

        def issuer_key() -> rsa.RSAPrivateKey:
            nonlocal ca_key
            if ca_key is None:
                ca_key = _load_key(p[CA_KEY])
            return ca_key

        leaves = {
            SIGNER_CERT: (SIGNER_KEY, f"{org_name} 文件签章 Document Signing",
                          [DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION], False, _LEAF_DAYS),
            TSA_CERT: (TSA_KEY, f"{org_name} 时间戳 TSA", [ExtendedKeyUsageOID.TIME_STAMPING], True, _TSA_DAYS),
        }
        for cert_name, (key_name, cn, eku, critical, days) in leaves.items():
            if (p[cert_name].exists() and p[key_name].exists()
                    and not _needs_renewal(_load_cert(p[cert_name]), ca_cert)):
                continue
            key, cert = _make_leaf(issuer_key(), ca_cert, org_name, cn, eku, critical, days)
            _write(p[key_name], _key_pem(key), private=True)
            _write(p[cert_name], _cert_pem(cert))

        crl = x509.load_pem_x509_crl(p[CRL].read_bytes()) if p[CRL].exists() else None
        next_update = crl.next_update_utc if crl is not None else None
        if crl is None or next_update is None or next_update - _now() < _RENEW_BEFORE:
            number = 1
            if crl is not None:
                try:
                    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
                except x509.ExtensionNotFound:
                    pass
            crl = _make_crl(issuer_key(), ca_cert, number)
            _write(p[CRL], crl.public_bytes(serialization.Encoding.PEM))
        for name in (CA_KEY, SIGNER_KEY, TSA_KEY):
            if p[name].stat().st_mode & 0o077:
                p[name].chmod(0o600)  # repair a key copied in with a looser mode

        return Pki(
            directory=directory,
            ca_cert_path=p[CA_CERT], ca_key_path=p[CA_KEY],
            signer_cert_path=p[SIGNER_CERT], signer_key_path=p[SIGNER_KEY],
            tsa_cert_path=p[TSA_CERT], tsa_key_path=p[TSA_KEY], crl_path=p[CRL],
            ca_cert=ca_cert, signer_cert=_load_cert(p[SIGNER_CERT]), tsa_cert=_load_cert(p[TSA_CERT]),
            crl=crl,
        )
