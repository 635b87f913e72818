"""The local PKI of the embedded default and the signing configuration."""
from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from reports import pki as pki_module
from reports.pki import DOCUMENT_SIGNING_EKU, Pki, SigningConfig, ensure_pki

FILES = ("ca.pem", "ca.key.pem", "signer.pem", "signer.key.pem", "tsa.pem", "tsa.key.pem", "crl.pem")


def test_creates_every_file_with_private_keys_0600(pki: Pki) -> None:
    for name in FILES:
        assert (pki.directory / name).is_file(), name
    for key in (pki.ca_key_path, pki.signer_key_path, pki.tsa_key_path):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert stat.S_IMODE(pki.directory.stat().st_mode) == 0o700


def test_is_idempotent(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path / "pki")
    before = {name: (first.directory / name).read_bytes() for name in FILES}
    second = ensure_pki(tmp_path / "pki")
    assert {name: (second.directory / name).read_bytes() for name in FILES} == before
    assert second.ca_cert == first.ca_cert and second.signer_cert == first.signer_cert


def test_certificates_are_fit_for_pades(pki: Pki) -> None:
    ca, signer, tsa = pki.ca_cert, pki.signer_cert, pki.tsa_cert
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign

    for leaf in (signer, tsa):
        assert leaf.issuer == ca.subject
        leaf.verify_directly_issued_by(ca)
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment

    signer_eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING_EKU in signer_eku
    # RFC 3161 2.3: exactly the timeStamping purpose, and critical
    tsa_eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert tsa_eku.critical and list(tsa_eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert "新能源审批平台 Demo" in signer.subject.rfc4514_string()


def test_crl_is_signed_by_the_ca_and_valid_for_a_year(pki: Pki) -> None:
    crl = pki.crl
    assert crl.issuer == pki.ca_cert.subject
    assert crl.is_signature_valid(pki.ca_cert.public_key())  # type: ignore[arg-type]
    assert len(list(crl)) == 0
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=360)


def test_expiring_crl_is_reissued_with_the_next_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ensure_pki(tmp_path / "pki")
    number = first.crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    # Pretend eleven months and a half went by.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=350)
    monkeypatch.setattr(pki_module, "_now", lambda: later.replace(microsecond=0))
    second = ensure_pki(tmp_path / "pki")
    assert second.crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number + 1
    assert second.crl.next_update_utc is not None and second.crl.next_update_utc > later + dt.timedelta(days=300)
    assert second.ca_cert == first.ca_cert  # the root is never rotated behind the auditors' backs


def test_expiring_leaf_is_reissued_under_the_same_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ensure_pki(tmp_path / "pki")
    later = first.signer_cert.not_valid_after_utc - dt.timedelta(days=5)
    monkeypatch.setattr(pki_module, "_now", lambda: later)
    second = ensure_pki(tmp_path / "pki")
    assert second.signer_cert.serial_number != first.signer_cert.serial_number
    assert second.signer_cert.not_valid_after_utc > first.signer_cert.not_valid_after_utc
    assert second.ca_cert == first.ca_cert


def test_keys_load_lazily_and_match_their_certificates(pki: Pki) -> None:
    for key, cert in ((pki.signer_key, pki.signer_cert), (pki.tsa_key, pki.tsa_cert), (pki.ca_key, pki.ca_cert)):
        assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    assert "PRIVATE" not in repr(pki)
    assert pki.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert x509.load_pem_x509_certificate(pki.ca_pem).fingerprint(hashes.SHA256()) == \
        pki.ca_cert.fingerprint(hashes.SHA256())


def test_signing_config_from_pki_and_env(pki: Pki, tmp_path: Path) -> None:
    embedded = SigningConfig.from_pki(pki)
    assert embedded.tsa_cert == pki.tsa_cert_path and embedded.tsa_url is None
    assert embedded.crls == (pki.crl_path,)

    default = SigningConfig.from_env({"SIGNING_PKI_DIR": str(pki.directory)}, tmp_path)
    assert default == embedded

    production = SigningConfig.from_env({
        "SIGNING_CERT": "/etc/approvals/signer.pem", "SIGNING_KEY": "/etc/approvals/signer.key",
        "SIGNING_KEY_PASSWORD": "s3cret", "SIGNING_TRUST_ROOTS": "/etc/approvals/root.pem:/etc/approvals/root2.pem",
        "SIGNING_CHAIN": "/etc/approvals/intermediate.pem", "SIGNING_TSA_URL": "http://tsa.example.cn/tsr",
        "SIGNING_ALLOW_FETCHING": "1", "SIGNING_LOCATION": "合肥",
    }, tmp_path)
    assert production.tsa_url == "http://tsa.example.cn/tsr" and production.tsa_cert is None
    assert production.trust_roots == (Path("/etc/approvals/root.pem"), Path("/etc/approvals/root2.pem"))
    assert production.allow_fetching and production.key_password == b"s3cret"
    assert "s3cret" not in repr(production)
    assert not (tmp_path / "pki").exists()  # production configuration creates no local PKI


@pytest.mark.parametrize("kwargs", [
    {},  # no signer
    {"signer_cert": Path("c"), "signer_key": Path("k"), "trust_roots": (Path("r"),)},  # no TSA
    {"signer_cert": Path("c"), "signer_key": Path("k"), "trust_roots": (Path("r"),),
     "tsa_url": "http://tsa", "tsa_cert": Path("t"), "tsa_key": Path("tk")},  # two TSAs
    {"signer_cert": Path("c"), "signer_key": Path("k"), "tsa_url": "http://tsa"},  # no trust root
])
def test_signing_config_rejects_incomplete_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SigningConfig(**kwargs)  # type: ignore[arg-type]
