"""`callback-key`: print a new Fernet key for CALLBACK_KEY (docs/callbacks.md)."""

from __future__ import annotations

from cryptography.fernet import Fernet


def callback_key(args) -> int:
    """Print a new key for CALLBACK_KEY, which seals call-back numbers at rest."""
    print(Fernet.generate_key().decode())
    return 0


def register(sub) -> None:
    sub.add_parser("callback-key", help=callback_key.__doc__).set_defaults(func=callback_key)
