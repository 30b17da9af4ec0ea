"""`tuanbot run --transport wechaty` as a leader starts it, against the real gateway: the QR code in
the terminal and on the local page, then the login line, then a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from gateway_fixture import Gateway, ensure_node_modules, free_port

pytestmark = pytest.mark.gateway

ROOT = Path(__file__).resolve().parent.parent


class Lines:
    """A pipe read on a thread, so the test can wait for a line with a deadline."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self.lines.append(line)

    def wait_for(self, found: Callable[[str], bool], deadline: float = 30) -> str:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            hit = next((line for line in self.lines if found(line)), None)
            if hit is not None:
                return hit
            time.sleep(0.05)
        raise AssertionError(f"not seen within {deadline}s:\n{''.join(self.lines)}")


def test_run_shows_the_qr_code_logs_the_login_and_stops(tmp_path: Path) -> None:
    ensure_node_modules()
    gw = Gateway(wait_for_scan=True)
    gw.start()
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'bot.db'}\ntransport: wechaty\nweb: {{port: {port}}}\n"
        f"wechaty: {{endpoint: '{gw.endpoint}', tls: false}}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "WECHATY_PUPPET_SERVICE_TOKEN": gw.token, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = Lines(proc.stdout), Lines(proc.stderr)
        out.wait_for(lambda line: "团长助手已启动" in line and f":{port}/" in line)
        page = f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(page, timeout=10) as resp:
            assert "微信登录" in resp.read().decode()
        qrcode = "https://login.weixin.qq.com/l/Qm9vdGVk"
        deadline = time.monotonic() + 30
        while "请用团长的微信扫码登录" not in "".join(out.lines):  # the stream may not be up yet
            assert time.monotonic() < deadline, "".join(out.lines) + "".join(err.lines)
            gw.scan(qrcode)
            time.sleep(0.3)
        out.wait_for(lambda line: "█" in line)  # the picture itself
        with urllib.request.urlopen(page + "api/login", timeout=10) as resp:
            state = json.loads(resp.read())
        assert state["status"] == "scan" and state["qr"].startswith("data:image/svg+xml")
        gw.login()
        err.wait_for(lambda line: "WeChat: logged in as 团长助手 (wxid_tuanbot)" in line)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        logged = "".join(err.lines)
        assert gw.token.split("_", 1)[1] not in logged and "Traceback" not in logged
    finally:
        if proc.poll() is None:
            proc.kill()
        gw.kill()
