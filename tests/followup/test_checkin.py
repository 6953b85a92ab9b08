"""The check-in loop over the real signed webhooks, its texts sent to the local stand-in for
Twilio's REST API (TWILIO_API_BASE), its jobs on a real queue (huey, on a SQLite file beside
the state's), run by an in-process consumer as `python -m skill run` runs them."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from skill.console import accounts
from skill.content import Level
from tests.console.test_accounts import PASSWORD, sign_in
from tests.followup.conftest import RUNNER
from tests.texting import advised, asked

WAIT = 15  # seconds at most for a check-in due in one (a bound, not a measure)
WHATSAPP = f"whatsapp:{RUNNER}"
TEMPLATE = "HX" + "1" * 32


def eventually(what, timeout: float = WAIT) -> bool:
    """Whether what() comes true within timeout seconds, looking every 50 ms."""
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def texts_to(twilio_api, to: str = RUNNER) -> list[dict]:
    return [m for m in twilio_api.messages if m["To"] == to]


def book(service, sender: str = RUNNER) -> None:
    """Reach self-care advice, which ends with the offer, and say yes to it."""
    reply = service.to_advice("self_care", sender)
    assert reply.endswith(service.offer())
    assert service.text("YES", sender) == service.words("checkin_booked")


def checked_in(service, twilio_api, sender: str = RUNNER) -> dict:
    """Book the check-in and wait for it; the message Twilio's API was given."""
    book(service, sender)
    assert twilio_api.wait(lambda: texts_to(twilio_api, sender), WAIT)
    [sent] = texts_to(twilio_api, sender)
    return sent


def test_yes_books_a_check_in_that_arrives_and_worse_triages_again(service, twilio_api, script):
    sent = checked_in(service, twilio_api)
    assert sent["Body"] == service.words("checkin_ask")
    assert sent["From"] == service.settings.twilio_from
    reply = service.text("worse")
    assert reply.startswith(service.words("checkin_worse"))
    assert asked(script, reply).id == script.start  # the whole triage again, red flags first
    reply = service.to_advice("self_care", reply=reply)  # answers that alone give self care
    advice = advised(script, reply)
    assert advice.level >= Level.CONSULTATION and advice.id == script.not_better
    assert service.offer() not in reply  # a follow-up offers no second check-in
    [followup] = service.followups()
    assert followup == {"after": followup["after"], "answer": "worse", "level": advice.level}
    assert script.outcomes[followup["after"]].level == Level.SELF_CARE


def test_a_red_flag_at_the_check_in_gets_its_advice_at_once(service, twilio_api, script):
    checked_in(service, twilio_api)
    flag = next(f for f in script.red_flags if f.examples and f.outcome != script.not_better)
    advice = advised(script, service.text(f"same really, but {flag.examples[0]}"))
    assert advice.id == flag.outcome and advice.level > Level.CONSULTATION
    assert service.followups()[0]["answer"] == "worse"


def test_same_after_self_care_gives_consultation_advice(service, twilio_api, script):
    checked_in(service, twilio_api)
    reply = service.text("about the same")
    assert reply.startswith(service.words("checkin_same"))
    advice = advised(script, reply)
    assert advice.id == script.not_better and advice.level == Level.CONSULTATION
    assert service.followups()[0] == {
        "after": service.followups()[0]["after"],
        "answer": "same",
        "level": Level.CONSULTATION,
    }


def test_better_closes_with_return_to_running_advice(service, twilio_api):
    checked_in(service, twilio_api)
    assert service.text("Better thanks") == service.words("checkin_better")
    [followup] = service.followups()
    assert followup["answer"] == "better" and followup["level"] == Level.SELF_CARE


def test_no_answer_is_recorded_as_none(service, twilio_api, script):
    checked_in(service, twilio_api)
    [followup] = service.followups()
    assert followup["answer"] == "none"
    assert script.outcomes[followup["after"]].level == followup["level"] == Level.SELF_CARE


def test_an_answer_that_is_none_of_them_is_asked_again(service, twilio_api):
    checked_in(service, twilio_api)
    assert service.text("hmm") == service.words("checkin_unclear")
    assert service.followups()[0]["answer"] == "none"


def test_nothing_is_sent_without_a_yes(service, twilio_api):
    reply = service.to_advice("self_care")
    assert reply.endswith(service.offer())
    service.text("thanks")
    time.sleep(3)  # three times the delay: a check-in would have gone by now
    assert texts_to(twilio_api) == []


def test_stop_cancels_the_pending_check_in(make_service, checkin_settings, twilio_api):
    service = make_service(replace(checkin_settings, checkin_after=3.0))
    book(service)
    assert status(service) == "pending"
    assert service.text("STOP") is None
    assert status(service) is None  # forgotten
    time.sleep(5)
    assert texts_to(twilio_api) == []


def status(service, sender: str = RUNNER) -> str | None:
    record = service.checkins.due(service.key(sender), time.time())
    return record and record["status"]


def test_a_re_run_job_sends_nothing(service, twilio_api):
    checked_in(service, twilio_api)
    assert eventually(lambda: status(service) == "sent")
    record = service.checkins.due(service.key(), time.time())
    assert service.checkins.send(service.key(), record["id"]) == "nothing"
    assert len(texts_to(twilio_api)) == 1


def test_advice_to_go_now_has_no_offer(service, script):
    flag = next(f for f in script.red_flags if f.examples)
    reply = service.text(flag.examples[0])
    assert advised(script, reply).level.urgent
    assert service.offer() not in reply
    assert service.text("yes") != service.words("checkin_booked")


def test_quiet_hours_defer_to_the_next_allowed_local_time(
    make_service, checkin_settings, twilio_api, script
):
    zone = ZoneInfo(script.locales["en-GB"].timezone)
    hour = datetime.now(zone).hour
    if datetime.now(zone).minute == 59:  # the hour could end before the booking
        time.sleep(61 - datetime.now(zone).second)
        hour = datetime.now(zone).hour
    quiet = (hour, (hour + 1) % 24)  # covering the current hour
    service = make_service(replace(checkin_settings, quiet_hours=quiet))
    book(service)
    time.sleep(3)
    assert texts_to(twilio_api) == []
    record = service.checkins.due(service.key(), time.time())
    wanted = datetime.now(zone).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert record["status"] == "pending"
    assert datetime.fromtimestamp(record["due"], zone) == wanted


def test_whatsapp_outside_the_24_hour_window_gets_the_template(
    make_service, checkin_settings, twilio_api
):
    settings = replace(checkin_settings, whatsapp_checkin_content_sid=TEMPLATE, checkin_after=2.0)
    service = make_service(settings)
    book(service, WHATSAPP)
    service.clock.offset = 25 * 3600  # when the job runs, a day and more has gone by
    assert twilio_api.wait(lambda: texts_to(twilio_api, WHATSAPP), WAIT)
    [sent] = texts_to(twilio_api, WHATSAPP)
    assert sent["ContentSid"] == TEMPLATE and "Body" not in sent
    assert sent["From"] == f"whatsapp:{settings.twilio_from}"


def test_whatsapp_inside_the_window_gets_words(make_service, checkin_settings, twilio_api):
    settings = replace(checkin_settings, whatsapp_checkin_content_sid=TEMPLATE)
    service = make_service(settings)
    sent = checked_in(service, twilio_api, WHATSAPP)
    assert sent["Body"] == service.words("checkin_ask") and "ContentSid" not in sent


def test_whatsapp_without_a_template_is_not_offered(service, twilio_api, script):
    reply = service.to_advice("self_care", WHATSAPP)
    assert advised(script, reply).level == Level.SELF_CARE
    assert service.offer() not in reply
    assert service.text("yes", WHATSAPP) != service.words("checkin_booked")
    time.sleep(2)
    assert texts_to(twilio_api, WHATSAPP) == []


def test_an_opted_out_number_is_marked_and_never_tried_again(service, twilio_api):
    twilio_api.failures = [(400, 21610)]  # Twilio: the number has replied STOP to us
    book(service)
    assert twilio_api.wait(lambda: twilio_api.attempts, WAIT)
    assert eventually(lambda: status(service) == "opted_out")
    assert service.text("hello") != service.words("checkin_unclear")  # no question was asked
    service.text("restart")
    book(service)
    assert eventually(lambda: status(service) == "opted_out")
    assert len(twilio_api.attempts) == 1 and twilio_api.messages == []


def test_a_busy_api_is_tried_again_and_the_check_in_sent_once(service, twilio_api):
    twilio_api.failures = [429, 503]
    checked_in(service, twilio_api)
    assert len(twilio_api.attempts) == 3 and len(texts_to(twilio_api)) == 1


def test_the_number_is_stored_only_encrypted(service, twilio_api, checkin_settings, tmp_path):
    book(service)
    digits = RUNNER.removeprefix("+").encode()
    files = sorted(tmp_path.glob("*.db*"))
    assert any(path.name.startswith("state.db") for path in files)  # the store's own files
    for path in files:
        assert digits not in path.read_bytes(), path.name
    checked_in_texts = twilio_api.wait(lambda: texts_to(twilio_api), WAIT)
    assert checked_in_texts
    for path in tmp_path.glob("*.db*"):
        assert digits not in path.read_bytes(), path.name


def test_the_console_counts_outcomes_at_follow_up_by_condition(service, twilio_api, script):
    other = "+447700900124"
    checked_in(service, twilio_api)
    checked_in(service, twilio_api, other)
    service.text("better")  # the other runner does not answer
    accounts.add(service.checkins.triage.store, "ana", PASSWORD, now=1.0)
    sign_in(service.client, "ana", PASSWORD)
    rows = csv.DictReader(io.StringIO(service.client.get("/console/overview.csv").text))
    found = {r["value"]: r["runs"] for r in rows if r["count"] == "followup"}
    condition = service.followups()[0]["after"]
    assert found[f"{condition}:better"] == "1" and found[f"{condition}:none"] == "1"
    assert found[f"{condition}:same"] == found[f"{condition}:worse"] == "0"
    runs = csv.DictReader(io.StringIO(service.client.get("/console/overview.csv").text))
    assert next(r["runs"] for r in runs if r["count"] == "runs") == "2"  # first contacts only
    page = service.client.get("/console/").text
    assert "Outcomes at follow-up" in page and script.outcomes[condition].title in page


def test_a_job_run_late_into_the_quiet_hours_waits_for_their_end(
    make_service, checkin_settings, twilio_api, script
):
    """A worker that was down runs a due check-in late: in the quiet hours it waits."""
    zone = ZoneInfo(script.locales["en-GB"].timezone)
    later = datetime.now(zone) + timedelta(hours=3)
    quiet = (later.hour, (later.hour + 1) % 24)
    service = make_service(replace(checkin_settings, quiet_hours=quiet, checkin_after=2.0))
    book(service)  # due in two seconds: not in the quiet hours
    service.clock.offset = 3 * 3600  # but the job runs three hours late, inside them
    time.sleep(4)
    assert texts_to(twilio_api) == []
    record = service.checkins.due(service.key(), service.clock())
    wanted = later.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert record["status"] == "pending"
    assert abs(record["due"] - wanted.timestamp()) < 60
