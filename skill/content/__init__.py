"""Content: the triage script, outcomes, red flags, phrases, locales and messages from YAML.

`load` reads and validates `content/*.yaml`; the types in `model` are what the engine reads.
Every fault names the file, the place in it and what is wrong, so a clinician can fix the
content without reading Python.
"""

from skill.content.loader import DEFAULT_DIR, digest, load
from skill.content.model import (
    ContentError,
    Level,
    Locale,
    Option,
    Outcome,
    Question,
    RedFlag,
    Script,
)

__all__ = [
    "DEFAULT_DIR",
    "ContentError",
    "Level",
    "Locale",
    "Option",
    "Outcome",
    "Question",
    "RedFlag",
    "Script",
    "digest",
    "load",
]
