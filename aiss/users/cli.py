"""`aiss users create|set-password|list`: manage accounts from a shell on the host."""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING

import anyio

from actors import Strategy, running

from ..auth.passwords import check_strength
from ..errors import AissError
from ..storage.stores import build_mongo
from ..tree import supervisor
from . import messages as m
from .service import build_users

if TYPE_CHECKING:
    import argparse

    from ..config import Settings
    from .service import Users


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="manage user accounts")
    actions = users.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="list users")
    create = actions.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=["user", "admin"], default="user")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    reset = actions.add_parser("set-password", help="set a user's password (revokes its tokens)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read it from stdin")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("aiss: the passwords differ")
    return first


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return anyio.run(_run, settings, args)
    except AissError as exc:
        print(f"aiss: {exc.message}", file=sys.stderr)
        return 1


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    children, mongo = build_mongo(settings, probe_interval=0.2)
    users = build_users(settings, mongo, announce=lambda p: print(f"admin password: {p}"))
    tree = supervisor(settings, "cli", [*children, mongo, users.tree], Strategy.REST_FOR_ONE)
    async with running(tree):
        with anyio.fail_after(15):
            await mongo.breaker.wait_healthy()
        return await _act(users, args)


async def _act(users: Users, args: argparse.Namespace) -> int:
    ref = users.ref
    if args.action == "list":
        page = await ref.ask(m.ListUsers(0, 10_000))
        for user in page.items:
            state = "active" if user.active else "inactive"
            print(f"{user.username}\t{user.email}\t{user.role}\t{state}")
        return 0
    secret = _password(args.password_stdin)
    if args.action == "create":
        check_strength(secret, username=args.username, email=args.email)
        hashed = await users.passwords.hash(secret)
        user = await ref.ask(m.CreateUser(args.username, args.email, hashed, args.role))
        print(f"created {user.username} ({user.role}) with id {user.id}")
        return 0
    user = await ref.ask(m.FindUser(args.username))
    check_strength(secret, username=user.username, email=user.email)
    await ref.ask(m.SetPassword(user.id, await users.passwords.hash(secret), "cli"))
    print(f"password of {user.username} changed; its tokens are revoked")
    return 0
