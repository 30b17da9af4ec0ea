"""Run the mock Wechaty gateway (tests/gateway/gateway.mjs) and drive its control API."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

GATEWAY_DIR = Path(__file__).parent / "gateway"
FIXTURE = GATEWAY_DIR / "fixture.json"
TOKEN = "tuanbot-test-token"
BOT_ID = "wxid_tuanbot"
BOT_NAME = "团长助手"
ROOM = "room1@chatroom"
LEADER, ALICE, BOB, CAROL = "wxid_leader", "wxid_alice", "wxid_bob", "wxid_carol"
START_DEADLINE = 20.0


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
    """One mock gateway process on a fixed gRPC port, so it can be killed and started again."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
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
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

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
