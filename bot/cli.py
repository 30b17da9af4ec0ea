"""The `tuanbot` command: run, replay, export, members."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import sys
from functools import partial
from pathlib import Path

from bot.core.config import ConfigError, Settings, load_settings

log = logging.getLogger("tuanbot")


def _gateway_options(settings: Settings):  # type: ignore[no-untyped-def]
    """The gateway settings from config.yaml and the environment; a ConfigError if they cannot work."""
    from bot.transports.puppet_client import GatewayConfigError, GatewayOptions

    conf = settings.wechaty
    ca = conf.tls_ca_cert
    if ca and "-----BEGIN" not in ca:
        try:
            ca = Path(ca).expanduser().read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"wechaty.tls_ca_cert: cannot read the CA certificate {ca}: {exc}") from exc
    try:
        return GatewayOptions(
            endpoint=conf.endpoint or "",
            token=conf.token or "",
            tls=conf.tls,
            ca_cert=ca,
            server_name=conf.tls_server_name,
        )
    except GatewayConfigError as exc:
        raise ConfigError(f"wechaty: {exc}") from exc


def _transport(settings: Settings, name: str, engine: object, clock: object, mount: object):  # type: ignore[no-untyped-def]
    if name == "wechaty":
        from bot.transports.wechaty import WechatyTransport

        return WechatyTransport(_gateway_options(settings), bot_names=(settings.bot_name,), clock=clock)
    from bot.web_api import webchat_for

    return webchat_for(settings, clock, engine, media_dir=Path("data/media"), mount=mount)  # type: ignore[arg-type]


async def _run(settings: Settings, transport_name: str) -> None:
    from bot.app import create_app
    from bot.console import Console, mount
    from bot.core.clock import SystemClock
    from bot.store.db import make_engine

    clock = SystemClock(settings.timezone)
    engine = make_engine(settings.database_url)
    # The leader's console: under /console/ of the web chat, or of the local login page beside WeChat.
    console = Console(settings)
    transport = _transport(settings, transport_name, engine, clock, partial(mount, console))
    app = create_app(settings, transport=transport, clock=clock, engine=engine)
    console.attach(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    login_page = None
    if transport_name == "wechaty":
        # The scan QR code, in this terminal and on a local page, before the first connection.
        from bot.transports.wechaty_login import LoginPage, print_login_prompts

        login_page = LoginPage(
            transport, host=settings.web.host, port=settings.web.port, setup_routes=partial(mount, console)
        )
        await login_page.start()
        print_login_prompts(transport, login_page.url, sys.stdout)
    try:
        async with app:
            where = getattr(transport, "url", None) or (login_page.url if login_page else None)
            log.info("tuanbot is running on %s%s", transport.name, f" at {where}" if where else "")
            if where:
                print(f"团长助手已启动 / tuanbot is running: {where}", flush=True)
            await stop.wait()
    finally:
        if login_page is not None:
            await login_page.stop()
    log.info("tuanbot stopped")


class StartError(Exception):
    """Start-up failed for a reason outside the config file (database down, port taken)."""


def cmd_run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from bot.store.db import normalize_url

    settings = load_settings(Path(args.config) if args.config else None)
    if args.port is not None:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update={"port": args.port})})
    try:
        asyncio.run(_run(settings, args.transport or settings.transport))
    except OperationalError as exc:
        from sqlalchemy.engine import make_url

        where = make_url(normalize_url(settings.database_url)).render_as_string(hide_password=True)
        cause = str(exc.orig or exc).strip().splitlines()[0]
        raise StartError(f"the database {where} cannot be reached: {cause}") from exc
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        web = settings.web
        raise StartError(
            f"port {web.port} on {web.host} is in use (another tuanbot?): stop it, or choose another "
            "port with --port or web.port in config.yaml"
        ) from exc
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from bot.replay import ScenarioError, replay

    try:
        events = asyncio.run(replay(Path(args.scenario), Path(args.db) if args.db else None))
    except ScenarioError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    for event in events:
        if args.json:
            if event.template is not None:
                print(event.as_json())
        else:
            print(event.as_text())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from bot.core.clock import SystemClock
    from bot.groupbuy.exports import write_orders, write_sorting_list, write_supplier_list
    from bot.services.reports import find_campaign, order_rows
    from bot.store.db import make_engine

    settings = load_settings(Path(args.config) if args.config else None)
    url = f"sqlite:///{Path(args.db).resolve()}" if args.db else settings.database_url
    if args.db and not Path(args.db).exists():
        print(f"export: no database at {args.db}", file=sys.stderr)
        return 2
    engine = make_engine(url)
    with Session(engine) as s:
        campaign = find_campaign(s, args.campaign)
        if campaign is None:
            print("export: no such campaign" if args.campaign else "export: no campaign yet", file=sys.stderr)
            return 2
        rows = order_rows(s, campaign, SystemClock(settings.timezone).tz)
    writers = {"orders": write_orders, "supplier": write_supplier_list, "sorting": write_sorting_list}
    out = Path(args.output or f"data/exports/campaign-{campaign.id}-{args.kind}.{args.format}")
    out.parent.mkdir(parents=True, exist_ok=True)
    writers[args.kind](rows, out, args.format)
    print(out)
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    """The leader's member history (回头客, silent members, RFM), as the private 会员 command shows it."""
    from sqlmodel import Session, select

    from bot.core.clock import SystemClock
    from bot.core.render import make_environment, render
    from bot.services.member_history import report_data
    from bot.store.db import make_engine
    from bot.store.models import Group

    settings = load_settings(Path(args.config) if args.config else None)
    if args.db and not Path(args.db).exists():
        print(f"members: no database at {args.db}", file=sys.stderr)
        return 2
    url = f"sqlite:///{Path(args.db).resolve()}" if args.db else settings.database_url
    clock = SystemClock(settings.timezone)
    with Session(make_engine(url)) as s:
        groups = [args.group] if args.group else list(s.exec(select(Group.id)))
        data = report_data(s, groups, clock.now(), settings.loyalty.vip.levels)
    env = make_environment(clock.tz, mask_names=False)
    print(render(env, "members/report", data))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuanbot", description="团长助手 — group-buy assistant")
    parser.add_argument("--config", help="path to config.yaml (default: ./config.yaml or $TUANBOT_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the bot")
    run.add_argument("--transport", choices=["webchat", "wechaty"])
    run.add_argument("--port", type=int, help="web chat port (overrides config)")
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser("replay", help="play a scripted chat with a fake clock")
    rep.add_argument("scenario")
    rep.add_argument("--json", action="store_true", help="one JSON object per bot message")
    rep.add_argument("--db", help="SQLite file to use and keep (default: a temporary one)")
    rep.set_defaults(func=cmd_replay)

    exp = sub.add_parser("export", help="export a campaign's orders")
    exp.add_argument("--db", help="SQLite file (default: database_url from config)")
    exp.add_argument("--campaign", type=int, help="campaign number (default: the latest)")
    exp.add_argument("--format", choices=["csv", "xlsx"], required=True)
    exp.add_argument("--kind", choices=["orders", "supplier", "sorting"], default="orders")
    exp.add_argument("-o", "--output", help="output file")
    exp.set_defaults(func=cmd_export)

    mem = sub.add_parser("members", help="member history: repeat buyers, silent members, RFM segments")
    mem.add_argument("--db", help="SQLite file (default: database_url from config)")
    mem.add_argument("--group", help="one group id (default: every group)")
    mem.set_defaults(func=cmd_members)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
        return 2
    except StartError as exc:
        print(f"启动失败 / cannot start: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
