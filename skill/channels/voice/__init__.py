"""Twilio Voice channel: the triage as a phone call, answered by speech or on the keypad.

A call is one conversation, keyed by CallSid. It opens with the greeting and an open question
(content's `voice_describe`): what the caller says is read as a texted first message would be;
silence or a key starts the questions. Each question is a <Gather input="speech dtmf"> whose
action comes back here with the step number and the waiting question in its query
string (Twilio signs that URL too): the step dedupes Twilio's retries on CallSid plus step, and
the question tells what a doubtful answer would do. The URL only correlates: a request given
at another question or advice than the stored state's is not read as an answer (engine.step).
Silence falls through to a <Redirect> that reaches the engine as the SILENCE event, so the
engine's count of unreadable answers gives a reprompt, a second one, then the safe ending; no
call ends without advice. A hang-up closes the conversation (the CLOSE event), keeping its
audit record.

One job per module:
- webhook: the two endpoints, and what each step of a call does;
- call: reading the call's request (who, which step, what was said or pressed, and where);
- readback: the read-back of a low-confidence answer that could lower the advice;
- twiml: writing TwiML (speech that reads cleanly, questions as Gathers, the advice);
- menu: the menu after the advice (again, the clinic, more detail);
- summary: the text of the advice sent to the caller after the call's advice.
"""

from skill.channels.voice.twiml import speakable
from skill.channels.voice.webhook import bp

__all__ = ["bp", "speakable"]
