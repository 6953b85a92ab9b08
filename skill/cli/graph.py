"""`graph`: the triage script as a flowchart, printed or written into a document."""

from __future__ import annotations

from skill import content
from skill.cli import reported
from skill.safety import graph


@reported
def draw(args) -> int:
    """Print the triage script as a flowchart, or write it into a README's mermaid block."""
    script = content.load(args.path)
    chart = graph.dot(script) if args.format == "dot" else graph.mermaid(script)
    if args.into:
        with open(args.into, encoding="utf-8") as f:
            text = graph.embed(f.read(), chart)
        with open(args.into, "w", encoding="utf-8") as f:
            f.write(text)
        return 0
    print(chart)
    return 0


def register(sub) -> None:
    p = sub.add_parser("graph", help=draw.__doc__)
    p.add_argument("path", nargs="?", default=content.DEFAULT_DIR)
    p.add_argument("--format", default="mermaid", choices=("mermaid", "dot"))
    p.add_argument("--into", metavar="README", help="replace the first mermaid block in this file")
    p.set_defaults(func=draw)
