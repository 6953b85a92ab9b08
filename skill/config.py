"""Settings from the environment, checked once at start with a clear message per fault.

Settings also come from a `.env` file in the working directory (or the file ENV_FILE names),
read the way `docker run --env-file` reads it, so one file serves `make run`, `make serve` and
the container; a variable set in the environment wins over the file.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

log = logging.getLogger(__name__)
DEV_SECRET = "dev-only-not-secret"
MIN_SECRET = 16  # characters: the key that hashes every address must not be guessable
APP_ENVS = ("development", "production", "test")
ENV_FILE = ".env"
FERNET_HINT = "make one with `python -m skill callback-key` (docs/callbacks.md)"
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
TWILIO_API = "https://api.twilio.com"
_DELAY = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_QUIET = re.compile(r"([0-9]{1,2})-([0-9]{1,2})")


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    state_url: str = "sqlite:///var/triage.db"
    state_secret: str = DEV_SECRET
    default_locale: str = "en-GB"
    conversation_ttl_hours: float = 24.0
    app_env: str = "development"
    # Twilio (messaging and voice)
    twilio_auth_token: str = ""
    twilio_validate: bool = True
    public_base_url: str = ""
    trust_proxy: bool = False  # X-Forwarded-Proto/-Host from one proxy: their last elements
    twilio_account_sid: str = ""
    twilio_from: str = ""
    escalation_sms_to: str = ""
    voice_name: str = ""
    voice_min_confidence: float = 0.5
    clinic_phone: str = ""
    voice_sms_summary: bool = False
    whatsapp_buttons: bool = False  # answer buttons through Content API templates
    # Alexa
    alexa_skill_id: str = ""
    alexa_verify: bool = True
    # Privacy
    audit_days: float = 30.0
    # Web chat: the origins allowed to embed the widget, and its rate limits per 10 minutes
    webchat_origins: tuple[str, ...] = ()
    webchat_token_limit: int = 120
    webchat_client_limit: int = 2000
    # Operations: with a token, /metrics answers only `Authorization: Bearer <token>`
    metrics_token: str = ""
    # Twilio's REST API (a local stand-in for trials and tests: docs/follow-up.md)
    twilio_api_base: str = TWILIO_API
    # The check-in text (docs/follow-up.md): its delay in seconds (0: off), the quiet hours
    # (start, end) in the locale's local time, or None, the WhatsApp template outside the
    # 24-hour window, and the Fernet key for the number (derived from STATE_SECRET if unset)
    checkin_after: float = 2 * 86400.0
    quiet_hours: tuple[int, int] | None = (21, 9)
    whatsapp_checkin_content_sid: str = ""
    checkin_key: str = ""
    # Call back (docs/callbacks.md): offered after consultation advice on channels with a
    # number; the number is kept sealed under CALLBACK_KEY for at most CALLBACK_DAYS.
    callbacks: bool = False
    callback_key: str = ""
    callback_days: float = 7.0

    @property
    def ttl_seconds(self) -> float:
        return self.conversation_ttl_hours * 3600


def _number(env, name: str, default, kind=float, low=None, high=None):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a {kind.__name__}") from None
    if not math.isfinite(value):  # float() takes "nan" and "inf"; no setting means either
        raise SettingsError(f"{name}={raw!r} is not a finite number")
    if low is not None and value < low:
        raise SettingsError(f"{name}={raw!r} must be at least {low}")
    if high is not None and value > high:
        raise SettingsError(f"{name}={raw!r} must be at most {high}")
    return value


def _flag(env, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r}: use 1 or 0")


def read_env_file(path) -> dict[str, str]:
    """NAME=value lines as `docker run --env-file` reads them: no quotes, no expansion.

    Blank lines and lines starting with # are skipped; a missing file gives nothing.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    values = {}
    for number, line in enumerate(lines, 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.isidentifier():
            raise SettingsError(f"{path} line {number}: expected NAME=value")
        values[name] = value
    return values


def environment() -> dict[str, str]:
    """The settings this process sees: the env file, overridden by the real environment."""
    return {**read_env_file(os.environ.get("ENV_FILE") or ENV_FILE), **os.environ}


def _origins(raw: str) -> tuple[str, ...]:
    """WEBCHAT_ORIGINS: a comma list of origins, scheme and host (and port), no path."""
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise SettingsError(
                f"WEBCHAT_ORIGINS: {origin!r} is not an origin like https://clinic.example"
            )
    return origins


def delay(name: str, raw: str) -> float:
    """A delay such as 2d, 48h, 90m or 30s in seconds; "off" (or 0) is 0: no check-in."""
    raw = raw.strip().lower()
    if raw in ("off", "0"):
        return 0.0
    found = _DELAY.fullmatch(raw)
    if not found or float(found[1]) <= 0:
        raise SettingsError(f"{name}={raw!r}: use a delay like 2d, 48h, 90m or 30s, or off")
    return float(found[1]) * _UNITS[found[2]]


def quiet_hours(raw: str) -> tuple[int, int] | None:
    """QUIET_HOURS, such as 21-9: from 21:00 to 09:00 local time; empty for none."""
    if not raw.strip():
        return None
    found = _QUIET.fullmatch(raw.strip())
    hours = (int(found[1]), int(found[2])) if found else None
    if not hours or max(hours) > 23 or hours[0] == hours[1]:
        raise SettingsError(f"QUIET_HOURS={raw!r}: use two different hours like 21-9, or empty")
    return hours


def from_env(env=None, locales=()) -> Settings:
    """Read and check the settings (from `environment()` by default) for the content's locales."""
    env = environment() if env is None else env
    settings = Settings(
        host=env.get("HOST") or Settings.host,
        port=_number(env, "PORT", Settings.port, int, low=1, high=65535),
        state_url=env.get("STATE_URL") or Settings.state_url,
        state_secret=env.get("STATE_SECRET") or DEV_SECRET,
        default_locale=env.get("DEFAULT_LOCALE") or Settings.default_locale,
        conversation_ttl_hours=_number(env, "CONVERSATION_TTL_HOURS", 24.0, low=0.01),
        app_env=env.get("APP_ENV") or Settings.app_env,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
        twilio_validate=_flag(env, "TWILIO_VALIDATE", True),
        public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/"),
        trust_proxy=_flag(env, "TRUST_PROXY", False),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
        twilio_from=env.get("TWILIO_FROM", ""),
        escalation_sms_to=env.get("ESCALATION_SMS_TO", ""),
        voice_name=env.get("VOICE_NAME", ""),
        voice_min_confidence=_number(env, "VOICE_MIN_CONFIDENCE", 0.5, low=0.0, high=1.0),
        clinic_phone=env.get("CLINIC_PHONE", ""),
        voice_sms_summary=_flag(env, "VOICE_SMS_SUMMARY", False),
        whatsapp_buttons=_flag(env, "WHATSAPP_BUTTONS", False),
        alexa_skill_id=env.get("ALEXA_SKILL_ID", ""),
        alexa_verify=_flag(env, "ALEXA_VERIFY", True),
        audit_days=_number(env, "AUDIT_DAYS", 30.0, low=0.0),
        metrics_token=env.get("METRICS_TOKEN", ""),
        webchat_origins=_origins(env.get("WEBCHAT_ORIGINS", "")),
        webchat_token_limit=_number(env, "WEBCHAT_TOKEN_LIMIT", 120, int, low=1),
        webchat_client_limit=_number(env, "WEBCHAT_CLIENT_LIMIT", 2000, int, low=1),
        twilio_api_base=(env.get("TWILIO_API_BASE") or TWILIO_API).rstrip("/"),
        checkin_after=delay("CHECKIN_AFTER", env.get("CHECKIN_AFTER") or "2d"),
        quiet_hours=quiet_hours(env.get("QUIET_HOURS", "21-9")),
        whatsapp_checkin_content_sid=env.get("WHATSAPP_CHECKIN_CONTENT_SID", ""),
        checkin_key=env.get("CHECKIN_KEY", ""),
        callbacks=_flag(env, "CALLBACKS", False),
        callback_key=env.get("CALLBACK_KEY", "").strip(),
        callback_days=_number(env, "CALLBACK_DAYS", 7.0, low=0.01),
    )
    if locales and settings.default_locale not in locales:
        raise SettingsError(
            f"DEFAULT_LOCALE={settings.default_locale!r} is not one of {', '.join(locales)}"
        )
    if not settings.state_url.startswith(("sqlite:///", "memory:", "redis://")):
        raise SettingsError(f"STATE_URL={settings.state_url!r}: use sqlite:///PATH or redis://")
    if settings.state_url in ("sqlite:///", "sqlite:///:memory:"):
        # Each thread's connection would get a database of its own: state lost between turns.
        raise SettingsError(
            f"STATE_URL={settings.state_url!r}: SQLite needs a file path (sqlite:///var/triage.db);"
            " for a store in memory, use memory:"
        )
    account = settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
    if settings.whatsapp_buttons and not account:
        raise SettingsError(
            "WHATSAPP_BUTTONS=1 sends through Twilio's API: set TWILIO_ACCOUNT_SID, "
            "TWILIO_AUTH_TOKEN and TWILIO_FROM"
        )
    _check_follow_up(settings)
    if settings.app_env not in APP_ENVS:
        raise SettingsError(f"APP_ENV={settings.app_env!r}: use one of {', '.join(APP_ENVS)}")
    if settings.app_env == "production":
        _check_production(settings)
    if settings.state_secret == DEV_SECRET:
        log.warning("STATE_SECRET is not set: using a development key. Set it in production.")
    if not settings.twilio_validate:
        log.warning("TWILIO_VALIDATE=0: Twilio signatures are not checked. Local trials only.")
    return settings


def valid_fernet_key(key: str) -> bool:
    """Whether `key` is a Fernet key: 32 bytes in URL-safe base64."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        return False
    return True


def _check_follow_up(settings: Settings) -> None:
    """Twilio's API at an origin, and the keys of the check-ins and call backs, when set,
    Fernet keys."""
    if not _ORIGIN.fullmatch(settings.twilio_api_base):
        raise SettingsError(
            f"TWILIO_API_BASE={settings.twilio_api_base!r}: use an origin like {TWILIO_API}"
        )
    for name, key in (
        ("CHECKIN_KEY", settings.checkin_key),
        ("CALLBACK_KEY", settings.callback_key),
    ):
        if key and not valid_fernet_key(key):
            raise SettingsError(f"{name} is not a Fernet key: {FERNET_HINT}")


def _check_production(settings: Settings) -> None:
    """Production never runs with a request check off, a weak key or webhooks bound to fail."""
    faults = [
        (not settings.twilio_validate, "TWILIO_VALIDATE=0 turns off Twilio's signature check"),
        (not settings.alexa_verify, "ALEXA_VERIFY=0 turns off Alexa's request verification"),
        (settings.state_secret == DEV_SECRET, "STATE_SECRET is not set"),
        (
            len(settings.state_secret) < MIN_SECRET,
            f"STATE_SECRET is shorter than {MIN_SECRET} characters",
        ),
        # Without it every Twilio webhook is refused (403) while the service looks healthy.
        (not settings.twilio_auth_token, "TWILIO_AUTH_TOKEN is not set"),
        # A stand-in for Twilio's API is for trials: texts would go to it, unencrypted.
        (
            not settings.twilio_api_base.startswith("https://"),
            "TWILIO_API_BASE is not an https address",
        ),
        # The development key comes from STATE_SECRET: a leak of one would open the numbers.
        (
            settings.callbacks and not settings.callback_key,
            f"CALLBACKS=1 needs CALLBACK_KEY: {FERNET_HINT}",
        ),
    ]
    for wrong, why in faults:
        if wrong:
            raise SettingsError(f"APP_ENV=production refuses to start: {why}")
