"""Staff accounts for the clinic console: scrypt password hashes kept in the state store.

scrypt is in the standard library (OpenSSL) and memory-hard, so no new dependency is needed.
Its cost is kept with each hash, so raising it later still verifies the hashes made before.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re

from skill.stores import Store

# OWASP's scrypt setting for 32 MiB of memory: N=2^15, r=8, p=3.
COST = {"n": 2**15, "r": 8, "p": 3}
MIN_PASSWORD = 12  # characters
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")


class AccountError(ValueError):
    """A name or password the console cannot take."""


def hash_password(password: str) -> str:
    """scrypt$n$r$p$salt$digest, with the salt and digest in base64."""
    n, r, p = COST["n"], COST["r"], COST["p"]
    salt = os.urandom(16)
    digest = _scrypt(password, salt, n, r, p)
    return "$".join(["scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)])


def verify_password(password: str, hashed: str) -> bool:
    """True when the password makes the hash; False for any other password or a damaged hash."""
    try:
        kind, n, r, p, salt, digest = hashed.split("$")
        if kind != "scrypt":
            return False
        made = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(made, base64.b64decode(digest))


@functools.cache
def _nobody() -> str:
    """Checked against when the name is unknown, so a wrong name takes as long as a wrong
    password and does not tell which names exist."""
    return hash_password(os.urandom(16).hex())


def add(store: Store, name: str, password: str, now: float) -> None:
    """Create the account, or give an existing one a new password (ending its sessions)."""
    if not NAME.fullmatch(name):
        raise AccountError("a name is 1-40 lower-case letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    store.put_user(name, {"hash": hash_password(password), "since": now})


def remove(store: Store, name: str) -> bool:
    """Delete the account; False when there was none. Its sessions end at their next request."""
    return store.remove_user(name)


def check(store: Store, name: str, password: str) -> dict | None:
    """The account when the name and password match, else None."""
    account = store.user(name) if NAME.fullmatch(name) else None
    matches = verify_password(password, account["hash"] if account else _nobody())
    return account if account and matches else None


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem must cover 128 * n * r bytes; twice that leaves room for the parallel lanes.
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
