"""A test PKI for Alexa request signing: a root, an intermediate and leaves made on the spot,
the PEM chains an injected fetcher serves at Amazon-like URLs, and request signing."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

GOOD_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem"
WRONG_SAN_URL = "https://s3.amazonaws.com/echo.api/wrong-san.pem"
EXPIRED_URL = "https://s3.amazonaws.com/echo.api/expired.pem"
SHORT_URL = "https://s3.amazonaws.com/echo.api/short-lived.pem"
UNTRUSTED_URL = "https://s3.amazonaws.com/echo.api/untrusted.pem"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(now, cn, key, issuer=None, issuer_key=None):
    """A CA certificate; self-signed (a root) unless an issuer is given."""
    issuer_cert_name = issuer.subject if issuer else _name(cn)
    signer = issuer_key or key
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(days=3650))
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


def _leaf(now, key, issuer, issuer_key, san="echo-api.amazon.com", start=None, end=None):
    return (
        x509.CertificateBuilder()
        .subject_name(_name(san))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start or now - timedelta(days=30))
        .not_valid_after(end or now + timedelta(days=300))
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


def make_pki(now: datetime) -> dict:
    """Root, intermediate and leaves, plus the PEM chain served at each test URL."""
    root_key, inter_key, leaf_key = _key(), _key(), _key()
    root = _ca(now, "Test Root CA", root_key)
    inter = _ca(now, "Test Intermediate CA", inter_key, root, root_key)
    leaf = _leaf(now, leaf_key, inter, inter_key)
    wrong_san = _leaf(now, leaf_key, inter, inter_key, san="evil.example.com")
    expired = _leaf(
        now, leaf_key, inter, inter_key, start=now - timedelta(days=60), end=now - timedelta(days=1)
    )
    short = _leaf(now, leaf_key, inter, inter_key, end=now + timedelta(hours=1))
    other_root_key, other_inter_key = _key(), _key()
    other_root = _ca(now, "Untrusted Root CA", other_root_key)
    other_inter = _ca(now, "Untrusted Intermediate CA", other_inter_key, other_root, other_root_key)
    untrusted = _leaf(now, leaf_key, other_inter, other_inter_key)
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


def signed_headers(pki, body: bytes, url: str = GOOD_URL) -> dict[str, str]:
    """The headers Alexa sends: the chain URL and the body signed with the leaf's key."""
    sig = pki["leaf_key"].sign(body, padding.PKCS1v15(), hashes.SHA256())
    return {"SignatureCertChainUrl": url, "Signature-256": base64.b64encode(sig).decode()}
