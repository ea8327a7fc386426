"""``helpbridge-server``: serve the vendor service, and the operator's tools.

    helpbridge-server [--host 127.0.0.1] [--port 8765] [--data-dir DIR]
                      [--database-url URL] [--demo] [--port-file FILE]
    helpbridge-server sign-identity --kid K --sub ID [--name ...] [--ttl 2h]
    helpbridge-server create-agent --email E --name N [--role agent] [--password-stdin]
    helpbridge-server import-kb DIR
    helpbridge-server identity-key add|list|revoke ...
    helpbridge-server backup DEST | restore SRC [--force]
    helpbridge-server agent list|disable|enable|sign-out|reset-password|grant|revoke|
                            reset-grant|max-chats --email E ...
    helpbridge-server group list|add|remove|add-member|remove-member ...
    helpbridge-server api-token list|create|revoke ...

Secrets never travel on the command line: passwords and key secrets are read
from stdin (or generated and shown once).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import re
import secrets
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from server import team

from protocol.models import Role, Tier
from server import __version__, audit, logs, models

log = logging.getLogger("helpbridge.server")

_TTL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


class CliError(Exception):
    """A mistake on the command line or in the data, with a message to print."""


def parse_ttl(text: str) -> timedelta:
    m = _TTL.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 90s, 30m, 2h, 1d)")
    value, unit = int(m.group(1)), m.group(2) or "s"
    return timedelta(seconds=value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def _add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, help="data directory (default: per-user)")
    p.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://...")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpbridge-server", description="HelpBridge vendor service."
    )
    parser.add_argument("--version", action="version", version=f"helpbridge-server {__version__}")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--demo", action="store_true", help="seed demo data and print sign-in help")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    _add_storage(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("sign-identity", help="print a customer identity token (for integrating)")
    _add_storage(p)
    p.add_argument("--kid", required=True)
    p.add_argument("--sub", required=True, help="the ISV's customer id")
    for name in ("name", "email", "phone", "company", "product", "product-version"):
        p.add_argument(f"--{name}")
    p.add_argument("--tier", choices=[t.value for t in Tier])
    p.add_argument("--ttl", type=parse_ttl, default=timedelta(hours=2))

    p = sub.add_parser("create-agent", help="create an agent account")
    _add_storage(p)
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", choices=[r.value for r in Role], default="agent")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    p = sub.add_parser("import-kb", help="import a folder of Markdown articles")
    _add_storage(p)
    p.add_argument("folder", type=Path)

    p = sub.add_parser("backup", help="copy the database and attachments while running")
    _add_storage(p)
    p.add_argument("dest", type=Path, help="a new (or empty) folder")

    p = sub.add_parser("restore", help="restore a backup into a data directory")
    _add_storage(p)
    p.add_argument("src", type=Path, help="a folder made by 'backup'")
    p.add_argument("--force", action="store_true", help="replace an existing database")

    p = sub.add_parser("identity-key", help="manage identity signing keys (rotation)")
    _add_storage(p)
    p.add_argument("action", choices=["add", "list", "revoke"])
    p.add_argument("--kid")
    p.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin")

    p = sub.add_parser("agent", help="agents: permissions, chat caps, lifecycle")
    _add_storage(p)
    p.add_argument(
        "action",
        choices=[
            "list",
            "disable",
            "enable",
            "sign-out",
            "reset-password",
            "grant",
            "revoke",
            "reset-grant",
            "max-chats",
        ],
    )
    p.add_argument("--email")
    p.add_argument("--permission", action="append", default=[], help="for grant/revoke")
    p.add_argument("--max-chats", help="a number, or 'default'")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="reset-password: read the temporary password from stdin (else one is generated)",
    )

    p = sub.add_parser("group", help="skill groups (product lines, regions)")
    _add_storage(p)
    p.add_argument("action", choices=["list", "add", "remove", "add-member", "remove-member"])
    p.add_argument("--name")
    p.add_argument("--kind", choices=["product", "region", "skill"], default="product")
    p.add_argument("--product", action="append", default=[], help="a product the group serves")
    p.add_argument("--email", help="the agent, for add-member/remove-member")

    p = sub.add_parser("api-token", help="API tokens for the ISV's systems (CRM)")
    _add_storage(p)
    p.add_argument("action", choices=["list", "create", "revoke"])
    p.add_argument("--name")
    p.add_argument("--scope", action="append", default=[], help="customers.read, customers.write")
    p.add_argument("--expires", type=parse_ttl, help="lifetime, e.g. 90d (default: none)")
    p.add_argument("--id", type=int, help="the token to revoke")
    return parser


def _settings(args: argparse.Namespace) -> object:
    from server.config import Settings, default_data_dir

    return Settings(
        data_dir=(args.data_dir or default_data_dir()).expanduser(),
        database_url=args.database_url,
        host=getattr(args, "host", "127.0.0.1"),
        port=getattr(args, "port", 8765),
        demo=getattr(args, "demo", False),
    )


def _database(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from server.config import Settings
    from server.db import Database

    settings = _settings(args)
    assert isinstance(settings, Settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    db.upgrade()
    return db


def _operator() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (OSError, KeyError):
        return "operator"


def _read_secret_line(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def cmd_sign_identity(args: argparse.Namespace) -> int:
    from server.identity import active_secret, sign_identity

    db = _database(args)
    with db.session() as s:
        secret = active_secret(s, args.kid)
    if secret is None:
        raise CliError(
            f"no active identity key {args.kid!r} (see: helpbridge-server identity-key list)"
        )
    print(
        sign_identity(
            secret,
            args.kid,
            sub=args.sub,
            ttl=args.ttl,
            name=args.name,
            email=args.email,
            phone=args.phone,
            company=args.company,
            tier=args.tier,
            product=args.product,
            product_version=args.product_version,
        )
    )
    return 0


def cmd_create_agent(args: argparse.Namespace) -> int:
    from server import agents

    password = _read_secret_line("Password: ") if args.password_stdin or sys.stdin.isatty() else ""
    if not password:
        raise CliError(
            "give the password on stdin with --password-stdin (never on the command line)"
        )
    db = _database(args)
    try:
        with db.session() as s:
            agent = agents.create_agent(
                s, email=args.email, name=args.name, password=password, role=Role(args.role)
            )
            audit.record(
                s,
                "agent.create",
                actor_type="cli",
                actor_name=_operator(),
                target=agent.email,
                role=agent.role,
            )
            print(f"created {agent.role} {agent.email} (id {agent.id})")
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    return 0


def cmd_import_kb(args: argparse.Namespace) -> int:
    from server.kb.importer import import_directory
    from server.kb.search import SearchIndex

    db = _database(args)
    report = import_directory(db, SearchIndex(db), args.folder)
    for err in report.errors:
        print(f"error: {err}", file=sys.stderr)
    print(report.summary())
    return 1 if report.errors and not (report.created or report.updated or report.unchanged) else 0


def cmd_backup(args: argparse.Namespace) -> int:
    from server.backup import BackupError, backup
    from server.config import Settings

    settings = _settings(args)
    assert isinstance(settings, Settings)
    try:
        report = backup(settings.db_url, settings.data_dir, args.dest)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    from server.db import Database

    database = Database(settings.db_url)
    try:
        with database.session() as s:
            audit.record(
                s,
                "backup",
                actor_type="cli",
                actor_name=_operator(),
                target=str(args.dest),
                counts=json.dumps(report.counts),
            )
    finally:
        database.dispose()
    counts = ", ".join(f"{n} {t}" for t, n in report.counts.items())
    print(f"backed up to {report.dest}: {counts}; {report.blobs} attachment files")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from server.backup import BackupError, restore
    from server.config import Settings

    settings = _settings(args)
    assert isinstance(settings, Settings)
    try:
        counts = restore(args.src, settings.data_dir, args.database_url, force=args.force)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    print(f"restored into {settings.data_dir}: {summary}")
    return 0


def cmd_identity_key(args: argparse.Namespace) -> int:
    db = _database(args)
    with db.session() as s:
        if args.action == "list":
            for key in s.scalars(select(models.IdentityKey).order_by(models.IdentityKey.id)):
                state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d}"
                print(f"{key.kid}\t{state}\tcreated {key.created_at:%Y-%m-%d %H:%M}")
            return 0
        if not args.kid:
            raise CliError("--kid is required")
        key = s.scalar(select(models.IdentityKey).where(models.IdentityKey.kid == args.kid))
        if args.action == "add":
            if key is not None:
                raise CliError(f"key {args.kid!r} exists already")
            secret = (
                _read_secret_line("Secret: ") if args.secret_stdin else secrets.token_urlsafe(32)
            )
            if len(secret) < 32:
                raise CliError("an HS256 secret needs at least 32 characters")
            s.add(models.IdentityKey(kid=args.kid, secret=secret, active=True))
            audit.record(
                s,
                "settings.identity_key.add",
                actor_type="cli",
                actor_name=_operator(),
                target=args.kid,
            )
            if not args.secret_stdin:
                print(f"added key {args.kid}; give this secret to the ISV's backend (shown once):")
                print(secret)
            else:
                print(f"added key {args.kid}")
            return 0
        if key is None:
            raise CliError(f"no key {args.kid!r}")
        key.active = False
        key.revoked_at = datetime.now(UTC)
        audit.record(
            s,
            "settings.identity_key.revoke",
            actor_type="cli",
            actor_name=_operator(),
            target=args.kid,
        )
        print(f"revoked key {args.kid}; sessions it vouched for end at their next refresh")
        return 0


# One process: the realtime hub keeps its connections in memory. Websocket
# pings every 10 s, a peer silent for 30 s is dead (protocol/realtime.py);
# frames over 128 KiB are refused by the server before they are buffered.
def uvicorn_config(app: FastAPI) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws_ping_interval=10.0,
        ws_ping_timeout=20.0,
        ws_max_size=128 * 1024,
    )


def _cli_actor() -> team.Actor:
    from server import team

    return team.Actor("cli", _operator())


def cmd_agent(args: argparse.Namespace) -> int:
    from server import permissions, team
    from server.errors import ApiProblem

    db = _database(args)
    actor = _cli_actor()
    try:
        if args.action == "list":
            with db.session() as s:
                for a in s.scalars(select(models.Agent).order_by(models.Agent.id)):
                    access = permissions.access_for(s, a)
                    state = "active" if a.active else "disabled"
                    groups = ",".join(str(g) for g in sorted(access.group_ids)) or "-"
                    perms = " ".join(sorted(access.permissions))
                    print(
                        f"{a.id}\t{a.email}\t{a.role}\t{state}\tgroups {groups}\t"
                        f"chats {team.chat_capacity(s, a.id)}\t{perms}"
                    )
            return 0
        if not args.email:
            raise CliError("--email is required")
        with db.session() as s:
            agent_id = team.find_agent(s, args.email).id
        if args.action == "disable":
            done = team.disable_agent(db, actor, agent_id)
            print(
                f"disabled {args.email}: {done.sessions} sessions ended, "
                f"{done.tickets} open tickets back in the queue"
            )
        elif args.action == "sign-out":
            print(f"signed out {args.email}: {team.sign_out_agent(db, actor, agent_id)} sessions")
        elif args.action == "reset-password":
            given = _read_secret_line("Temporary password: ") if args.password_stdin else None
            if args.password_stdin and not given:
                raise CliError("no password on stdin")
            password = team.reset_password(db, actor, agent_id, given)
            if given is None:
                print(f"temporary password for {args.email} (shown once):")
                print(password)
            else:
                print(f"password of {args.email} set; their sessions ended")
        else:
            with db.session() as s:
                target = team.get_agent(s, agent_id)
                if args.action == "enable":
                    team.enable_agent(s, actor, target)
                    print(f"enabled {args.email}")
                elif args.action == "max-chats":
                    if args.max_chats is None:
                        raise CliError("--max-chats is required (a number or 'default')")
                    cap = None if args.max_chats == "default" else _int(args.max_chats)
                    team.set_max_chats(s, actor, target, cap)
                    print(f"{args.email} may hold {team.chat_capacity(s, agent_id)} chats")
                else:
                    if not args.permission:
                        raise CliError("--permission is required")
                    value = {"grant": True, "revoke": False, "reset-grant": None}[args.action]
                    now_held = team.set_grants(
                        s, actor, target, dict.fromkeys(args.permission, value)
                    )
                    print(f"{args.email}: {' '.join(sorted(now_held))}")
    except ApiProblem as exc:
        raise CliError(exc.message) from exc
    return 0


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise CliError(f"not a number: {text!r}") from exc


def cmd_group(args: argparse.Namespace) -> int:
    from server import team
    from server.errors import ApiProblem

    db = _database(args)
    actor = _cli_actor()
    try:
        with db.session() as s:
            if args.action == "list":
                for g in s.scalars(select(models.AgentGroup).order_by(models.AgentGroup.name)):
                    members = s.scalars(
                        select(models.Agent.email)
                        .join(models.GroupMember, models.GroupMember.agent_id == models.Agent.id)
                        .where(models.GroupMember.group_id == g.id)
                        .order_by(models.Agent.email)
                    ).all()
                    products = ",".join(team.group_products(s, [g.id])) or "-"
                    print(f"{g.id}\t{g.name}\t{g.kind}\tproducts {products}\t{' '.join(members)}")
                return 0
            if not args.name:
                raise CliError("--name is required")
            if args.action == "add":
                g = team.create_group(
                    s, actor, name=args.name, kind=args.kind, products=args.product
                )
                print(f"added group {g.name} (id {g.id})")
                return 0
            group = team.find_group(s, args.name)
            if args.action == "remove":
                team.delete_group(s, actor, group)
                print(f"removed group {args.name}")
                return 0
            if not args.email:
                raise CliError("--email is required")
            member = args.action == "add-member"
            team.set_member(s, actor, group, team.find_agent(s, args.email), member)
            print(f"{args.email} {'in' if member else 'out of'} {args.name}")
    except ApiProblem as exc:
        raise CliError(exc.message) from exc
    return 0


def cmd_api_token(args: argparse.Namespace) -> int:
    from server import api_tokens
    from server.errors import ApiProblem

    db = _database(args)
    try:
        with db.session() as s:
            if args.action == "list":
                for t in s.scalars(select(models.ApiToken).order_by(models.ApiToken.id)):
                    expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
                    print(
                        f"{t.id}\t{t.name}\t{t.prefix}…\t{api_tokens.token_state(t)}\t"
                        f"{','.join(t.scopes)}\texpires {expires}"
                    )
                return 0
            if args.action == "create":
                if not args.name:
                    raise CliError("--name is required")
                until = datetime.now(UTC) + args.expires if args.expires else None
                made = api_tokens.create_token(
                    s, name=args.name, scopes=args.scope, created_by=_operator(), expires_at=until
                )
                audit.record(
                    s,
                    "settings.api_token.create",
                    actor_type="cli",
                    actor_name=_operator(),
                    target=f"{made.row.name} ({made.row.prefix}…)",
                    scopes=",".join(made.row.scopes),
                )
                print(f"created API token {made.row.name} (id {made.row.id}); shown once:")
                print(made.token)
                return 0
            if args.id is None:
                raise CliError("--id is required")
            row = api_tokens.get_token(s, args.id)
            if api_tokens.revoke_token(s, row):
                audit.record(
                    s,
                    "settings.api_token.revoke",
                    actor_type="cli",
                    actor_name=_operator(),
                    target=f"{row.name} ({row.prefix}…)",
                )
            print(f"revoked API token {row.name}")
    except ApiProblem as exc:
        raise CliError(exc.message) from exc
    return 0


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app
    from server.config import Settings

    settings = _settings(args)
    assert isinstance(settings, Settings)
    app = create_app(settings)
    if settings.demo:
        from server.demo import seed

        info = seed(app.state.db, app.state.search, settings.data_dir)
        log.info("demo data ready", extra={"kb": info.kb.summary()})
    if not settings.is_loopback:
        log.warning(
            "listening on a non-loopback address; put TLS in front of the service",
            extra={"host": settings.host},
        )
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only
    # when the listening socket says so (else 40 ms delayed-ACK stalls).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        raise CliError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from exc
    sock.listen(512)
    port = sock.getsockname()[1]
    url = f"http://{settings.host if family == socket.AF_INET else f'[{settings.host}]'}:{port}"
    log.info("listening", extra={"url": url, "data_dir": str(settings.data_dir)})
    if settings.demo:
        print(
            f"\nHelpBridge demo service on {url}\n"
            f"  Customer identity: helpbridge-server sign-identity --data-dir {settings.data_dir} "
            f"--kid demo --sub demo-001 --name 'Li Wei'\n"
            f"  Demo agent: {info.agent_email} "
            f"(password in {settings.data_dir / 'demo-credentials.json'})\n",
            file=sys.stderr,
            flush=True,
        )
    if args.port_file:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        tmp.replace(args.port_file)
    config = uvicorn_config(app)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(getattr(logging, args.log_level.upper()))
    commands = {
        "sign-identity": cmd_sign_identity,
        "create-agent": cmd_create_agent,
        "import-kb": cmd_import_kb,
        "identity-key": cmd_identity_key,
        "backup": cmd_backup,
        "restore": cmd_restore,
        "agent": cmd_agent,
        "group": cmd_group,
        "api-token": cmd_api_token,
    }
    try:
        return commands.get(args.command, serve)(args)
    except CliError as exc:
        print(f"helpbridge-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
