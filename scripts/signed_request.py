"""Send messages to a running service the way Twilio does, signed with TWILIO_AUTH_TOKEN.

    TWILIO_AUTH_TOKEN=dev-token .venv/bin/python scripts/signed_request.py hello no no 34

Each argument is one inbound message from the same sender; the TwiML reply is printed. The
token comes from --token, else the environment, else .env, as the service reads it.
"""

from __future__ import annotations

import argparse
import sys
import uuid

import requests
from twilio.request_validator import RequestValidator

from skill.config import environment


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages", nargs="+", help="message texts, sent one after another")
    parser.add_argument(
        "--url",
        default="http://127.0.0.1:5000/twilio/messaging",
        help="the URL Twilio would call (PUBLIC_BASE_URL + path if set)",
    )
    parser.add_argument(
        "--from",
        dest="sender",
        default="+447700900123",
        help="sender: a number, or whatsapp:+44... for WhatsApp",
    )
    parser.add_argument("--token", default=environment().get("TWILIO_AUTH_TOKEN", ""))
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("set TWILIO_AUTH_TOKEN (the same value the service runs with) or --token")
    validator = RequestValidator(args.token)
    for body in args.messages:
        fields = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": args.sender,
            "To": "+447700900999",
            "Body": body,
            "NumMedia": "0",
        }
        signature = validator.compute_signature(args.url, fields)
        response = requests.post(
            args.url, data=fields, headers={"X-Twilio-Signature": signature}, timeout=15
        )
        print(f"> {body}\n< {response.status_code} {response.text}\n")
        if response.status_code != 200:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
