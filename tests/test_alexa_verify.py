"""Offline tests for skill.alexa_verify with a generated root, intermediate and leaf."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.datastructures import Headers

from skill.alexa_verify import CertificateCache, VerificationError, check_cert_url, verify_request

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
SKILL_ID = "amzn1.ask.skill.test-skill"
GOOD_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem"
WRONG_SAN_URL = "https://s3.amazonaws.com/echo.api/wrong-san.pem"
EXPIRED_URL = "https://s3.amazonaws.com/echo.api/expired.pem"
SHORT_URL = "https://s3.amazonaws.com/echo.api/short-lived.pem"
UNTRUSTED_URL = "https://s3.amazonaws.com/echo.api/untrusted.pem"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn, key, issuer=None, issuer_key=None):
    """A CA certificate; self-signed (a root) unless an issuer is given."""
    issuer_cert_name = issuer.subject if issuer else _name(cn)
    signer = issuer_key or key
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=365))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
        .sign(signer, hashes.SHA256())
    )


def _leaf(key, issuer, issuer_key, san="echo-api.amazon.com", start=None, end=None):
    return (
        x509.CertificateBuilder()
        .subject_name(_name(san))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start or NOW - timedelta(days=30))
        .not_valid_after(end or NOW + timedelta(days=300))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@pytest.fixture(scope="module")
def pki():
    """Root, intermediate and leaves, plus the PEM chain served at each test URL."""
    root_key, inter_key, leaf_key = _key(), _key(), _key()
    root = _ca("Test Root CA", root_key)
    inter = _ca("Test Intermediate CA", inter_key, root, root_key)
    leaf = _leaf(leaf_key, inter, inter_key)
    wrong_san = _leaf(leaf_key, inter, inter_key, san="evil.example.com")
    expired = _leaf(
        leaf_key, inter, inter_key, start=NOW - timedelta(days=60), end=NOW - timedelta(days=1)
    )
    short = _leaf(leaf_key, inter, inter_key, end=NOW + timedelta(hours=1))
    other_root_key, other_inter_key = _key(), _key()
    other_root = _ca("Untrusted Root CA", other_root_key)
    other_inter = _ca("Untrusted Intermediate CA", other_inter_key, other_root, other_root_key)
    untrusted = _leaf(leaf_key, other_inter, other_inter_key)
    served = {
        GOOD_URL: _pem(leaf, inter),
        WRONG_SAN_URL: _pem(wrong_san, inter),
        EXPIRED_URL: _pem(expired, inter),
        SHORT_URL: _pem(short, inter),
        UNTRUSTED_URL: _pem(untrusted, other_inter),
    }
    return {"root": root, "leaf_key": leaf_key, "served": served}


class CountingFetch:
    """Injected fetcher: a dict lookup that counts calls per URL."""

    def __init__(self, served: dict[str, bytes]) -> None:
        self.served = served
        self.calls: dict[str, int] = {}

    def __call__(self, url: str) -> bytes:
        self.calls[url] = self.calls.get(url, 0) + 1
        return self.served[url]


@pytest.fixture
def fetch(pki) -> CountingFetch:
    return CountingFetch(pki["served"])


@pytest.fixture
def certs(pki, fetch) -> CertificateCache:
    return CertificateCache(fetch=fetch, roots=[pki["root"]])


def make_body(timestamp: datetime = NOW, app_id: str = SKILL_ID) -> bytes:
    payload = {
        "version": "1.0",
        "session": {"sessionId": "s-1", "application": {"applicationId": app_id}},
        "context": {"System": {"application": {"applicationId": app_id}}},
        "request": {
            "type": "LaunchRequest",
            "requestId": "r-1",
            "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    return json.dumps(payload).encode()


def signed_headers(pki, body: bytes, url: str = GOOD_URL) -> dict[str, str]:
    sig = pki["leaf_key"].sign(body, padding.PKCS1v15(), hashes.SHA256())
    return {"SignatureCertChainUrl": url, "Signature-256": base64.b64encode(sig).decode()}


def verify(headers, body, certs, now=NOW, skill_id=SKILL_ID):
    return verify_request(headers, body, skill_id=skill_id, now=now, certs=certs)


def test_good_request_passes_and_returns_dict(pki, certs):
    body = make_body()
    result = verify(signed_headers(pki, body), body, certs)
    assert result == json.loads(body)
    assert result["request"]["type"] == "LaunchRequest"


def test_header_lookup_is_case_insensitive(pki, certs):
    body = make_body()
    lowered = {k.lower(): v for k, v in signed_headers(pki, body).items()}
    assert verify(lowered, body, certs)["request"]["requestId"] == "r-1"
    upper = Headers([(k.upper(), v) for k, v in signed_headers(pki, body).items()])
    assert verify(upper, body, certs)["request"]["requestId"] == "r-1"


def test_certificate_fetched_once_for_two_requests(pki, certs, fetch):
    for _ in range(2):
        body = make_body()
        verify(signed_headers(pki, body), body, certs)
    assert fetch.calls == {GOOD_URL: 1}


def test_tampered_body_fails(pki, certs):
    body = make_body()
    headers = signed_headers(pki, body)
    tampered = body.replace(b"LaunchRequest", b"IntentRequest")
    with pytest.raises(VerificationError, match="signature"):
        verify(headers, tampered, certs)


def test_missing_signature_header_fails(pki, certs):
    body = make_body()
    headers = signed_headers(pki, body)
    del headers["Signature-256"]
    with pytest.raises(VerificationError, match="Signature-256"):
        verify(headers, body, certs)


def test_wrong_san_leaf_fails(pki, certs):
    body = make_body()
    with pytest.raises(VerificationError, match="did not verify"):
        verify(signed_headers(pki, body, WRONG_SAN_URL), body, certs)


def test_expired_leaf_fails(pki, certs):
    body = make_body()
    with pytest.raises(VerificationError, match="did not verify"):
        verify(signed_headers(pki, body, EXPIRED_URL), body, certs)


def test_cached_leaf_fails_once_expired(pki, certs, fetch):
    assert certs.leaf_for(SHORT_URL, NOW) is not None
    with pytest.raises(VerificationError, match="validity"):
        certs.leaf_for(SHORT_URL, NOW + timedelta(hours=2))
    assert fetch.calls == {SHORT_URL: 1}


def test_leaf_from_untrusted_root_fails(pki, certs):
    body = make_body()
    with pytest.raises(VerificationError, match="did not verify"):
        verify(signed_headers(pki, body, UNTRUSTED_URL), body, certs)


@pytest.mark.parametrize(
    "url",
    [
        "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "https://notamazon.com/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/../x",
        "https://s3.amazonaws.com:8443/echo.api/echo-api-cert.pem",
    ],
)
def test_bad_cert_urls_fail(pki, certs, fetch, url):
    with pytest.raises(VerificationError, match="certificate URL"):
        check_cert_url(url)
    body = make_body()
    with pytest.raises(VerificationError, match="certificate URL"):
        verify(signed_headers(pki, body, url), body, certs)
    assert fetch.calls == {}  # rejected before any download


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "HTTPS://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
    ],
)
def test_good_cert_urls_pass(url):
    assert check_cert_url(url) is None


@pytest.mark.parametrize("offset_s", [-200, 200])
def test_timestamp_too_far_from_now_fails(pki, certs, offset_s):
    body = make_body(timestamp=NOW + timedelta(seconds=offset_s))
    with pytest.raises(VerificationError, match="timestamp"):
        verify(signed_headers(pki, body), body, certs)


def test_wrong_skill_id_fails(pki, certs):
    body = make_body(app_id="amzn1.ask.skill.someone-else")
    with pytest.raises(VerificationError, match="applicationId"):
        verify(signed_headers(pki, body), body, certs)


def test_without_certs_signature_not_needed_but_other_checks_apply():
    body = make_body()
    assert verify({}, body, None)["request"]["requestId"] == "r-1"
    with pytest.raises(VerificationError, match="applicationId"):
        verify({}, make_body(app_id="amzn1.ask.skill.someone-else"), None)
    with pytest.raises(VerificationError, match="timestamp"):
        verify({}, make_body(timestamp=NOW - timedelta(seconds=200)), None)


def test_bad_json_fails():
    with pytest.raises(VerificationError, match="JSON"):
        verify({}, b"{not json", None)
