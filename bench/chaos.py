"""Crash test: the real bot process in an order storm through the web chat, killed with SIGKILL
at random moments and started again, then every acknowledged message and every reply checked
against the database.

Run: .venv/bin/python -m bench.chaos [--members 40] [--messages 30] [--kills 12] [--seed 1]
                                      [--pg postgresql://postgres@127.0.0.1:5432/test]

The bot runs as ``python -m bot.cli run`` on its own config (one group, open pacing) and its own
store (a SQLite file, or a fresh schema on PostgreSQL). Simulated members, one WebSocket each,
do what the page does: send a frame, keep it until it is acknowledged, send it again after a
reconnect. Each member sends ``苹果+1`` (unlimited stock: its count must equal the member's
acknowledged frames exactly; each frame with a room in front, ``3栋101 苹果+1``, since the same
text again within minutes is a re-send) and now and then ``香蕉+1`` (stock 50, 限购3: the pressure on
stock and limits). A killer SIGKILLs the bot at random moments (0.2-1.5 s after it answers)
and starts it again on the same store and port, ``--kills`` times. At the end the bot runs
until its outbox is empty, is stopped, and the store is read:

- lost: a frame acknowledged to its member and not in ``processed_message``, or 苹果 short of
  the member's acknowledged count;
- doubled: 苹果 above the member's handled count;
- oversold: 香蕉 lines above its stock, or the stock counter not matching the lines;
- over limit: a member with more 香蕉 than 限购;
- replies lost: an outbox row never marked sent, or a sent row shown in no web chat event;
- replies twice: an outbox row shown in two web chat events (the web chat records a reply in
  the transaction that marks it sent, so the README says: never), or one a member received
  under two event ids.

Prints the figures; exits 1 if any is not zero. ``tests/test_chaos.py`` runs a short version.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store.db import make_engine
from bot.testing import isolated_engine

ROOT = Path(__file__).resolve().parent.parent
GROUP = "g-chaos"
LEADER = "u-leader"
BANANA_STOCK = 50
BANANA_LIMIT = 3
OPEN = f"开团 抗压团\n苹果 1元/斤 不限量\n香蕉 2元/把 库存{BANANA_STOCK} 限购{BANANA_LIMIT}\n截团 明天18:00"
ACK_TIMEOUT = 20.0  # seconds a member waits for an ack before reconnecting


def config(url: str, port: int, members: int) -> str:
    people = "\n".join(f"      - {{id: u-{i:03d}, name: 邻居{i:03d}}}" for i in range(members))
    return f"""\
bot_name: 团长助手
database_url: "{url}"
web:
  port: {port}
pacing: {{per_chat_per_minute: 100000, per_account_per_minute: 100000, burst: 100000, jitter_seconds: 0}}
groups:
  - id: {GROUP}
    name: 抗压群
    leader: {LEADER}
    members:
      - {{id: {LEADER}, name: 团长}}
{people}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bot:
    """The real bot process, started again after every kill."""

    def __init__(self, config_path: Path, port: int, log_path: Path) -> None:
        self.config_path = config_path
        self.url = f"http://127.0.0.1:{port}/"
        self.log = log_path.open("ab")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.start_seconds: list[float] = []

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TUANBOT_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(self.config_path), "run"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
        )
        self.starts += 1
        began = time.monotonic()
        deadline = began + 60
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the bot exited with {self.proc.returncode}; see {self.log.name}")
                try:
                    async with session.get(self.url + "api/state") as resp:
                        if resp.status == 200:
                            self.start_seconds.append(time.monotonic() - began)
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("the bot did not come up within 60 s")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class Member:
    id: str
    frames: list[dict[str, str]]
    acked: list[str] = field(default_factory=list)
    # outbox row id -> the event ids it arrived under (more than one: shown twice)
    seen: dict[int, set[str]] = field(default_factory=dict)
    reconnects: int = 0


async def drive(member: Member, url: str, stop: asyncio.Event) -> None:
    """What the page does: one frame at a time, kept and sent again until acknowledged."""
    async with aiohttp.ClientSession() as session:
        pending = list(member.frames)
        while pending and not stop.is_set():
            try:
                async with session.ws_connect(url + "ws", heartbeat=5) as ws:
                    await ws.send_json({"type": "hello", "as": member.id})
                    while pending:
                        frame = pending[0]
                        await ws.send_json(frame)
                        if await _acked(ws, member, frame["id"]):
                            member.acked.append(frame["id"])
                            pending.pop(0)
                        else:
                            break  # retry on a fresh connection
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                pass
            if pending:
                member.reconnects += 1
                await asyncio.sleep(0.2 + random.random() * 0.3)


async def _acked(ws: aiohttp.ClientWebSocketResponse, member: Member, frame_id: str) -> bool:
    deadline = time.monotonic() + ACK_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        msg = await ws.receive(timeout=left)
        if msg.type != aiohttp.WSMsgType.TEXT:
            return False
        data = json.loads(msg.data)
        if data.get("type") == "message" and data.get("sender") == "bot":
            for row in data.get("outbox", []):
                member.seen.setdefault(row, set()).add(data["id"])
        elif data.get("id") == frame_id and data.get("type") == "ack":
            return True
        elif data.get("id") == frame_id and data.get("type") == "retry":
            return False
    return False


async def killer(bot: Bot, kills: int, rng: random.Random, done: list[float]) -> None:
    for _ in range(kills):
        await asyncio.sleep(0.2 + rng.random() * 1.3)
        bot.kill()
        done.append(time.monotonic())
        await bot.start()


@contextmanager
def store(pg_url: str | None, tmp: Path) -> Iterator[str]:
    if pg_url:
        with isolated_engine(pg_url) as engine:
            yield engine.url.render_as_string(hide_password=False)
    else:
        yield f"sqlite:///{tmp / 'chaos.db'}"


async def run(
    members: int, messages: int, kills: int, seed: int, pg_url: str | None = None
) -> dict[str, int]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp_dir, store(pg_url, Path(tmp_dir)) as url:
        tmp = Path(tmp_dir)
        port = free_port()
        config_path = tmp / "config.yaml"
        config_path.write_text(config(url, port, members), encoding="utf-8")
        bot = Bot(config_path, port, tmp / "bot.log")
        try:
            await bot.start()
            leader = Member(
                LEADER, [{"type": "say", "id": "open", "chat_id": GROUP, "sender_id": LEADER, "text": OPEN}]
            )
            await drive(leader, bot.url, asyncio.Event())
            crowd = []
            for i in range(members):
                mid = f"u-{i:03d}"
                frames = []
                for k in range(messages):
                    # each frame its own text (a room in front): the same text again within minutes
                    # is a re-send, not an add
                    say = f"{k + 1}栋101 " + ("香蕉+1" if rng.random() < 0.15 else "苹果+1")
                    frames.append(
                        {"type": "say", "id": f"{mid}-{k}", "chat_id": GROUP, "sender_id": mid, "text": say}
                    )
                crowd.append(Member(mid, frames))
            began = time.monotonic()
            stop = asyncio.Event()
            killed: list[float] = []
            storm = asyncio.gather(*(drive(m, bot.url, stop) for m in crowd))
            await asyncio.gather(storm, killer(bot, kills, rng, killed))
            storm_seconds = time.monotonic() - began
            engine = make_engine(url)
            try:
                await _drain(engine)
                bot.stop()
                figures = _check(engine, crowd)
            finally:
                engine.dispose()
        finally:
            bot.stop()
    figures.update(
        kills=len(killed),
        starts=bot.starts,
        acknowledged=sum(len(m.acked) for m in crowd),
        reconnects=sum(m.reconnects for m in crowd),
        storm_ms=int(storm_seconds * 1000),
        start_ms=int(statistics.median(bot.start_seconds) * 1000),
    )
    return figures


async def _drain(engine) -> None:  # type: ignore[no-untyped-def]
    """Wait until the bot has sent every reply it committed."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if not conn.execute(text("SELECT count(*) FROM outboxmessage WHERE sent_at IS NULL")).scalar():
                return
        await asyncio.sleep(0.2)


def _check(engine, crowd: list[Member]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        handled = set(conn.execute(text("SELECT id FROM processedmessage")).scalars())
        lines = conn.execute(
            text(
                "SELECT o.member_id, i.name, l.quantity_x100 / 100 FROM orderline l "
                "JOIN orders o ON o.id = l.order_id "
                "JOIN item i ON i.id = l.item_id WHERE o.status = 'active'"
            )
        ).all()
        banana = conn.execute(
            text("SELECT stock_x100 / 100 AS stock, sold_x100 / 100 AS sold FROM item WHERE name = '香蕉'")
        ).one()
        unsent = conn.execute(text("SELECT count(*) FROM outboxmessage WHERE sent_at IS NULL")).scalar()
        sent_rows = set(
            conn.execute(text("SELECT id FROM outboxmessage WHERE sent_at IS NOT NULL")).scalars()
        )
        events = [json.loads(e) for e in conn.execute(text("SELECT event FROM webchat_event")).scalars()]
    apples = {m: q for m, name, q in lines if name == "苹果"}
    bananas = {m: q for m, name, q in lines if name == "香蕉"}
    lost = doubled = 0
    for member in crowd:
        acked = set(member.acked)
        lost += len(acked - handled)  # acknowledged, never recorded
        apples_in = [f["id"] for f in member.frames if f["text"].endswith("苹果+1") and f["id"] in handled]
        have = apples.get(member.id, 0)
        # recorded as handled but its apple is missing (acknowledged ones already counted above)
        lost += max(0, sum(1 for i in apples_in if i in acked) - have)
        doubled += max(0, have - len(apples_in))
    shown = Counter(row for e in events for row in e.get("outbox", []))
    return {
        "lost": lost,
        "doubled": doubled,
        "oversold": max(0, sum(bananas.values()) - banana.stock) + abs(banana.sold - sum(bananas.values())),
        "over_limit": sum(1 for q in bananas.values() if q > BANANA_LIMIT),
        "replies_lost": unsent + sum(1 for row in sent_rows if shown[row] == 0),
        "replies_twice": sum(n - 1 for n in shown.values() if n > 1)
        + sum(len(ids) - 1 for m in crowd for ids in m.seen.values() if len(ids) > 1),
        "replies": len(sent_rows),
        "handled": len(handled),
    }


PROBLEMS = ("lost", "doubled", "oversold", "over_limit", "replies_lost", "replies_twice")


def report(store_name: str, figures: dict[str, int]) -> str:
    head = (
        f"{store_name}: {figures['kills']} SIGKILLs, {figures['starts']} starts, {figures['acknowledged']} "
        f"acknowledged orders ({figures['handled']} handled), {figures['replies']} replies, "
        f"{figures['reconnects']} reconnects, storm {figures['storm_ms'] / 1000:.1f} s, "
        f"median start {figures['start_ms'] / 1000:.1f} s"
    )
    return head + "\n  " + "  ".join(f"{name} {figures[name]}" for name in PROBLEMS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg", help="PostgreSQL URL (a fresh schema is made in it); default SQLite")
    args = parser.parse_args()
    figures = asyncio.run(run(args.members, args.messages, args.kills, args.seed, args.pg))
    print(report("PostgreSQL" if args.pg else "SQLite", figures))
    bad = any(figures[name] for name in PROBLEMS)
    print("result: " + ("FAILED" if bad else "nothing lost, nothing doubled"))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
