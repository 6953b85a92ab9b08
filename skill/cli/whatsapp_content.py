"""`whatsapp-content`: the WhatsApp button templates the content needs; --sync makes them."""

from __future__ import annotations

import json
import sys

from skill import config, content
from skill.channels.whatsapp_buttons import WhatsAppButtons, templates


def whatsapp_content(args) -> int:
    """List the WhatsApp button templates the content needs; --sync makes or refreshes them."""
    script = content.load(args.content)
    try:
        settings = config.from_env()
    except config.SettingsError as err:
        print(f"setting fault: {err}", file=sys.stderr)
        return 2
    needed = templates(script)
    if not args.sync:
        for name, body in needed.items():
            print(name, json.dumps(body["types"]))
        return 0
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        print("whatsapp-content: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", file=sys.stderr)
        return 2
    made, deleted = WhatsAppButtons(settings).sync(script)
    print(f"{len(needed)} templates: {len(made)} made, {len(deleted)} old ones deleted")
    return 0


def register(sub) -> None:
    p = sub.add_parser("whatsapp-content", help=whatsapp_content.__doc__)
    p.add_argument("--content", default=content.DEFAULT_DIR)
    p.add_argument("--sync", action="store_true", help="make them in the Twilio account")
    p.set_defaults(func=whatsapp_content)
