"""The channels as the robustness suites see them: how to send one signed request, how to hold
a conversation, how to read a reply and which limits it must keep. Each suite is parametrized
over CHANNELS, so a channel joins every suite by adding one line there.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.request_validator import RequestValidator

from skill import content
from skill.channels import alexa, alexa_model
from skill.channels.alexa_verify import CertificateCache
from skill.config import Settings
from skill.content import sms
from skill.triage import render
from tests.alexa_pki import GOOD_URL, CountingFetch, make_pki, signed_headers
from tests.common import ALEXA_SKILL_ID, TWILIO_TOKEN

LOCAL = "http://localhost"  # the base URL Flask's test client calls
MAX_MESSAGE = 1600  # Twilio refuses a longer message (error 21617)
MAX_SAY = 4096  # Twilio's limit for one <Say>
MAX_SSML, MAX_ALEXA_RESPONSE = 8000, 24 * 1024  # Alexa's limits


@dataclass
class Call:
    """One HTTP request to the service. A Twilio form is signed when it is sent (the URL is part
    of what is signed); a JSON body (Alexa) carries its own signature headers."""

    path: str
    form: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    body: bytes | None = None

    def signed_headers(self, base: str, token: str = TWILIO_TOKEN) -> dict:
        if self.body is not None:
            return {"Content-Type": "application/json", **self.headers}
        signature = RequestValidator(token).compute_signature(base + self.path, self.form)
        return {"X-Twilio-Signature": signature, **self.headers}

    def to_client(self, client):
        """Send through Flask's test client."""
        data = self.form if self.body is None else self.body
        return client.post(self.path, data=data, headers=self.signed_headers(LOCAL))

    def to_server(self, base: str, session=requests):
        """Send over real HTTP to a running server."""
        data = self.form if self.body is None else self.body
        headers = self.signed_headers(base)
        return session.post(base + self.path, data=data, headers=headers, timeout=60)


def body_of(response) -> bytes:
    return response.data if hasattr(response, "data") else response.content


def twiml(response) -> ET.Element:
    """The reply parsed as TwiML, after checking it is a 200 with Twilio's content type."""
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(body_of(response))  # raises on anything that is not XML
    assert root.tag == "Response"
    return root


@dataclass(frozen=True)
class Messaging:
    """SMS or WhatsApp through Twilio's inbound-message webhook."""

    name: str  # sms | whatsapp
    path: str = "/twilio/messaging"
    retried: bool = True  # Twilio retries a delivery with the same MessageSid

    def prepare(self, app) -> None:
        """Nothing to set up: the tests' Twilio token is the app's."""

    def sender(self, script: content.Script, locale: str, n: int) -> str:
        """A sender whose dial code gives the locale."""
        number = f"{script.locales[locale].dial_codes[0]}7{n:09d}"
        return f"whatsapp:{number}" if self.name == "whatsapp" else number

    def call(self, sender: str, text: str, delivery: str | None = None, **extra) -> Call:
        """The fields Twilio posts for one inbound message; `delivery` is its MessageSid."""
        fields = {
            "MessageSid": delivery or f"SM{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": sender,
            "To": "+447700900999",
            "Body": text,
            "NumMedia": "0",
            **extra,
        }
        return Call(self.path, fields)

    def reply(self, response) -> str | None:
        """The reply's text (None for <Response/>), after checking it is TwiML in our limits."""
        root = twiml(response)
        assert all(child.tag == "Message" for child in root) and len(root) <= 1
        if not len(root):
            return None
        text = root[0].text or ""
        assert 0 < len(text) <= MAX_MESSAGE and not len(root[0])
        if self.name == "sms":  # our words only, never theirs: plain GSM-7
            assert sms.is_gsm7(text), text
        return text

    check = reply

    def said(self, response) -> str:
        """Every word of the reply, as the runner reads it."""
        return self.reply(response) or ""

    def conversation(self, script: content.Script, locale: str, n: int) -> _Texting:
        return _Texting(self, script, locale, self.sender(script, locale, n))


@dataclass
class _Texting:
    channel: Messaging
    script: content.Script
    locale: str
    sender: str

    def call(self, message: str) -> Call:
        return self.channel.call(self.sender, message)

    def start(self, opening: str, send):
        """The runner's first turn, sent with `send` (a Call to its response): the opening text."""
        return send(self.call(opening))

    def read(self, response):
        """(question asked, outcome given) by the reply, either may be None."""
        text = self.channel.reply(response) or ""
        script, locale = self.script, self.locale
        asking = {
            render.question_text(script, q, locale, voice=False): q
            for q in script.questions.values()
        }
        found = [words for words in asking if words in text]
        advised = [o for o in script.outcomes.values() if script.fill(o.short, locale) in text]
        return (asking[max(found, key=len)] if found else None), next(iter(advised), None)


@dataclass(frozen=True)
class Voice:
    """A phone call through Twilio Voice: each step posts to the previous reply's Gather."""

    name: str = "voice"
    path: str = "/twilio/voice"
    retried: bool = True  # a retried step has the same CallSid and step

    prepare = Messaging.prepare

    def call(self, caller: str, speech: str, delivery: str | None = None, path=None, **extra):
        """One step of a call: `delivery` is the CallSid, `path` the action with its query."""
        fields = {
            "CallSid": delivery or f"CA{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": "+447700900999",
            "CallStatus": "in-progress",
            **extra,
        }
        if speech:
            fields.update(SpeechResult=speech, Confidence="0.93")
        return Call(path or self.path, fields)

    def check(self, response) -> ET.Element:
        """TwiML whose every <Say> is within Twilio's limit."""
        root = twiml(response)
        for say in root.iter("Say"):
            assert 0 < len(say.text or "") <= MAX_SAY
        return root

    def said(self, response) -> str:
        """Every word the caller hears, numbers as digits again ("call 999", not "9 9 9")."""
        words = " ".join(say.text for say in self.check(response).iter("Say"))
        return re.sub(r"(?<=\d) (?=\d)", "", words)

    def conversation(self, script: content.Script, locale: str, n: int) -> _Calling:
        caller = f"{script.locales[locale].dial_codes[0]}8{n:09d}"
        return _Calling(self, script, caller, f"CA{uuid.uuid4().hex}")


@dataclass
class _Calling:
    channel: Voice
    script: content.Script
    caller: str
    sid: str
    action: str | None = None

    def call(self, message: str) -> Call:
        return self.channel.call(self.caller, message, delivery=self.sid, path=self.action)

    def start(self, opening: str, send):
        """The call answered with our greeting and open question, then the opening said."""
        self.read(send(self.call("")))
        return send(self.call(opening))

    def read(self, response):
        """(question asked, outcome given), from the query of the reply's <Gather> action."""
        gathers = list(self.channel.check(response).iter("Gather"))
        if not gathers:
            return None, None
        self.action = gathers[0].get("action")
        query = parse_qs(urlsplit(self.action).query)
        asked = self.script.questions.get(query.get("q", [""])[0])
        return asked, self.script.outcomes.get(query.get("end", [""])[0])


@functools.cache
def _alexa_pki() -> dict:
    return make_pki(datetime.now(UTC))


@dataclass(frozen=True)
class Alexa:
    """The Alexa skill: JSON requests signed with a test PKI the app is told to trust (or not
    signed at all for a server started with ALEXA_VERIFY=0)."""

    name: str = "alexa"
    path: str = "/alexa"
    retried: bool = False  # Alexa does not resend a request: nothing to deduplicate
    signed: bool = True
    # False: words go to the engine as the catch-all's slot (for what any words do to us);
    # True: as the interaction model would resolve them, with what a voice cannot say lost.
    heard: bool = False

    def prepare(self, app) -> None:
        """Trust the test root; the test fetcher plays Amazon's certificate host."""
        pki = _alexa_pki()
        fetch = CountingFetch(pki["served"])
        alexa.use_certificates(app, CertificateCache(fetch=fetch, roots=[pki["root"]]))

    def call(self, session: str, request: dict, locale="en-GB", timestamp=None, extra=None):
        """One request of a session, as Alexa sends it; `extra` replaces top-level parts."""
        sent = (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        application = {"applicationId": ALEXA_SKILL_ID}
        payload = {
            "version": "1.0",
            "session": {
                "new": False,
                "sessionId": session,
                "application": application,
                "user": {"userId": "amzn1.ask.account.TEST"},
            },
            "context": {"System": {"application": application}},
            "request": {
                "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
                "locale": locale,
                "timestamp": sent,
                **request,
            },
            **(extra or {}),
        }
        body = json.dumps(payload).encode()
        headers = signed_headers(_alexa_pki(), body, GOOD_URL) if self.signed else {}
        return Call(self.path, headers=headers, body=body)

    def check(self, response) -> dict:
        """Alexa JSON within Alexa's limits, with well-formed SSML."""
        assert response.status_code == 200, response.status_code
        assert response.headers["Content-Type"].startswith("application/json")
        assert len(body_of(response)) <= MAX_ALEXA_RESPONSE
        out = json.loads(body_of(response))
        assert out["version"] == "1.0"
        for holder in (out["response"], out["response"].get("reprompt", {})):
            if "outputSpeech" in holder:
                ssml = holder["outputSpeech"]["ssml"]
                assert len(ssml) <= MAX_SSML and ET.fromstring(ssml).tag == "speak"
        return out

    def said(self, response) -> str:
        """Every word spoken, from the SSML."""
        speech = self.check(response)["response"].get("outputSpeech", {}).get("ssml", "<speak/>")
        return " ".join("".join(ET.fromstring(speech).itertext()).split())

    def conversation(self, script: content.Script, locale: str, n: int) -> _Session:
        return _Session(self, script, locale, f"amzn1.echo-api.session.{uuid.uuid4()}")


@dataclass
class _Session:
    channel: Alexa
    script: content.Script
    locale: str
    session: str
    started: bool = False

    def call(self, message: str) -> Call:
        """A launch first, then each answer as the intent Alexa's model would resolve it to."""
        if not self.started:
            self.started = True
            return self.channel.call(self.session, {"type": "LaunchRequest"}, self.locale)
        if self.channel.heard:
            request = {"type": "IntentRequest", "intent": resolve(self.script, message)}
            return self.channel.call(self.session, request, self.locale)
        intent = {
            "name": alexa_model.FREE_TEXT_INTENT,
            "slots": {"query": {"name": "query", "value": message}},
        }
        for name in ("AMAZON.YesIntent", "AMAZON.NoIntent", "UnsureIntent"):
            if alexa_model.message_for(self.script, name) == message:
                intent = {"name": name}
        if message.isdigit():
            intent = {
                "name": alexa_model.NUMBER_INTENT,
                "slots": {"number": {"name": "number", "value": message}},
            }
        request = {"type": "IntentRequest", "intent": intent}
        return self.channel.call(self.session, request, self.locale)

    def start(self, opening: str, send):
        """The skill launched, with our greeting and open question, then the opening said."""
        send(self.call(""))
        return send(self.call(opening))

    def read(self, response):
        """(question asked, outcome given), from the spoken words and the outcome's card."""
        out = self.channel.check(response)["response"]
        root = ET.fromstring(out.get("outputSpeech", {}).get("ssml", "<speak/>"))
        said = " ".join("".join(root.itertext()).split())
        asked = [q for q in self.script.questions.values() if q.voice in said]
        card = out.get("card", {}).get("content", "")
        advised = [
            o
            for o in self.script.outcomes.values()
            if card and self.script.fill(o.short, self.locale) in card
        ]
        return max(asked, key=lambda q: len(q.voice), default=None), next(iter(advised), None)


@dataclass(frozen=True)
class Web:
    """The web chat widget's JSON calls: a start, then each message, under the widget's token."""

    name: str = "web"
    retried: bool = True  # the widget sends again with the same id when no answer came
    path: str = "/web/message"

    prepare = Messaging.prepare

    def call(self, token: str, text: str | None, delivery: str | None = None) -> Call:
        """A message (`text`), or the start when text is None; `delivery` is the send's id."""
        body = {"token": token, "id": delivery or uuid.uuid4().hex}
        if text is not None:
            body["text"] = text
        return Call("/web/start" if text is None else self.path, body=json.dumps(body).encode())

    def check(self, response) -> dict:
        """The widget's JSON: words to show, the answers to offer, and whether it ended."""
        assert response.status_code == 200, response.status_code
        assert response.headers["Content-Type"].startswith("application/json")
        out = json.loads(body_of(response))
        assert set(out) == {"text", "options", "ended"}, out
        assert isinstance(out["text"], str) and len(out["text"]) <= MAX_MESSAGE
        assert all(isinstance(o, str) and o for o in out["options"])
        return out

    def reply(self, response) -> str:
        """The words the widget shows."""
        return self.check(response)["text"]

    said = reply

    def conversation(self, script: content.Script, locale: str, n: int) -> _Chatting:
        # No number to read a locale from: the web chat speaks the service's DEFAULT_LOCALE.
        token = f"web{n:06d}-{uuid.uuid4().hex}"
        return _Chatting(self, script, Settings.default_locale, token)


@dataclass
class _Chatting:
    channel: Web
    script: content.Script
    locale: str
    token: str
    started: bool = False

    def call(self, message: str) -> Call:
        """The start first, as the widget sends it on load; then each message."""
        if not self.started:
            self.started = True
            return self.channel.call(self.token, None)
        return self.channel.call(self.token, message)

    def start(self, opening: str, send):
        """The widget loaded (our greeting and the first question), then the opening typed."""
        send(self.call(""))
        return send(self.call(opening))

    read = _Texting.read


@functools.cache
def _samples(script: content.Script) -> list[tuple[tuple, re.Pattern, str, dict]]:
    """Every sample of the interaction model as a pattern, the closest kinds first: a sample
    of words alone, then one with a listed slot, then a catch-all with the longest carrier."""
    model = alexa_model.interaction_model(script)["interactionModel"]["languageModel"]
    values = {
        t["name"]: {
            w: v["name"]["value"]
            for v in t["values"]
            for w in (v["name"]["value"], *v["name"].get("synonyms", ()))
        }
        for t in model["types"]
    }
    samples = []
    for intent in model["intents"]:
        kinds = {slot["name"]: slot["type"] for slot in intent.get("slots", ())}
        for sample in intent["samples"]:
            pattern, free = re.escape(sample), False
            for name, kind in kinds.items():
                if kind == "AMAZON.SearchQuery":
                    group, free = ".+", True
                elif kind == "AMAZON.NUMBER":
                    group = r"\d+"
                else:
                    group = "|".join(map(re.escape, sorted(values[kind], key=len, reverse=True)))
                pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>{group})")
            rank = (free, "{" in sample, -len(sample.split()))
            samples.append((rank, re.compile(pattern), intent["name"], kinds))
    return sorted(samples, key=lambda s: s[0]), values


def as_heard(said: str) -> str:
    """Words as a speech recogniser writes them: lower case, no punctuation, numbers apart
    from the words next to them ("34yo" is "34 yo"), no letters drawn out ("noo" is "no")."""
    heard = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", said.lower())
    drawn = r"\b(?:n+o+|y+e+s+|n+a+h+|y+e+a+h+|n+o+p+e+)\b"  # a yes or a no drawn out
    heard = re.sub(drawn, lambda m: re.sub(r"(.)\1+", r"\1", m.group(0)), heard)
    return " ".join(re.sub(r"[^\w'. ]|\.(?!\d)", " ", heard).split())


def resolve(script: content.Script, said: str) -> dict:
    """The intent Alexa's model would send for these words (as_heard): the closest sample
    that matches them all, else AMAZON.FallbackIntent. A stand-in for Amazon's own matching,
    stricter than it: words no sample covers are lost, as they may be on a real device."""
    heard = as_heard(said)
    samples, values = _samples(script)
    for _, pattern, name, kinds in samples:
        match = pattern.fullmatch(heard)
        if not match:
            continue
        slots = {}
        for slot, value in match.groupdict().items():
            slots[slot] = {"name": slot, "value": value}
            if kinds[slot] in values:
                slots[slot]["resolutions"] = {
                    "resolutionsPerAuthority": [
                        {
                            "authority": f"amzn1.er-authority.echo-sdk.test.{kinds[slot]}",
                            "status": {"code": "ER_SUCCESS_MATCH"},
                            "values": [{"value": {"name": values[kinds[slot]][value]}}],
                        }
                    ]
                }
        return {"name": name, "confirmationStatus": "NONE", **({"slots": slots} if slots else {})}
    return {"name": alexa_model.FALLBACK_INTENT, "confirmationStatus": "NONE"}


CHANNELS = [Messaging("sms"), Messaging("whatsapp"), Voice(), Alexa(), Web()]
