"""Every broken config a leader can write stops start-up with one line naming the file, the line
and the field (or the cause: database unreachable, port taken); never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

GOOD = """\
bot_name: 团长助手
database_url: sqlite:///{db}
web:
  port: 0
groups:
  - id: g1
    name: 幸福里1群
    leader: u-wang
    members:
      - {{id: u-wang, name: 王姐}}
      - {{id: u-li, name: 李阿姨}}
"""


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "config.yaml"
    path.write_bytes(text.format(db=tmp_path / "t.db").encode(encoding))
    return path


def refused(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[str]:
    """Run ``tuanbot run`` on ``path``: it must refuse with exit 2; returns stderr's lines."""
    assert main(["--config", str(path), "run", *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("", ":line 1: the file is empty"),
        ("\n# only comments\n", ":line 1: the file is empty"),
        (
            GOOD.replace("sqlite:///{db}", "foo"),
            ":line 2: database_url: Value error, 'foo' is not a database URL",
        ),
        (GOOD.replace("sqlite:///{db}", "mysql://root@localhost/shop"), ":line 2: database_url: Value error"),
        (
            GOOD + "  - id: g1\n    name: 重复\n    leader: u-wang\n",
            ":line 12: groups.1.id: group id 'g1' is used twice",
        ),
        (
            GOOD + "      - {{id: u-li, name: 李阿姨2}}\n",
            ":line 12: groups.0.members.2.id: member id 'u-li' is used twice",
        ),
        (
            GOOD + "timeline:\n  groups:\n    g9: {{reminders: false}}\n",
            ":line 14: timeline.groups.g9: no group 'g9'",
        ),
        (GOOD + "bot_name: 另一个名字\n", ":line 12: bot_name: written twice (first on line 1)"),
        (
            GOOD.replace("  port: 0", "  port: 0\n  port: 8081"),
            ":line 5: web.port: written twice (first on line 4)",
        ),
        (
            GOOD.replace("  port: 0", "  host: 0.0.0.0\n  port: 0"),
            ":line 4: web.host: Value error, 0.0.0.0 would let",
        ),
        ("groups: [\n", ": not valid YAML"),
        ("- just\n- a list\n", ":line 1: the top level must be a mapping"),
    ],
)
def test_a_broken_config_is_one_line_naming_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expect: str
) -> None:
    path = write(tmp_path, text)
    lines = refused(path, capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"配置错误 / configuration error: {path}") and expect in lines[0], lines[0]


def test_a_gbk_file_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD, encoding="gbk")
    [line] = refused(path, capsys)
    assert f"{path}:line 1: not UTF-8 text (saved as GBK?)" in line


def test_a_remote_host_is_accepted_only_when_allowed(tmp_path: Path) -> None:
    from bot.core.config import load_settings

    path = write(tmp_path, GOOD.replace("  port: 0", "  allow_remote: true\n  host: 0.0.0.0\n  port: 0"))
    assert load_settings(path).web.host == "0.0.0.0"


def run_bot(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The real ``tuanbot run`` process (these mistakes show only when it starts)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(path), "run", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_postgresql_down_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("sqlite:///{db}", "postgresql://postgres:secret@127.0.0.1:1/shop"))
    done = run_bot(path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "启动失败 / cannot start: the database postgresql+psycopg://postgres:***@127.0.0.1:1/shop"
    )
    assert "cannot be reached" in last and "secret" not in done.stderr


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_bot(write(tmp_path, GOOD), "--port", str(port))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        f"启动失败 / cannot start: port {port} on 127.0.0.1 is in use (another tuanbot?): stop it, or choose "
        "another port with --port or web.port in config.yaml"
    )
