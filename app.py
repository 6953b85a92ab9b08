"""App factory: loads the content, opens the store and wires each channel's blueprint."""

from __future__ import annotations

import logging
from html import escape

from flask import Flask, Response, jsonify

from skill import config, console, content, service
from skill.channels import alexa
from skill.channels.messaging import blueprint as messaging
from skill.channels.outbound import OutboundSMS
from skill.channels.voice import bp as voice_bp
from skill.channels.web import SECURITY_HEADERS as WEB_HEADERS
from skill.channels.web import bp as web_bp
from skill.channels.whatsapp_buttons import WhatsAppButtons
from skill.followup.checkins import Checkins
from skill.ops import bodies, endpoints, headers, logs
from skill.stores import Store, open_store

MAX_BODY = 64 * 1024  # Twilio's and Alexa's requests are a few KiB; larger ones get 413
# Our answers are TwiML, JSON and text for machines: nothing to frame, sniff, cache or run.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'",
    "Cache-Control": "no-store",
}
# Pages for people loosen a header or two for themselves (their own styles, say).
BLUEPRINT_HEADERS = {"console": console.SECURITY_HEADERS, "web": WEB_HEADERS}


def create_app(
    settings: config.Settings | None = None,
    script: content.Script | None = None,
    *,
    store: Store | None = None,
    outbound: OutboundSMS | None = None,
    alexa_certificates: alexa.CertificateCache | None = None,
    whatsapp_buttons: WhatsAppButtons | None = None,
    clock=None,
):
    """Build the Flask app; tests pass their own settings and content, and may pass the parts
    that stand in for what they cannot reach (Twilio's API, Amazon's certificate host), and
    the clock."""
    logs.setup()
    try:
        script = script or content.load()
        settings = settings or config.from_env(locales=tuple(script.locales))
    except (content.ContentError, config.SettingsError) as err:
        # One clear line naming the file and place, or the setting, instead of a traceback;
        # exit status 3 is gunicorn's boot error, so its master stops rather than retrying.
        logging.getLogger(__name__).critical("not starting: %s", err)
        raise SystemExit(3) from None
    for warning in script.warnings:
        logging.getLogger(__name__).warning(warning)
    app = Flask(__name__)
    app.request_class = bodies.Request
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.wsgi_app = bodies.bound_bodies(app.wsgi_app, MAX_BODY)  # slow clients get 408
    app.wsgi_app = headers.secured(app.wsgi_app, SECURITY_HEADERS, BLUEPRINT_HEADERS)
    store = store or open_store(
        settings.state_url,
        audit_seconds=settings.audit_days * 86400,
        callback_seconds=settings.callback_days * 86400,
    )
    outbound = outbound or OutboundSMS.from_settings(settings)
    triage = service.Triage(script, store, settings, outbound=outbound, **_clock(clock))
    # Check-ins need texts out; the jobs are run by `python -m skill run` or `worker`.
    triage.checkins = Checkins.of(triage)
    app.extensions["checkins"] = triage.checkins
    service.init_app(app, triage)
    endpoints.init_app(app)
    if settings.whatsapp_buttons:
        app.extensions["whatsapp_buttons"] = whatsapp_buttons or WhatsAppButtons(settings)
    app.register_blueprint(messaging)
    app.register_blueprint(voice_bp)
    app.register_blueprint(web_bp)
    alexa.init_app(app, settings, alexa_certificates or alexa.CertificateCache())
    console.init_app(app)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", content=script.version)

    page = _landing_page(script)

    @app.get("/")
    def landing():
        return Response(page, mimetype="text/html")

    return app


def _clock(clock) -> dict:
    return {"clock": clock} if clock else {}


def _landing_page(script: content.Script) -> str:
    """What someone who opens the address in a browser sees: what this is, and where to look."""
    name, summary = escape(script.name), escape(script.fill(script.messages["skill_summary"], "en"))
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{name}</title>'
        f"</head><body>\n<h1>{name}</h1>\n<p>{summary}</p>\n"
        "<p>This address serves the SMS, WhatsApp, phone and Alexa webhooks. Clinic staff: "
        '<a href="/console/">the console</a>. Health: <a href="/healthz">/healthz</a>, '
        'readiness: <a href="/readyz">/readyz</a>, metrics: <a href="/metrics">/metrics</a>.</p>\n'
        "<p>Setting it up: README.md and docs/deploy.md in the repository; the HTTP interface "
        "is openapi.yaml.</p>\n</body></html>\n"
    )
