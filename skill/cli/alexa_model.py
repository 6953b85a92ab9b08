"""`alexa-model`: write or check the Alexa skill package generated from the content."""

from __future__ import annotations

import sys

from skill import content
from skill.channels import alexa_model


def alexa_model_command(args) -> int:
    """Generate the Alexa skill package from the content; --write saves it, else check it."""
    script = content.load(args.content)
    if args.write:
        for path in alexa_model.write(script, endpoint=args.endpoint):
            print(f"wrote {path.relative_to(alexa_model.PACKAGE_DIR.parent)}")
        return 0
    stale = [
        rel for rel, text in alexa_model.package(script).items()
        if not (alexa_model.PACKAGE_DIR / rel).is_file()
        or (alexa_model.PACKAGE_DIR / rel).read_text(encoding="utf-8") != text
    ]  # fmt: skip
    for rel in stale:
        print(f"out of date: skill-package/{rel}", file=sys.stderr)
    if stale:
        print("run: python -m skill alexa-model --write", file=sys.stderr)
        return 1
    print("skill-package/ matches the content")
    return 0


def register(sub) -> None:
    p = sub.add_parser("alexa-model", help=alexa_model_command.__doc__)
    p.add_argument("--content", default=content.DEFAULT_DIR)
    p.add_argument("--write", action="store_true", help="write skill-package/ (else only check)")
    p.add_argument("--endpoint", default=alexa_model.ENDPOINT, help="HTTPS URL of POST /alexa")
    p.set_defaults(func=alexa_model_command)
