"""Run the mock Wechaty gateway (tests/gateway/gateway.mjs) and drive its control API."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.core.clock import FakeClock
from bot.core.messages import InboundMessage

if TYPE_CHECKING:
    from bot.transports.wechaty import Watchdog, WechatyTransport

GATEWAY_DIR = Path(__file__).parent / "gateway"
FIXTURE = GATEWAY_DIR / "fixture.json"
# The prefix before the last "_" is the TLS server name: "insecure" is the name on the certificate
# puppet-service gateways serve by default.
TOKEN = "insecure_tuanbot-test-token"
BOT_ID = "wxid_tuanbot"
BOT_NAME = "团长助手"
ROOM = "room1@chatroom"
LEADER, ALICE, BOB, CAROL = "wxid_leader", "wxid_alice", "wxid_bob", "wxid_carol"
START_DEADLINE = 20.0
FAST_BACKOFF = (0.05, 0.1, 0.2)


def ensure_node_modules() -> None:
    """Skip without node; install the pinned gateway packages once (npm ci) if missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: the gateway tests need Node 20")
    if not (GATEWAY_DIR / "node_modules" / "wechaty-puppet-service").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=GATEWAY_DIR, check=True, timeout=300)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gateway:
    """One mock gateway process on a fixed gRPC port, so it can be killed and started again.

    ``tls``: serve TLS (the puppet-service default; with ``cert``/``key`` files, that certificate
    instead of the built-in one). ``login``: the account that logs in (the leader's id: own-account
    mode); ``wait_for_scan``: nobody logs in until ``scan`` and ``login`` are called.
    """

    def __init__(
        self,
        token: str = TOKEN,
        *,
        tls: bool = False,
        cert: Path | None = None,
        key: Path | None = None,
        login: str | None = None,
        wait_for_scan: bool = False,
    ) -> None:
        self.token = token
        self.tls = tls
        self.options = ["--tls"] if tls else []
        if cert is not None and key is not None:
            self.options += ["--tls-cert", str(cert), "--tls-key", str(key)]
        if login is not None:
            self.options += ["--login", login]
        if wait_for_scan:
            self.options.append("--no-login")
        self.port = free_port()
        self.control_port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "node",
                "gateway.mjs",
                "--port",
                str(self.port),
                "--token",
                self.token,
                "--fixture",
                str(FIXTURE),
                *self.options,
            ],
            cwd=GATEWAY_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the gateway prints one line once it listens
        if not line:
            raise RuntimeError("gateway exited before it was ready")
        self.control_port = json.loads(line)["controlPort"]
        # Keep draining stdout so a chatty gateway can never block on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen process dies only once it runs
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def freeze(self) -> None:
        """Stop the process (SIGSTOP): its sockets stay open but nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def say(self, sender: str, text: str, to: str = ROOM, mentions: tuple[str, ...] = ()) -> str:
        return str(
            self._call("POST", "/say", {"from": sender, "to": to, "text": text, "mentions": list(mentions)})[
                "id"
            ]
        )

    def image(self, sender: str, to: str = ROOM) -> str:
        return str(self._call("POST", "/image", {"from": sender, "to": to})["id"])

    def message(self, sender: str, kind: int, text: str, to: str = ROOM) -> str:
        """A message of any wechaty-puppet MessageType (0 Unknown, 1 Attachment, 10 GroupNote ...)."""
        body = {"from": sender, "to": to, "type": kind, "text": text}
        return str(self._call("POST", "/message", body)["id"])

    def scan(self, qrcode: str, status: int = 2) -> None:
        self._call("POST", "/scan", {"qrcode": qrcode, "status": status})

    def login(self) -> None:
        self._call("POST", "/login", {})

    def logout(self) -> None:
        self._call("POST", "/logout", {})

    def sends(self, *, hang: bool = False, delay_ms: int = 0, no_ids: bool = False) -> None:
        """hang: sends never finish (and never happen); delay_ms: each send takes that long;
        no_ids: sends are answered without the id of the message they made (some puppets)."""
        self._call("POST", "/sends", {"hang": hang, "delayMs": delay_ms, "noIds": no_ids})

    def redeliver(self, message_id: str) -> None:
        self._call("POST", "/redeliver", {"id": message_id})

    def join(self, contacts: list[str], inviter: str = LEADER, room: str = ROOM) -> None:
        self._call("POST", "/join", {"room": room, "contacts": contacts, "inviter": inviter})

    def leave(self, contacts: list[str], remover: str = LEADER, room: str = ROOM) -> None:
        self._call("POST", "/leave", {"room": room, "contacts": contacts, "remover": remover})

    def error(self, message: str) -> None:
        self._call("POST", "/error", {"message": message})

    def sent(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/sent"))


async def eventually(check: Callable[[], bool | Awaitable[bool]], deadline: float = 10.0) -> None:
    """Poll ``check`` until it holds; fail after ``deadline`` seconds of wall time."""
    end = time.monotonic() + deadline
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {deadline}s")
        await asyncio.sleep(0.02)


class Inbox:
    """A transport's sink that keeps what arrives."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []

    async def __call__(self, message: InboundMessage) -> None:
        self.messages.append(message)

    def by_id(self, message_id: str) -> list[InboundMessage]:
        return [m for m in self.messages if m.id == message_id]


def without_ids(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The gateway's record of sends, without the message ids it made."""
    return [{k: v for k, v in s.items() if k != "id"} for s in sent]


def make_transport(gw: Gateway, watchdog: Watchdog | None = None, **options: Any) -> WechatyTransport:
    """A transport for this gateway (TLS as it serves), quick to retry; ``options`` override
    GatewayOptions (token, tls, ca_cert, server_name, timeouts)."""
    from bot.transports.puppet_client import GatewayOptions
    from bot.transports.wechaty import WechatyTransport

    settings = {"endpoint": gw.endpoint, "token": gw.token, "tls": gw.tls, **options}
    return WechatyTransport(
        GatewayOptions(**settings),
        bot_names=(BOT_NAME,),
        clock=FakeClock(datetime(2026, 5, 1, 9, 0, tzinfo=UTC)),
        reconnect_backoff=FAST_BACKOFF,
        watchdog=watchdog,
    )
