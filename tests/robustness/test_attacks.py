"""Attacks a client could try: forged or bent signatures, oversized bodies, markup and line
breaks smuggled into fields, timing of secret comparisons, and missing security headers.

Every refused request must change nothing: the runner's next real message still opens a new
conversation.
"""

import ast
import inspect
import shutil
import socket
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests
import twilio.request_validator
from twilio.request_validator import RequestValidator

import app as app_module
from app import create_app
from skill import content
from skill.channels import alexa
from skill.channels.alexa_verify import CertificateCache
from tests.alexa_pki import GOOD_URL, signed_headers
from tests.common import ROOT, TWILIO_TOKEN
from tests.drivers import CHANNELS, LOCAL, Alexa, Messaging, _alexa_pki

TWILIO = [c for c in CHANNELS if c.path.startswith("/twilio/")]
TEXTING = [c for c in TWILIO if isinstance(c, Messaging)]  # conversations keyed by sender
ALEXA = next(c for c in CHANNELS if isinstance(c, Alexa))
SKILL = ROOT / "skill"


def opens_anew(client, script, channel, sender) -> bool:
    """True when the sender's next signed message is answered as a first message."""
    reply = channel.reply(channel.call(sender, "hello").to_client(client))
    return script.fill(script.messages["intro"], "en-GB") in (reply or "")


# Twilio signatures


def bent(channel, form):
    """(name, path sent to, URL signed over, token, form sent, extra headers) per attempt; the
    form signed is always the genuine one."""
    path = channel.path
    url, token = LOCAL + path, TWILIO_TOKEN
    yield "as Twilio signs it", path, url, token, form, {}  # the control: accepted
    yield "no signature", path, None, token, form, {}
    yield "empty signature", path, "", token, form, {}
    yield "another token", path, url, "not-the-token", form, {}
    yield "other host", path, "http://evil.example" + path, token, form, {}
    yield "other scheme", path, "https://localhost" + path, token, form, {}
    yield "other path", path, LOCAL + "/twilio/other", token, form, {}
    yield "trailing slash", path, url + "/", token, form, {}
    yield "query added", path + "?Body=no", url, token, form, {}
    yield "body changed", path, url, token, {**form, "Body": "no"}, {}
    yield "field added", path, url, token, {**form, "Extra": "1"}, {}
    yield "field dropped", path, url, token, {k: v for k, v in form.items() if k != "To"}, {}
    yield "repeated field", path, url, token, [*form.items(), ("Body", "no")], {}
    forwarded = {"X-Forwarded-Host": "hips.example.org", "X-Forwarded-Proto": "https"}
    yield "forwarded, untrusted", path, "https://hips.example.org" + path, token, form, forwarded


@pytest.mark.parametrize("channel", TWILIO, ids=lambda c: c.name)
def test_bent_twilio_signatures_are_refused_and_change_nothing(client, script, channel):
    refused, genuine = {}, channel.call("", "yes").form
    for n, (name, path, signed_url, token, sent, headers) in enumerate(bent(channel, genuine)):
        sender = f"+4477009{n:05d}"
        if signed_url is not None:
            signed = {**genuine, "From": sender}
            signature = RequestValidator(token).compute_signature(signed_url, signed)
            headers = {**headers, "X-Twilio-Signature": signature if signed_url else ""}
        fields = [(k, sender if k == "From" else v) for k, v in dict_or_pairs(sent)]
        form = "application/x-www-form-urlencoded"
        response = client.post(path, data=urlencode(fields), headers=headers, content_type=form)
        status = response.status_code
        unchanged = opens_anew(client, script, channel, sender) if channel in TEXTING else True
        refused[name] = status in (403, 404, 405) and unchanged
    assert refused == {**dict.fromkeys(refused, True), "as Twilio signs it": False}


def dict_or_pairs(form) -> list:
    return list(form.items()) if isinstance(form, dict) else form


@pytest.mark.parametrize("query", ["step=%C2%80", "confirm=caf%C3%A9&step=1", "a=%20+b"])
def test_a_query_is_checked_as_twilio_signed_it(client, script, query):
    """Found by fuzzing: request.url decodes non-ASCII escapes, which made genuine requests 403."""
    channel = TWILIO[0]
    call = channel.call(channel.sender(script, "en-GB", 7), "hello")
    call.path += f"?{query}"
    assert call.to_client(client).status_code == 200


@pytest.mark.parametrize("channel", TWILIO, ids=lambda c: c.name)
def test_fields_in_another_order_are_the_same_signed_request(client, script, channel):
    """Twilio signs fields sorted by name: the order on the wire does not matter."""
    call = channel.conversation(script, "en-GB", 1).call("hello")
    raw = urlencode(list(reversed(call.form.items())))
    response = client.post(
        call.path,
        data=raw,
        headers=call.signed_headers(LOCAL),
        content_type="application/x-www-form-urlencoded",
    )
    channel.check(response)


def test_the_signature_check_compares_in_constant_time():
    """twilio's compare walks every character whatever it finds (no early return in the loop),
    and nothing in our code compares a token, secret or signature with == or !=, except with a
    public constant (a literal or an UPPER_CASE name), which tells an attacker nothing."""
    tree = ast.parse(inspect.getsource(twilio.request_validator.compare))
    loops = [node for node in ast.walk(tree) if isinstance(node, ast.For)]
    assert loops and not any(
        isinstance(inner, ast.Return | ast.Break) for loop in loops for inner in ast.walk(loop)
    )
    assert twilio.request_validator.RequestValidator.validate.__code__.co_names.count("compare")
    secret = ("token", "secret", "signature", "password")
    for path in sorted(SKILL.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
            ):
                sides = [node.left, *node.comparators]
                if any(
                    isinstance(side, ast.Constant) or ast.unparse(side).isupper() for side in sides
                ):
                    continue
                names = [ast.unparse(side).lower() for side in sides]
                assert not any(s in n for s in secret for n in names), (path.name, names)


def test_alexa_requests_outside_the_timestamp_window_are_refused(app, client):
    """A request Amazon really signed, replayed later (or dated ahead), is refused."""
    ALEXA.prepare(app)
    now = datetime.now(UTC)
    statuses = {}
    for seconds in (-3600, -200, -60, 0, 60, 200):
        sent = now + timedelta(seconds=seconds)
        call = ALEXA.call(f"s{seconds}", {"type": "LaunchRequest"}, timestamp=sent)
        statuses[seconds] = call.to_client(client).status_code
    assert statuses == {-3600: 400, -200: 400, -60: 200, 0: 200, 60: 200, 200: 400}


CERT_URL_TRICKS = [
    "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "ftp://s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com.evil.example/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com./echo.api/echo-api-cert.pem",
    "https://evil.example/s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com@evil.example/echo.api/echo-api-cert.pem",
    "https://evil.example@s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com:443@evil.example/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com:8443/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/../evil/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/%2e%2e/evil/echo-api-cert.pem",
    "https://s3.amazonaws.com/ECHO.API/echo-api-cert.pem",
    "https://s3.amazonaws.com/evil/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api",
    "//s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com\\@evil.example/echo.api/echo-api-cert.pem",
]


def test_alexa_certificate_url_tricks_are_refused(app, client):
    """Whatever chain a trick URL would serve (here: the genuine one), the URL alone refuses it."""
    pki = _alexa_pki()
    alexa.use_certificates(
        app, CertificateCache(fetch=lambda url: pki["served"][GOOD_URL], roots=[pki["root"]])
    )
    statuses = {}
    for url in [GOOD_URL, *CERT_URL_TRICKS]:
        call = ALEXA.call("amzn1.echo-api.session.tricks", {"type": "LaunchRequest"})
        call.headers = signed_headers(pki, call.body, url)
        statuses[url] = call.to_client(client).status_code
    assert statuses == {GOOD_URL: 200, **dict.fromkeys(CERT_URL_TRICKS, 400)}


# Oversized bodies


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_an_oversized_body_gets_413_and_changes_nothing(app, client, live_server, script, channel):
    channel.prepare(app)
    talk = channel.conversation(script, "en-GB", 2)
    talk.call("")  # past the opening, to a request that carries what the user said
    call = talk.call("no " * 30_000)  # 90 kB: signed, yet too big
    assert call.to_client(client).status_code == 413
    assert call.to_server(live_server).status_code == 413
    unsigned = requests.post(
        live_server + call.path,
        data=b"x" * (app_module.MAX_BODY + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=20,
    )
    assert unsigned.status_code in (403, 413)
    if channel in TEXTING:
        assert opens_anew(client, script, channel, talk.sender)


def test_a_body_just_under_the_limit_is_read(client, script):
    channel = TWILIO[0]
    call = channel.call(channel.sender(script, "en-GB", 3), "hello")
    call.form["Padding"] = "x" * (app_module.MAX_BODY - 1000)
    assert channel.reply(call.to_client(client))


# Markup and line breaks in what users send, and in what we say


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_markup_in_what_users_say_never_becomes_markup(app, client, script, channel):
    channel.prepare(app)
    evil = (
        '</Message></Say><Redirect>https://evil.example/x</Redirect><audio src="x"/>'
        "</speak><Message>&amp; ]]> <!--"
    )
    talk = channel.conversation(script, "en-GB", 4)
    talk.read(talk.call("hello").to_client(client))
    response = talk.call(evil).to_client(client)
    channel.check(response)
    assert b"evil.example" not in response.data and b"<audio" not in response.data


def test_markup_in_our_own_words_is_escaped(tmp_path, settings, script):
    """Content may hold <, > and & (all GSM-7): they reach the runner as text."""
    evil = "</Message><Redirect>https://evil.example/x</Redirect><Message> & <!-- ]]>"
    shutil.copytree(content.DEFAULT_DIR, tmp_path, dirs_exist_ok=True)
    messages = tmp_path / "messages.yaml"
    messages.write_text(messages.read_text().replace('help: "', f'help: "{evil} ', 1))
    client = create_app(settings, content.load(tmp_path)).test_client()
    channel = TWILIO[0]
    sender = channel.sender(script, "en-GB", 5)
    channel.reply(channel.call(sender, "hello").to_client(client))
    reply = channel.reply(channel.call(sender, "HELP").to_client(client))
    assert evil in reply


def test_line_breaks_in_fields_never_become_headers(live_server, script):
    """CR and LF in any field, raw on the wire: the reply's headers are ours alone."""
    channel = TWILIO[0]
    sender = channel.sender(script, "en-GB", 6)
    crlf = "x\r\nX-Injected: 1\r\nSet-Cookie: a=b\r\n\r\n<Response/>"
    # (A MessageSid with line breaks is no Twilio id: it gets 400, tests/channels' business.)
    call = channel.call(sender, crlf, ProfileName=crlf)
    headers = call.signed_headers(live_server)
    body = urlencode(call.form).encode()
    host, port = live_server.removeprefix("http://").split(":")
    head = (
        f"POST {call.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {headers['X-Twilio-Signature']}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(head.encode() + body)
        raw = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, reply = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    names = {line.split(b":")[0].lower() for line in head.split(b"\r\n")[1:]}
    assert not names & {b"x-injected", b"set-cookie"}
    assert ET.fromstring(reply).tag == "Response"


# Security headers


def routes_and_errors(app):
    """One request per route as a client would send it, and each error a client can cause."""
    path = TWILIO[0].path
    for rule in app.url_map.iter_rules():
        if rule.endpoint.rpartition(".")[2] != "static":
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield f"{method} {rule.rule}", method, rule.rule, {}
    yield "404", "GET", "/nowhere", {}
    yield "405", "GET", path, {}
    yield "413", "POST", path, {"data": {"Body": "x" * (app_module.MAX_BODY + 1)}}


def _blueprint(app, path: str) -> str | None:
    """The blueprint whose routes the path belongs to, by its URL prefix."""
    return next(
        (
            name
            for name, bp in app.blueprints.items()
            if bp.url_prefix and path.startswith(bp.url_prefix)
        ),
        None,
    )


def test_every_response_carries_the_security_headers(app, client, settings, script):
    unsigned = create_app(replace(settings, twilio_validate=False), script).test_client()
    seen = set()
    malformed = ("400", "POST", TWILIO[0].path, {"data": {"Body": "x"}})  # no From: 400
    for name, method, path, kwargs in [*routes_and_errors(app), malformed]:
        response = (unsigned if name == "400" else client).open(path, method=method, **kwargs)
        seen.add(response.status_code)
        # Pages for people (the console) set their own CSP; the rest stay at default-src 'none'.
        expected = {
            **app_module.SECURITY_HEADERS,
            **app_module.BLUEPRINT_HEADERS.get(_blueprint(app, path), {}),
        }
        headers = {k: response.headers.get(k) for k in expected}
        assert headers == expected, name
    assert {200, 400, 403, 404, 405, 413} <= seen
