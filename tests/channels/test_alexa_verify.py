"""Offline tests for skill.channels.alexa_verify with a generated root, intermediate and leaf."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import Headers

from skill.channels.alexa_verify import (
    MAX_CERTIFICATES,
    MAX_DEPTH,
    CertificateCache,
    VerificationError,
    check_cert_url,
    verify_request,
)
from tests.alexa_pki import (
    EXPIRED_URL,
    GOOD_URL,
    SHORT_URL,
    UNTRUSTED_URL,
    WRONG_SAN_URL,
    CountingFetch,
    make_pki,
    signed_headers,
)

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
SKILL_ID = "amzn1.ask.skill.test-skill"


@pytest.fixture(scope="module")
def pki():
    return make_pki(NOW)


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


def nested(depth: int) -> bytes:
    """A good request with an extra field nested `depth` arrays deep, brackets in a string."""
    payload = json.loads(make_body())
    payload["extra"] = json.loads("[" * depth + '"[[{{\\""' + "]" * depth)
    return json.dumps(payload).encode()


def test_json_nested_past_the_bound_fails_before_it_is_parsed(pki, certs):
    deep = nested(MAX_DEPTH)  # with the payload itself, one level past the bound
    with pytest.raises(VerificationError, match="deeper"):
        verify(signed_headers(pki, deep), deep, certs)
    within = nested(MAX_DEPTH - 1)
    assert verify(signed_headers(pki, within), within, certs)["extra"]


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
    assert check_cert_url(url) == GOOD_URL


SPELLINGS = [
    GOOD_URL,
    "HTTPS://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/./x/../echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api//echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/%65cho-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/echo-api-cert.pem?cache=bust",
    "https://s3.amazonaws.com/echo.api/echo-api-cert.pem#again",
]


def test_one_chain_under_many_spellings_is_fetched_once(pki, certs, fetch):
    for url in SPELLINGS:
        body = make_body()
        assert verify(signed_headers(pki, body, url), body, certs)
    assert fetch.calls == {GOOD_URL: 1}


@pytest.mark.parametrize(
    "body", [make_body(timestamp=NOW - timedelta(hours=1)), make_body(app_id="amzn1.ask.skill.x")]
)
def test_stale_or_foreign_requests_never_fetch_a_certificate(pki, certs, fetch, body):
    for n in range(50):  # a new chain URL each time, as an attacker would send
        url = f"https://s3.amazonaws.com/echo.api/chain-{n}.pem"
        with pytest.raises(VerificationError, match="timestamp|applicationId"):
            verify(signed_headers(pki, body, url), body, certs)
    assert fetch.calls == {}


def test_the_certificate_cache_keeps_a_bounded_number_of_chains(pki):
    fetched = []

    def fetch(url):  # Amazon's host serving the good chain under every name
        fetched.append(url)
        return pki["served"][GOOD_URL]

    certs = CertificateCache(fetch=fetch, roots=[pki["root"]])
    urls = [f"https://s3.amazonaws.com/echo.api/chain-{n}.pem" for n in range(MAX_CERTIFICATES * 4)]
    for url in urls:
        certs.leaf_for(url, NOW)
    assert len(fetched) == len(urls)
    certs.leaf_for(urls[-1], NOW)  # the newest is still kept
    assert len(fetched) == len(urls)
    certs.leaf_for(urls[0], NOW)  # the oldest went to keep the cache bounded: fetched again
    assert fetched[-1] == urls[0] and len(fetched) == len(urls) + 1


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
