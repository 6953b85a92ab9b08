"""Run the local stand-in for Twilio's REST API (tests/fake_twilio.py) and print each message
the service sends to it, for trying the check-in loop locally (docs/follow-up.md):

    .venv/bin/python scripts/fake_twilio.py --port 8099

Start the service with TWILIO_API_BASE=http://127.0.0.1:8099. Every message is accepted; the
stand-in keeps nothing once stopped (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099, help="the loopback port to listen on")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's tests/
    from tests.fake_twilio import FakeTwilio

    fake = FakeTwilio(port=args.port)
    print(f"Twilio's API stand-in on {fake.base}: Ctrl-C stops it", flush=True)
    shown = 0
    try:
        while True:
            fake.wait(lambda seen=shown: len(fake.messages) > seen, 3600)
            for message in fake.messages[shown:]:
                what = message.get("Body") or f"template {message.get('ContentSid')}"
                print(f"to {message.get('To')}: {what}", flush=True)
            shown = len(fake.messages)
    except KeyboardInterrupt:
        fake.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
