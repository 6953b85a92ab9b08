"""The console's pages: sign-in and sign-out, the overview and its CSV, the call backs waiting,
try and script."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for

from skill import content
from skill.console import accounts, callbacks, diagram, guard, levels, overview
from skill.console import trial as trial_
from skill.triage import render

REVIEW_SOON_DAYS = 60

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
bp.before_request(guard.check)


@bp.app_template_global()
def csrf_field_value() -> str:
    return guard.csrf_token()


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    """The sign-in form; a good name and password start a session and open the overview."""
    if request.method == "GET":
        return render_template("console/signin.html", fault=None)
    name = request.form.get("username", "").strip().lower()
    password = request.form.get("password", "")
    if guard.too_many_attempts(name):
        fault = "Too many sign-in attempts. Wait 15 minutes, then try again."
        return render_template("console/signin.html", fault=fault), 429
    account = accounts.check(guard.triage().store, name, password)
    if not account:
        fault = "That username and password do not match an account."
        return render_template("console/signin.html", fault=fault), 401
    guard.sign_in(name, account["since"])
    return redirect(url_for("console.home"))


@bp.post("/signout")
def signout():
    session.clear()
    return redirect(url_for("console.signin"))


@bp.get("/")
def home():
    """Counts of triage runs from the audit records, for the last 7, 30 or 90 days."""
    script, found = _counts()
    triage = guard.triage()
    settings = triage.settings
    return render_template(
        "console/overview.html",
        page="overview",
        found=found,
        script=script,
        levels=levels,
        windows=overview.WINDOWS,
        chart=overview.chart(found["per_day"]),
        audit_days=settings.audit_days,
        callbacks_on=settings.callbacks,
        callbacks_waiting=len(triage.store.callbacks(triage.clock())),
    )


@bp.get("/callbacks")
def callbacks_page():
    """The call backs waiting, oldest first, with each runner's number to ring."""
    triage = guard.triage()
    return render_template(
        "console/callbacks.html",
        page="callbacks",
        waiting=callbacks.waiting(triage, triage.clock()),
        settings=triage.settings,
        levels=levels,
        closed=request.args.get("closed"),
    )


@bp.post("/callbacks/done")
def callback_done():
    """Mark a call back made: the request goes, and its number with it."""
    # Two staff may mark the same one: the second is told it was done already, not that a
    # number was deleted.
    closed = guard.triage().store.close_callback(request.form.get("key", ""))
    return redirect(url_for("console.callbacks_page", closed=1 if closed else 0))


@bp.get("/overview.csv")
def overview_csv():
    """The overview's counts as a CSV file."""
    script, found = _counts()
    return Response(
        overview.as_csv(script, found),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=triage-{found['days']}-days.csv"},
    )


def _counts() -> tuple:
    triage = guard.triage()
    days = request.args.get("days", type=int, default=overview.WINDOWS[0])
    if days not in overview.WINDOWS:
        abort(404)
    now = triage.clock()
    return triage.script, overview.counts(triage.script, triage.store.all_audits(now), now, days)


@bp.get("/try")
def try_page():
    """A conversation with the engine itself, beside what it decided."""
    triage = guard.triage()
    kept = session.get("try", {})
    channel = kept.get("channel", "sms")
    locale = kept.get("locale", triage.settings.default_locale)
    trial = trial_.replay(
        triage.script,
        kept.get("messages", []),
        channel,
        locale,
        triage.clock(),
        triage.settings.ttl_seconds,
    )
    return render_template(
        "console/try.html",
        page="try",
        trial=trial,
        channel=channel,
        locale=locale,
        channels=trial_.CHANNELS,
        locales=triage.script.locales,
        script=triage.script,
        levels=levels,
        full=sum(map(len, kept.get("messages", []))) >= trial_.MAX_TOTAL,
        max_message=trial_.MAX_MESSAGE,
    )


@bp.post("/try")
def try_send():
    """Add the tester's message to the trial conversation."""
    kept = session.get("try", {})
    messages = kept.get("messages", [])
    message = request.form.get("message", "")[: trial_.MAX_MESSAGE]
    if sum(map(len, messages)) + len(message) <= trial_.MAX_TOTAL:
        session["try"] = {**kept, "messages": [*messages, message]}
    return redirect(url_for("console.try_page") + "#latest")


@bp.post("/try/restart")
def try_restart():
    """Start a new trial on the chosen channel and locale."""
    channel = request.form.get("channel", "sms")
    locale = request.form.get("locale", "")
    if channel not in trial_.CHANNELS or locale not in guard.triage().script.locales:
        abort(400)
    session["try"] = {"channel": channel, "locale": locale, "messages": []}
    return redirect(url_for("console.try_page"))


@bp.get("/script")
def script_page():
    """The triage script drawn for reading and signing off, with the content check."""
    triage = guard.triage()
    script, locale = triage.script, triage.settings.default_locale
    today = datetime.fromtimestamp(triage.clock(), UTC).date()
    soon = today + timedelta(days=REVIEW_SOON_DAYS)
    reviews = sorted(
        ((o, o.review_due < today) for o in script.outcomes.values() if o.review_due <= soon),
        key=lambda pair: pair[0].review_due,
    )
    disk_fault, disk_version = None, None
    try:  # the files as they are now, which may differ from those loaded at start
        disk_version = content.load().version
    except content.ContentError as err:
        disk_fault = str(err)
    wording = {
        q.id: (
            render.question_text(script, q, locale, voice=False),
            render.question_text(script, q, locale, voice=True),
        )
        for q in script.questions.values()
    }
    return render_template(
        "console/script.html",
        page="script",
        script=script,
        d=diagram.layout(script),
        answers=diagram.answers,
        levels=levels,
        locale=locale,
        wording=wording,
        today=today,
        reviews=reviews,
        soon_days=REVIEW_SOON_DAYS,
        disk_fault=disk_fault,
        disk_version=disk_version,
    )


@bp.app_errorhandler(403)
def refused(err):
    if request.blueprint != "console":
        return err
    return render_template("console/refused.html", why=err.description), 403
