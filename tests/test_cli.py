"""`tuanbot replay` and `tuanbot export`, driven from outside as leaders use them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def tuanbot(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], Path]:
    db = tmp_path_factory.mktemp("replay") / "day.db"
    run = tuanbot("replay", str(EXAMPLES / "fruit_day.yaml"), "--json", "--db", str(db))
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()], db


def test_replay_json_transcript(replayed: tuple[list[dict], Path]) -> None:
    events, _ = replayed
    assert {tuple(sorted(e)) for e in events} == {("chat", "kind", "path", "template", "text", "time", "to")}
    templates = [e["template"] for e in events]
    assert templates[:2] == ["campaign/announcement", "campaign/jielong_post"]
    assert events[0]["time"] == "2026-12-05T09:00:00+08:00" and events[0]["chat"] == "幸福里1群"
    private = [e for e in events if e["to"] == "王姐"]
    assert private and private[0]["chat"] is None and "1. 李阿姨 苹果2斤 香蕉1把" in private[0]["text"]
    closed = next(e for e in events if e["template"] == "campaign/closed")
    assert closed["time"].startswith("2026-12-05T18:00:00") and "成团啦" in closed["text"]
    late = next(e for e in events if e["template"] == "orders/closed")
    assert late["time"].startswith("2026-12-05T18:00")
    poster = next(e for e in events if e["template"] == "recap/poster")
    assert poster["kind"] == "image" and poster["time"].startswith("2026-12-05T18:02")
    assert Path(poster["path"]).is_file() and Path(poster["path"]).stat().st_size > 10_000
    files = [e for e in events if e["template"] == "recap/file"]
    assert [e["to"] for e in files] == ["王姐"] * 3 and all(Path(e["path"]).is_file() for e in files)
    reminder = next(e for e in events if e["template"] == "payments/reminder")
    assert "李**" in reminder["text"] and reminder["time"].startswith("2026-12-05T18:30")
    assert events[-1]["template"] == "payments/marked"
    everything = "\n".join(e["text"] for e in events if e["chat"])
    assert "李阿姨" not in everything and "李**" in everything  # masked in the group


def test_replay_text_transcript_shows_both_sides() -> None:
    run = tuanbot("replay", str(EXAMPLES / "fruit_day.yaml"))
    assert run.returncode == 0, run.stderr
    assert "幸福里1群 · 李阿姨: 苹果x2 香蕉1" in run.stdout and "团长助手: @李** ✅ 跟团号1" in run.stdout


def test_replay_rejects_a_broken_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("start: 2026-12-05 09:00\ngroups: {g: {leader: 王姐}}\nsteps:\n  - fly: away\n", "utf-8")
    run = tuanbot("replay", str(bad))
    assert run.returncode == 2 and "step 1" in run.stderr


def test_export_csv_matches_kuaituantuan_columns(replayed: tuple[list[dict], Path], tmp_path: Path) -> None:
    _, db = replayed
    out = tmp_path / "orders.csv"
    run = tuanbot("export", "--db", str(db), "--format", "csv", "-o", str(out))
    assert run.returncode == 0, run.stderr
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:10] == [
        "跟团号",
        "下单人",
        "商品",
        "数量",
        "单价",
        "金额",
        "备注",
        "支付状态",
        "自提点",
        "下单时间",
    ]
    assert rows[1][:6] == ["1", "李阿姨", "苹果", "2", "12.80", "25.60"]
    assert rows[2][:6] == ["1", "李阿姨", "香蕉", "1", "9.90", "9.90"]
    assert rows[1][7] == "已支付" and rows[3][7] == "未支付"  # 收款 1 at the end of the day
    assert rows[1][8] == "幸福里东门驿站" and rows[1][9] == "2026-12-05 09:05"


def test_export_xlsx_and_bad_arguments(replayed: tuple[list[dict], Path], tmp_path: Path) -> None:
    _, db = replayed
    out = tmp_path / "orders.xlsx"
    run = tuanbot("export", "--db", str(db), "--campaign", "1", "--format", "xlsx", "-o", str(out))
    assert run.returncode == 0, run.stderr
    sheet = openpyxl.load_workbook(out).active
    assert (
        sheet["A1"].value == "跟团号" and sheet["D2"].value == 2 and sheet["E2"].value == pytest.approx(12.8)
    )
    assert tuanbot("export", "--db", str(db), "--campaign", "99", "--format", "csv").returncode == 2
    assert tuanbot("export", "--db", str(tmp_path / "none.db"), "--format", "csv").returncode == 2


def test_wechaty_settings_from_the_official_environment_variables() -> None:
    from bot.core.config import parse_settings

    ca = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"  # one line, as env vars hold it
    env = {
        "WECHATY_PUPPET_SERVICE_ENDPOINT": "gw.example:8788",
        "WECHATY_PUPPET_SERVICE_TOKEN": "puppet_padlocal_1234",
        "WECHATY_PUPPET_SERVICE_TLS_CA_CERT": ca,
        "WECHATY_PUPPET_SERVICE_TLS_SERVER_NAME": "gw.example",
    }
    conf = parse_settings("transport: wechaty\n", env=env).wechaty
    assert (conf.endpoint, conf.token, conf.tls, conf.tls_server_name) == (
        "gw.example:8788",
        "puppet_padlocal_1234",
        True,
        "gw.example",
    )
    assert conf.tls_ca_cert == "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    plain = parse_settings(
        "transport: wechaty\n", env={"WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT": "true"}
    )
    assert plain.wechaty.tls is False


@pytest.mark.parametrize(
    ("wechaty", "said"),
    [
        ("{endpoint: 127.0.0.1:8788, token: tuanbot-token}", "'insecure_<token>'"),
        ("{endpoint: 127.0.0.1, token: insecure_x}", "host:port"),
        ("{endpoint: 127.0.0.1:8788}", "WECHATY_PUPPET_SERVICE_TOKEN"),
        ("{endpoint: 127.0.0.1:8788, token: insecure_x, tls_ca_cert: /nonexistent/ca.pem}", "tls_ca_cert"),
    ],
)
def test_wechaty_settings_that_cannot_work_stop_the_start_with_one_line(
    tmp_path: Path, wechaty: str, said: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database_url: sqlite:///{tmp_path / 'x.db'}\nwechaty: {wechaty}\n", encoding="utf-8")
    run = tuanbot("--config", str(config), "run", "--transport", "wechaty")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert said in run.stderr and run.stderr.startswith("配置错误 / configuration error: wechaty")
