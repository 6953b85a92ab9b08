"""Verification of Alexa skill requests: certificate URL, certificate chain, body signature,
timestamp and application id, as Amazon requires of skills hosted as a web service; the HTTP
layer answers 400 when `verify_request` raises `VerificationError`.

The cheap checks come first (headers, the certificate URL's form, the JSON's depth, timestamp,
skill id), so a stale or foreign request never makes us fetch a certificate; the cache is keyed
by the URL in its one normal form and holds a bounded number of chains."""

from __future__ import annotations

import base64
import json
import posixpath
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509 import verification

ALEXA_SAN = "echo-api.amazon.com"
MAX_CERTIFICATES = 16  # Amazon signs with one chain at a time, two around a rotation
MAX_DEPTH = 32  # Alexa's requests nest about 8 deep; the JSON parser recurses per level
_STRUCTURE = re.compile(rb'[\[\]{}"\\]')  # what nests, and what starts or escapes in a string


class VerificationError(Exception):
    """An Alexa request failed verification; the message names the failed check."""


def check_cert_url(url: str) -> str:
    """The URL in normal form (scheme and host lower-case, no port, dot segments resolved, no
    query); raise VerificationError unless it is an https s3.amazonaws.com /echo.api/ URL."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError as e:
        raise VerificationError("certificate URL is malformed") from e
    if parts.scheme.lower() != "https":
        raise VerificationError("certificate URL scheme is not https")
    # .hostname is already lower-cased; "user@" before the host is refused as a disguise.
    if parts.hostname != "s3.amazonaws.com" or parts.username is not None:
        raise VerificationError("certificate URL host is not exactly s3.amazonaws.com")
    if port not in (None, 443):
        raise VerificationError("certificate URL port is not 443")
    # Normalise so that "/echo.api/../x" cannot escape the prefix; the prefix is case-sensitive.
    path = posixpath.normpath(unquote(parts.path))
    if not path.startswith("/echo.api/"):
        raise VerificationError("certificate URL path is not under /echo.api/")
    return f"https://s3.amazonaws.com{quote(path)}"


def _default_fetch(url: str) -> bytes:
    response = requests.get(url, timeout=3)
    response.raise_for_status()
    return response.content


def _default_roots() -> list[x509.Certificate]:
    try:
        import certifi

        path = certifi.where()
    except ImportError:
        path = ssl.get_default_verify_paths().cafile
    if not path:
        raise VerificationError("no system trust store found")
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificates(f.read())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # naive means UTC


class CertificateCache:
    """Fetches, verifies and caches Alexa signing certificates by URL (thread-safe)."""

    def __init__(
        self,
        fetch: Callable[[str], bytes] | None = None,
        roots: list[x509.Certificate] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch or _default_fetch
        self._roots = roots
        self._store: verification.Store | None = None  # the system roots load on first use
        self._clock = clock
        self._lock = threading.Lock()
        self._leaves: dict[str, x509.Certificate] = {}

    def _trust(self) -> verification.Store:
        if self._store is None:
            roots = self._roots if self._roots is not None else _default_roots()
            self._store = verification.Store(roots)
        return self._store

    def leaf_for(self, url: str, now: datetime | None = None) -> x509.Certificate:
        """Return the verified leaf certificate behind url, fetching it on a cache miss."""
        url = check_cert_url(url)
        now = _aware(now) if now is not None else datetime.fromtimestamp(self._clock(), UTC)
        with self._lock:
            leaf = self._leaves.get(url)
            if leaf is not None and now > leaf.not_valid_after_utc:
                del self._leaves[url]  # cached only until the leaf expires
        if leaf is not None:
            # The chain was verified at an earlier time, so the dates are checked on every use.
            if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
                raise VerificationError("certificate is outside its validity period")
            return leaf
        # Fetch outside the lock so one slow download does not stall other requests.
        try:
            pem = self._fetch(url)
        except Exception as e:  # network, HTTP status or injected fetcher: all mean "no chain"
            raise VerificationError("could not fetch certificate chain") from e
        try:
            chain = x509.load_pem_x509_certificates(pem)
        except ValueError as e:
            raise VerificationError("certificate chain is not valid PEM") from e
        leaf, intermediates = chain[0], chain[1:]
        verifier = (
            verification.PolicyBuilder()
            .store(self._trust())
            .time(now)
            .build_server_verifier(x509.DNSName(ALEXA_SAN))
        )
        try:
            verifier.verify(leaf, intermediates)  # dates, SAN and chain to a trusted root
        except verification.VerificationError as e:
            raise VerificationError(f"certificate chain did not verify: {e}") from e
        with self._lock:
            while len(self._leaves) >= MAX_CERTIFICATES:
                del self._leaves[next(iter(self._leaves))]  # the one cached first goes
            self._leaves[url] = leaf
        return leaf


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when the JSON's arrays and objects nest deeper than `limit` (one pass, no parse)."""
    depth, in_string, escaped = 0, False, -1  # escaped: the offset a backslash escapes
    for match in _STRUCTURE.finditer(body):
        at, mark = match.start(), match.group()
        if at == escaped:
            continue
        if mark == b"\\":
            escaped = at + 1
        elif mark == b'"':
            in_string = not in_string
        elif not in_string:
            depth += 1 if mark in b"[{" else -1
            if depth > limit:
                return True
    return False


def dig(data: object, *keys: str) -> object:
    """The value at a path of keys in parsed JSON, or None where the path does not exist."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def verify_request(
    headers: Mapping[str, str],
    body: bytes,
    *,
    skill_id: str,
    now: datetime,
    certs: CertificateCache | None,
    max_skew_s: int = 150,
) -> dict:
    """Verify an Alexa request (signature unless certs is None) and return its parsed JSON.

    The cheap checks come first and the one that may fetch a certificate last, so a stale or
    another skill's request costs no fetch."""
    signed = _signature_headers(headers) if certs is not None else None
    payload = _parse(body)
    now = _aware(now)
    # Checked even without signatures, so local mode still rejects replays and other skills.
    _check_fresh(payload, now, max_skew_s)
    _check_skill(payload, skill_id)
    if signed is not None:
        _check_signature(certs, *signed, body, now)
    return payload


def _signature_headers(headers: Mapping[str, str]) -> tuple[str, bytes]:
    """The certificate chain URL (checked) and the decoded signature."""
    # HTTP header names are case-insensitive; a plain dict may carry any casing.
    lowered = {k.lower(): v for k, v in headers.items()}
    url = lowered.get("signaturecertchainurl")
    signature = lowered.get("signature-256")
    if not url or not signature:
        raise VerificationError("SignatureCertChainUrl or Signature-256 header missing")
    try:
        raw_sig = base64.b64decode(signature.strip(), validate=True)
    except ValueError as e:  # binascii.Error is a ValueError
        raise VerificationError("Signature-256 header is not base64") from e
    check_cert_url(url)
    return url, raw_sig


def _parse(body: bytes) -> dict:
    """The body as a JSON object, its depth bounded before it is parsed."""
    if too_deep(body):  # before parsing: json.loads would recurse to the stack's limit
        raise VerificationError(f"body nests deeper than {MAX_DEPTH}")
    try:
        payload = json.loads(body)
    except ValueError as e:
        raise VerificationError("body is not valid JSON") from e
    if not isinstance(payload, dict):
        raise VerificationError("body is not a JSON object")
    return payload


def _check_fresh(payload: dict, now: datetime, max_skew_s: int) -> None:
    try:
        sent = _aware(datetime.fromisoformat(dig(payload, "request", "timestamp")))
    except (TypeError, ValueError) as e:  # TypeError: missing or not a string
        raise VerificationError("request.timestamp missing or not ISO 8601") from e
    if abs((now - sent).total_seconds()) > max_skew_s:
        raise VerificationError("request.timestamp is too far from now")


def _check_skill(payload: dict, skill_id: str) -> None:
    # Older requests may carry the id only under session; context is authoritative when present.
    app_id = dig(payload, "context", "System", "application", "applicationId")
    if app_id is None:
        app_id = dig(payload, "session", "application", "applicationId")
    if app_id != skill_id:
        raise VerificationError("applicationId missing or not this skill's")


def _check_signature(
    certs: CertificateCache, url: str, raw_sig: bytes, body: bytes, now: datetime
) -> None:
    """Last: the only check that may fetch (a certificate not yet cached)."""
    key = certs.leaf_for(url, now).public_key()
    if not isinstance(key, RSAPublicKey):
        raise VerificationError("certificate key is not RSA")
    try:
        key.verify(raw_sig, body, PKCS1v15(), SHA256())  # over the raw bytes, not re-encoded
    except InvalidSignature as e:
        raise VerificationError("signature does not match body") from e
