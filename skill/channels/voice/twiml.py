"""Writing a call's TwiML: speech that reads cleanly, questions as Gathers, the advice and its
menu, in the caller's voice and language, each Gather coming back to the next step."""

from __future__ import annotations

import re

from flask import url_for
from twilio.twiml.voice_response import VoiceResponse

from skill.channels.voice import menu, readback
from skill.config import Settings
from skill.content import Question, Script
from skill.triage import render
from skill.triage.engine import Reply

NUMBER_TIMEOUT = 5  # seconds of keypad silence that end a typed number (or press #)
MAX_HEARD = 500  # characters of a read-back answer's words carried in its action URL
# Read out as words ("A and E") or not at all: a voice would say "asterisk" or "slash".
_UNSPOKEN = re.compile(r"https?://\S+|www\.\S+|[*#/\\\[\]{}<>_|~^@`]")
_PHONE = re.compile(r"\d{3,}")  # in our content, runs of 3+ digits are phone numbers


def speakable(text: str) -> str:
    """Text a voice reads cleanly: phone numbers digit by digit, no symbols read aloud."""
    text = _UNSPOKEN.sub(" ", text.replace("&", " and "))
    text = _PHONE.sub(lambda m: " ".join(m.group(0)), text)
    return " ".join(text.split())


class Speaker:
    """Writes the TwiML of one step of a call."""

    def __init__(self, script: Script, settings: Settings, locale: str, step: int):
        self.script, self.settings, self.locale, self.step = script, settings, locale, step
        profile = script.locales.get(locale) or script.locales["en"]
        self.language = profile.voice_language
        self.voice = settings.voice_name or profile.voice_name

    def reply(self, script: Script, reply: Reply) -> str:
        """TwiML for the engine's reply; runs once per step, inside the store transaction."""
        response = VoiceResponse()
        if reply.question or reply.describe:
            # Notices are said before the Gather, so a key pressed early cannot skip them.
            notices = render.notices(script, reply, voice=True)
            if notices:
                self._say(response, "\n".join(notices))
            self._ask(response, reply.question, render.body(script, reply, voice=True))
        elif reply.outcome and not reply.silent:
            self._advise(response, reply)
        else:
            speech = render.speech(script, reply)
            if speech:  # e.g. the store is down: say why first
                self._say(response, speech)
            self._goodbye(response)
        return str(response)

    def read_back(self, question: Question, value: str, heard: str) -> str:
        """Ask "I heard no. Is that right?", carrying the answer and the words it was read
        from in the action URL (the words only while short enough for one)."""
        response = VoiceResponse()
        labels = {o.id: o.label for o in question.options}
        said = f"{self._text('voice_heard')} {labels.get(value, value)}. "
        hints = render.hints(readback.CONFIRM)
        words = {"heard": heard} if len(heard) <= MAX_HEARD else {}
        action = self._url(q=question.id, confirm=value, **words)
        gather = self._gather(response, action, hints, 1)
        self._say(gather, said + self._text("voice_confirm"))
        response.redirect(self._url(q=question.id, noinput=1), method="POST")
        return str(response)

    def try_again(self, question: Question) -> str:
        """The question again, after the caller said the answer read back was wrong."""
        response = VoiceResponse()
        self._say(response, self._text("voice_try_again"))
        speech = render.question_text(self.script, question, self.locale, voice=True)
        self._ask(response, question, speech)
        return str(response)

    def connect(self) -> str:
        """Put the caller through to the clinic; if that ends, say goodbye."""
        response = VoiceResponse()
        self._say(response, self._text("voice_connecting"))
        response.dial(self.settings.clinic_phone)
        self._goodbye(response)
        return str(response)

    def fault(self, words: str) -> str:
        """What a caller hears when we fail: the fault message, then the line closes."""
        response = VoiceResponse()
        self._say(response, words)
        response.hangup()
        return str(response)

    def _advise(self, response: VoiceResponse, reply: Reply) -> None:
        """Speak the advice, offer the menu, then say goodbye."""
        outcome = reply.outcome
        urgent = outcome.level.urgent
        self._say(response, render.speech(self.script, reply))
        if urgent:
            self._say(response, self._text("voice_emergency"))
        offers = menu.offers(self.settings, reply)
        gather = self._gather(response, self._url(end=outcome.id), menu.hints(self.script), 1)
        said = [self._text(key) for key in offers]
        if reply.offer:  # the check-in, by keypad: its text goes to the caller's number
            said.append(render.checkin_line(self.script, reply, "voice_checkin_offer"))
        self._say(gather, " ".join(said))
        self._say(response, self._text("voice_emergency" if urgent else "voice_goodbye"))
        response.hangup()

    def _ask(self, response: VoiceResponse, question: Question | None, prompt: str) -> None:
        """The question (None: the open question) as a Gather, with a reprompt through the
        engine if nothing is heard."""
        # A typed age has more than one digit: it ends with # or a pause instead.
        digits = None if question and question.type == "number" else 1
        waiting = {"q": question.id} if question else {}
        gather = self._gather(response, self._url(**waiting), render.hints(question), digits)
        self._say(gather, prompt)
        response.redirect(self._url(**waiting, noinput=1), method="POST")

    def _goodbye(self, response: VoiceResponse) -> None:
        self._say(response, self._text("voice_goodbye"))
        response.hangup()

    def _gather(self, response, action: str, hints, digits: int | None):
        extra = {"num_digits": digits} if digits else {"timeout": NUMBER_TIMEOUT}
        if hints:
            extra["hints"] = ", ".join(hints)
        return response.gather(
            input="speech dtmf",
            action=action,
            method="POST",
            language=self.language,
            speech_timeout="auto",
            finish_on_key="#",
            **extra,
        )

    def _say(self, node, text: str) -> None:
        node.say(speakable(text), voice=self.voice, language=self.language)

    def _text(self, key: str) -> str:
        return self.script.fill(self.script.messages[key], self.locale)

    def _url(self, **params) -> str:
        """Where Twilio comes back next: this endpoint, one step on."""
        return url_for("voice.call", step=self.step + 1, **params)
