"""`alexa-model`: check or rewrite skill-package/ from the content, or write a deployable copy.

skill-package/ is tracked and carries a placeholder endpoint; `--endpoint URL --certificate
TYPE` writes the package with the real endpoint, and the ASK CLI's ask-resources.json, under
build/ (ignored by git), so deploying never rewrites a tracked file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from skill import content
from skill.channels import alexa_model

DEPLOY_DIR = alexa_model.PACKAGE_DIR.parent / "build" / "alexa"
# Amazon's names: a certificate from a trusted authority, one for a wildcard domain (as tunnels
# such as *.ngrok-free.app have), or self-signed (the skill's test page only).
CERTIFICATE_TYPES = ("Trusted", "Wildcard", "SelfSigned")
# The ASK CLI's project file: the skill package only; the service runs elsewhere.
ASK_RESOURCES = {
    "askcliResourcesVersion": "2020-03-31",
    "profiles": {"default": {"skillMetadata": {"src": "./skill-package"}}},
}


def stale_files(script, package_dir: Path = alexa_model.PACKAGE_DIR) -> list[str]:
    """The files of skill-package/ that differ from what the content generates."""
    return [
        f"skill-package/{rel}"
        for rel, text in alexa_model.package(script).items()
        if not (package_dir / rel).is_file()
        or (package_dir / rel).read_text(encoding="utf-8") != text
    ]


def deployable(script, endpoint: str, certificate: str) -> dict[str, str]:
    """The ASK CLI project for this endpoint: ask-resources.json and the skill package."""
    files = alexa_model.package(script, endpoint)
    manifest = json.loads(files["skill.json"])
    manifest["manifest"]["apis"]["custom"]["endpoint"]["sslCertificateType"] = certificate
    files["skill.json"] = json.dumps(manifest, indent=2) + "\n"
    return {
        "ask-resources.json": json.dumps(ASK_RESOURCES, indent=2) + "\n",
        **{f"skill-package/{rel}": text for rel, text in files.items()},
    }


def _write(directory: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


def alexa_model_command(args) -> int:
    """Check skill-package/ against the content; --write rewrites it; --endpoint writes a
    deployable copy under build/."""
    script = content.load(args.content)
    if args.endpoint:
        if not args.endpoint.startswith("https://"):
            print("alexa-model: --endpoint must be an https:// URL", file=sys.stderr)
            return 2
        _write(Path(args.out), deployable(script, args.endpoint, args.certificate))
        print(f"deploy with: cd {args.out} && ask deploy")
        return 0
    if args.write:
        _write(alexa_model.PACKAGE_DIR, alexa_model.package(script))
        return 0
    stale = stale_files(script)
    for path in stale:
        print(f"out of date: {path}", file=sys.stderr)
    if stale:
        print("run: make content", file=sys.stderr)
        return 1
    print("skill-package/ matches the content")
    return 0


def register(sub) -> None:
    p = sub.add_parser("alexa-model", help=alexa_model_command.__doc__.split(";")[0])
    p.add_argument("--content", default=content.DEFAULT_DIR)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite skill-package/ (else check)")
    mode.add_argument("--endpoint", help="HTTPS URL of POST /alexa: write a deployable copy")
    p.add_argument(
        "--certificate",
        choices=CERTIFICATE_TYPES,
        default="Trusted",
        help="the endpoint's certificate type, with --endpoint (default Trusted)",
    )
    p.add_argument("--out", default=str(DEPLOY_DIR), help="where --endpoint writes (build/alexa)")
    p.set_defaults(func=alexa_model_command)
