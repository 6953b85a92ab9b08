"""`users`: add a clinic console account (or set its password), or remove one."""

from __future__ import annotations

import getpass
import hmac
import sys
import time

from skill.cli import state_store


def users(args) -> int:
    """Add a clinic console account (or set its password), or remove one."""
    from skill.console import accounts  # only this command needs the console (and Flask)

    store = state_store()
    if store is None:
        return 2
    if args.action == "remove":
        if not accounts.remove(store, args.name):
            print(f"users: no account named {args.name!r}", file=sys.stderr)
            return 1
        print(f"removed {args.name}")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if not hmac.compare_digest(getpass.getpass("Again: ").encode(), password.encode()):
            print("users: the passwords differ", file=sys.stderr)
            return 1
    try:
        accounts.add(store, args.name, password, time.time())
    except accounts.AccountError as err:
        print(f"users: {err}", file=sys.stderr)
        return 1
    print(f"{args.name} can sign in to /console/")
    return 0


def register(sub) -> None:
    p = sub.add_parser("users", help=users.__doc__)
    actions = p.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create an account or set a new password")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read one line as password")
    actions.add_parser("remove", help="delete an account").add_argument("name")
    p.set_defaults(func=users)
