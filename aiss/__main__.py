"""The `aiss` command line.

Imports are absolute: worker processes (anyio.to_process) import this module
by its path when AISS runs as `python -m aiss`.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sys
from typing import TYPE_CHECKING

import uvicorn

from aiss import tlscert
from aiss.app import create_app
from aiss.config import ROLE_PORTS, ROLES, ConfigError, Settings
from aiss.documents import cli as reindex_cli
from aiss.embedding import cli as models_cli
from aiss.errors import AissError
from aiss.logs import configure_logging
from aiss.users import cli as users_cli

if TYPE_CHECKING:
    from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiss", description="AISS knowledge and terminals.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--role", choices=ROLES, help="run only this part (default: all)")
    serve.add_argument("--host", help="address to listen on (default: AISS_HOST or 127.0.0.1)")
    serve.add_argument(
        "--port",
        type=int,
        help="port to listen on (default: API_GATEWAY_PORT for all and gateway,"
        " else the role's classic port)",
    )
    users_cli.add_commands(commands)
    models_cli.add_commands(commands)
    reindex_cli.add_commands(commands)
    tlscert.add_commands(commands)
    return parser


def _reachable(host: str) -> str:
    """The address others reach this process at: terminal streams are routed to it."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    try:  # in a container: its address on the service network
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return socket.gethostname()


def serve_settings(settings: Settings, args: argparse.Namespace) -> Settings:
    """Apply command-line choices over the environment's."""
    role = args.role or settings.role
    port = args.port
    if port is None:
        port = settings.port if role in ("all", "gateway") else ROLE_PORTS[role]
    host = args.host or settings.host
    node = settings.node or f"{_reachable(host)}:{port}"
    chosen = dataclasses.replace(settings, role=role, host=host, port=port, node=node)
    if problems := chosen.role_problems():
        raise ConfigError(problems)
    return chosen


class Server(uvicorn.Server):
    """uvicorn's server, ending terminal sessions before it closes their sockets.

    uvicorn closes WebSockets (1012) before the app's lifespan ends; draining
    first lets every viewer receive its session's exit status.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.app
        drain = getattr(getattr(app, "state", None), "drain", None)
        if drain is not None:
            await drain()
        await super().shutdown(sockets)


def serve(settings: Settings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fatal: list[Exception] = []

    def on_fatal(exc: Exception) -> None:
        fatal.append(exc)
        server.should_exit = True

    try:
        app = create_app(settings, on_fatal=on_fatal)
    except AissError as exc:
        print(f"aiss: {exc.message}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_ping_interval=30.0,  # terminals: a dead peer is noticed within a minute
        ws_ping_timeout=30.0,
        # Compressing terminal output costs more server CPU than it saves on a LAN;
        # flow control already keeps a slow link from being flooded.
        ws_per_message_deflate=False,
        lifespan="on",
        # The client's address and scheme come from X-Forwarded-* of these peers only.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout) or 1,
    )
    server = Server(config)
    server.run()
    if not server.started:
        return 3
    return 1 if fatal else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            settings = serve_settings(settings, args)
    except ConfigError as exc:
        print(f"aiss: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if args.command == "users":
        return users_cli.run(settings, args)
    if args.command == "models":
        return models_cli.run(settings, args)
    if args.command == "reindex":
        return reindex_cli.run(settings, args)
    if args.command == "tls-cert":
        return tlscert.run(args)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
