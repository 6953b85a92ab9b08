"""Twilio request signatures, shared by the messaging and voice webhooks.

Twilio signs the full public URL it called plus the POST fields. Behind a proxy the URL Flask
sees differs, so it is rebuilt from PUBLIC_BASE_URL (best: it trusts no header), or from
X-Forwarded-Proto and X-Forwarded-Host only when TRUST_PROXY says our own proxy sets them
(twilio-python #751, #715). Of a list in one of those headers the LAST element is taken: a proxy
that appends puts its own value last, after whatever the client sent; one that replaces sends
only its own. So TRUST_PROXY=1 trusts exactly one proxy in front of the service.

The signature joins names and values with no separator, so characters moved across the end of
one value into the next name still sign the same; `malformed_ids` refuses ids in any form but
Twilio's own, so such a move cannot make a new delivery id out of a captured request.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re

from flask import Response, abort, request
from twilio.request_validator import RequestValidator

from skill.service import get_triage

log = logging.getLogger(__name__)
# Twilio's ids: two letters for the kind of thing, then 32 hex digits.
TWILIO_IDS = {
    "AccountSid": re.compile(r"AC[0-9a-fA-F]{32}"),
    "MessageSid": re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}"),
    "CallSid": re.compile(r"CA[0-9a-fA-F]{32}"),
}


def unsound(form, *ids: str, required: tuple[str, ...] = ()) -> Response | None:
    """A 400 naming the fields missing, or ids in a form Twilio never sends; None if all are
    sound."""
    wrong = [name for name in required if not form.get(name, "").strip()]
    wrong += [name for name in ids if not TWILIO_IDS[name].fullmatch(form.get(name, ""))]
    if not wrong:
        return None
    return Response(
        f"Missing or malformed: {', '.join(wrong)}\n", status=400, mimetype="text/plain"
    )


def public_url(settings) -> str:
    """The URL Twilio called, as it signed it."""
    if settings.public_base_url:
        query = request.query_string.decode("latin-1")
        return settings.public_base_url + request.path + (f"?{query}" if query else "")
    if settings.trust_proxy:
        proto = _ours(request.headers.get("X-Forwarded-Proto", request.scheme))
        host = _ours(request.headers.get("X-Forwarded-Host", request.host))
        query = request.query_string.decode("latin-1")
        return f"{proto}://{host}{request.path}" + (f"?{query}" if query else "")
    # Not request.url: it decodes %-escapes of non-ASCII in the query, which Twilio signed as sent.
    query = request.query_string.decode("latin-1")
    return f"{request.scheme}://{request.host}{request.root_path}{request.path}" + (
        f"?{query}" if query else ""
    )


def _ours(forwarded: str) -> str:
    """The element our proxy added to an X-Forwarded-* list: the last (the client's come first)."""
    return forwarded.rsplit(",", 1)[-1].strip()


def signed_by_twilio(settings) -> bool:
    """True when X-Twilio-Signature matches this request under the auth token."""
    if not settings.twilio_validate:
        return True
    if not settings.twilio_auth_token:
        log.error(
            "TWILIO_AUTH_TOKEN is not set: refusing Twilio webhooks. Set it to the "
            "account's auth token (or TWILIO_VALIDATE=0 for local trials only)."
        )
        return False
    signature = request.headers.get("X-Twilio-Signature", "")
    validator, url = _validator(settings.twilio_auth_token), public_url(settings)
    # The form itself, a MultiDict: the validator reads every value of a repeated field through
    # getlist(); a dict of lists (to_dict(flat=False)) makes it fail on every request.
    # A signature over the very URL called is checked once; only a mismatch goes on to
    # validate(), which signs the URL twice more, with and without its port, as Twilio may.
    expected = validator.compute_signature(url, request.form).encode()
    # Bytes: compare_digest refuses str with characters beyond ASCII, which a forger may send.
    if hmac.compare_digest(expected, signature.encode()) or validator.validate(
        url, request.form, signature
    ):
        return True
    _log_refusal(settings, url, signature)
    return False


def _log_refusal(settings, url: str, signature: str) -> None:
    """Say which URL the signature was checked over and where it came from, since a URL other
    than the one Twilio calls is the commonest set-up fault. Never the token or the signature;
    the query is left out (on a call it holds the answer being read back)."""
    base, _, query = url.partition("?")
    where = (
        "PUBLIC_BASE_URL"
        if settings.public_base_url
        else "X-Forwarded-Proto/-Host (TRUST_PROXY=1)"
        if settings.trust_proxy
        else "the request's own scheme and Host header (set PUBLIC_BASE_URL behind a proxy)"
    )
    log.warning(
        "Twilio signature %s for %s%s, the URL from %s: refused (403)",
        "did not match" if signature else "missing",
        base,
        "?..." if query else "",
        where,
    )


@functools.cache
def _validator(token: str) -> RequestValidator:
    """One validator per auth token, made on first use."""
    return RequestValidator(token)


def twilio_signed(view):
    """Refuse a request Twilio did not sign with 403, before it can change anything."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not signed_by_twilio(get_triage().settings):
            abort(403)
        return view(*args, **kwargs)

    return wrapper
