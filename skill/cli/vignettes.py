"""`vignettes`: play written cases through the engine and count under- and over-triage."""

from __future__ import annotations

import dataclasses
import json

from skill import content
from skill.cli import reported
from skill.safety import vignettes


@reported
def run_vignettes(args) -> int:
    """Run vignette cases through the engine; exit 1 on any under-triage or missed red flag."""
    script = content.load(args.content)
    cases = vignettes.load_cases(args.file)
    if args.understanding:
        readings = [vignettes.read_opening(script, c) for c in cases]
        summary = vignettes.understanding(readings)
        if args.json:
            openings = [dataclasses.asdict(r) for r in readings]
            print(json.dumps({"openings": openings, "totals": summary}))
        else:
            print(vignettes.understanding_table(readings))
        return 1 if summary["red_flags_missed"] else 0
    results = [vignettes.run(script, case, args.locale, args.style, args.seed) for case in cases]
    print(json.dumps(vignettes.as_json(results)) if args.json else vignettes.table(results))
    return 1 if vignettes.totals(results)["under"] else 0


def register(sub) -> None:
    p = sub.add_parser("vignettes", help=run_vignettes.__doc__)
    p.add_argument("file")
    p.add_argument("--locale", default=None, help="for cases that name none (default en-GB)")
    p.add_argument("--content", default=content.DEFAULT_DIR)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--understanding", action="store_true", help="measure the openings instead")
    p.add_argument(
        "--style",
        default="plain",
        choices=vignettes.STYLES,
        help="how the runner answers: plain yes/no, or as people text",
    )
    p.add_argument("--seed", type=int, default=0, help="for the people style: runs repeat")
    p.set_defaults(func=run_vignettes)
