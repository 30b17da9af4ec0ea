"""The leader's files, read back cell by cell: order list, 备货单 and 分拣单 in CSV and XLSX."""

from __future__ import annotations

import csv
import gc
import io
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.groupbuy import exports
from bot.groupbuy.exports import (
    Export,
    start_exports,
    write_exports,
    write_orders,
    write_sorting_list,
    write_supplier_list,
)
from bot.groupbuy.rows import OrderRow

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
HEADER = ["跟团号", "下单人", "商品", "数量", "单价", "金额", "备注", "支付状态", "自提点", "下单时间"]


def line(no: int, member: str, item: str, qty: int, price: int, **kw: object) -> OrderRow:
    unit = {"苹果": "斤", "香蕉": "把", "鸡蛋": "盒"}[item]
    fields: dict[str, object] = {"note": None, "paid": True, "pickup": "东门驿站", "minutes": no * 7}
    fields.update(kw)
    minutes = int(fields.pop("minutes"))  # type: ignore[call-overload]
    return OrderRow(
        no, f"id-{member}", member, item, unit, qty, price, price * qty,
        ordered_at=T0 + timedelta(minutes=minutes), **fields,  # type: ignore[arg-type]
    )  # fmt: skip


ROWS = [
    line(1, "李阿姨", "苹果", 2, 1280, room="12栋101", phone="13812345678", pickup_code="A1"),
    line(1, "李阿姨", "香蕉", 1, 990, room="12栋101", phone="13812345678", pickup_code="A1"),
    line(2, "张叔", "苹果", 3, 1280, room="3栋1301", note="要大的", paid=False, coupon_fen=200),
    line(3, "赵姐", "鸡蛋", 1, 1600, room="3-1202", refund_fen=500),
    line(4, "刘哥", "苹果", 1, 1280),
    line(5, "陈奶奶", "香蕉", 2, 990, pickup="西门超市", room="5栋201"),
    line(6, "=HYPERLINK(1)", "苹果", 1, 1280),
    line(7, "李阿姨", "苹果", 1, 1280, room="12栋101", note="放门口"),
]


def read_xlsx(path: Path) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(path).active


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_order_list_xlsx_cell_by_cell(tmp_path: Path) -> None:
    ws = read_xlsx(write_orders(ROWS, tmp_path / "orders.xlsx", "xlsx"))
    header = [c.value for c in ws[1]]
    assert header[:10] == HEADER
    assert header[10:] == ["手机", "房号", "优惠券", "退款", "取货码"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.max_row == len(ROWS) + 2  # header + lines + 合计

    first = [c.value for c in ws[2]]
    assert first == [1, "李阿姨", "苹果", 2, 12.8, 25.6, None, "已支付", "东门驿站", "2026-12-05 09:07",
                     "13812345678", "12栋101", 0, 0, "A1"]  # fmt: skip
    assert ws["E2"].number_format == "0.00" and ws["F2"].number_format == "0.00"
    assert ws["D2"].value == 2 and ws["D2"].number_format == "General"  # a count, not money
    assert [c.value for c in ws[4]][:10] == [2, "张叔", "苹果", 3, 12.8, 38.4, "要大的", "未支付", "东门驿站",
                                             "2026-12-05 09:14"]  # fmt: skip
    assert ws["M4"].value == 2 and ws["M4"].number_format == "0.00"  # coupon ¥2.00
    assert ws["G8"].value == "=HYPERLINK(1)" or ws["B8"].value == "=HYPERLINK(1)"
    assert ws["B8"].data_type == "s"  # a string, never a formula

    totals = [c.value for c in ws[len(ROWS) + 2]]
    assert totals[0] == "合计"
    assert totals[1] == "6人" and totals[2] == "7单"
    assert totals[3] == sum(r.quantity for r in ROWS)
    assert totals[5] == pytest.approx(sum(r.amount_fen for r in ROWS) / 100)
    assert totals[12] == 2 and totals[13] == 5
    assert ws.cell(len(ROWS) + 2, 1).font.b and ws.cell(len(ROWS) + 2, 4).font.b
    # the writer's row format loses to the column's money format: 0.00, not bold
    assert ws.cell(len(ROWS) + 2, 6).number_format == "0.00"
    # readable widths: CJK-aware and at least as wide as the header
    assert ws.column_dimensions["J"].width >= len("2026-12-05 09:07")
    assert ws.column_dimensions["B"].width >= 6


def test_order_list_csv(tmp_path: Path) -> None:
    rows = read_csv(write_orders(ROWS, tmp_path / "orders.csv", "csv"))
    assert rows[0][:10] == HEADER
    assert len(rows) == len(ROWS) + 1  # one row per order line, no totals row in CSV
    assert rows[1][:10] == [
        "1",
        "李阿姨",
        "苹果",
        "2",
        "12.80",
        "25.60",
        "",
        "已支付",
        "东门驿站",
        "2026-12-05 09:07",
    ]
    assert rows[3][7] == "未支付" and rows[3][12] == "2.00"
    assert rows[7][1] == "'=HYPERLINK(1)"  # formula injection defused for Excel


def test_supplier_list(tmp_path: Path) -> None:
    ws = read_xlsx(write_supplier_list(ROWS, tmp_path / "supplier.xlsx", "xlsx"))
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert cells == [
        ["商品", "单位", "数量", "下单人数", "金额"],
        ["苹果", "斤", 8, 4, 102.4],
        ["香蕉", "把", 3, 2, 29.7],
        ["鸡蛋", "盒", 1, 1, 16.0],
        ["合计", None, 12, 6, 148.1],
    ]
    assert ws["E2"].number_format == "0.00" and ws["E5"].number_format == "0.00"
    assert ws["A5"].font.b and ws["C5"].font.b and not ws["A4"].font.b
    csv_rows = read_csv(write_supplier_list(ROWS, tmp_path / "supplier.csv", "csv"))
    assert csv_rows[-1] == ["合计", "", "12", "6", "148.10"]
    assert csv_rows[2] == ["香蕉", "把", "3", "2", "29.70"]


def test_sorting_list_order_and_content(tmp_path: Path) -> None:
    ws = read_xlsx(write_sorting_list(ROWS, tmp_path / "sorting.xlsx", "xlsx"))
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert cells[0] == [
        "自提点",
        "房号",
        "下单人",
        "手机",
        "跟团号",
        "商品明细",
        "件数",
        "金额",
        "备注",
        "已取",
    ]
    # per pickup point; building then room as numbers; members without a room last, by name
    assert [(r[0], r[1], r[2]) for r in cells[1:-1]] == [
        ("东门驿站", "3-1202", "赵姐"),
        ("东门驿站", "3栋1301", "张叔"),
        ("东门驿站", "12栋101", "李阿姨"),
        ("东门驿站", None, "=HYPERLINK(1)"),
        ("东门驿站", None, "刘哥"),
        ("西门超市", "5栋201", "陈奶奶"),
    ]
    li = cells[3]
    assert li[3] == "13812345678"  # the leader's file carries the full phone number
    assert li[4] == "1、7"
    assert li[5] == "苹果×3斤、香蕉×1把"
    assert li[6] == 4 and li[7] == pytest.approx(48.3)
    assert li[8] == "放门口" and li[9] == "☐"
    assert cells[-1][:8] == ["合计", None, "6人", None, None, None, 12, 148.1]
    assert ws.freeze_panes == "A2" and ws["G8"].font.b


def test_sorting_list_csv_matches_xlsx(tmp_path: Path) -> None:
    xl = read_xlsx(write_sorting_list(ROWS, tmp_path / "s.xlsx", "xlsx"))
    rows = read_csv(write_sorting_list(ROWS, tmp_path / "s.csv", "csv"))
    assert [r[2] for r in rows[1:]] == [
        v if not str(v).startswith("=") else "'" + v for v in (c.value for c in xl["C"][1:])
    ]
    assert rows[-1][7] == "148.10"


def test_awkward_text_survives_xlsx(tmp_path: Path) -> None:
    odd = [line(1, " 小<b>&王\x07 ", "苹果", 1, 1280, note='说"快点"')]
    ws = read_xlsx(write_orders(odd, tmp_path / "odd.xlsx", "xlsx"))
    assert ws["B2"].value == " 小<b>&王 "  # control character dropped, spaces kept
    assert ws["G2"].value == '说"快点"'


def test_many_rows_stream(tmp_path: Path) -> None:
    rows = [line(i, f"会员{i % 300}", "苹果", 1 + i % 3, 1280, minutes=i) for i in range(1, 5001)]
    ws = openpyxl.load_workbook(write_orders(rows, tmp_path / "big.xlsx", "xlsx"), read_only=True).active
    values = list(ws.iter_rows(values_only=True))
    assert len(values) == 5002
    assert values[5000][0] == 5000 and values[5000][3] == 1 + 5000 % 3
    assert values[-1][3] == sum(r.quantity for r in rows)


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="csv or xlsx"):
        write_orders(ROWS, tmp_path / "x.pdf", "pdf")  # type: ignore[arg-type]


def cells(path: Path) -> list[list[object]]:
    return [[c.value for c in row] for row in openpyxl.load_workbook(path).active.iter_rows()]


ALL_SIX = [(kind, fmt) for kind in ("orders", "supplier", "sorting") for fmt in ("csv", "xlsx")]


def test_write_exports_builds_each_table_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    for kind, make in list(exports._TABLES.items()):
        monkeypatch.setitem(
            exports._TABLES, kind, lambda rows, kind=kind, make=make: built.append(kind) or make(rows)
        )
    wanted = [Export(kind, fmt, tmp_path / f"{kind}.{fmt}") for kind, fmt in ALL_SIX]  # type: ignore[arg-type]
    assert write_exports(ROWS, wanted) == [e.path for e in wanted]
    assert sorted(built) == ["orders", "sorting", "supplier"]
    # the same files as one at a time, and no temporary file left behind
    assert cells(tmp_path / "orders.xlsx") == cells(write_orders(ROWS, tmp_path / "one.xlsx", "xlsx"))
    assert read_csv(tmp_path / "sorting.csv") == read_csv(
        write_sorting_list(ROWS, tmp_path / "one.csv", "csv")
    )
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def many_rows(n: int) -> list[OrderRow]:
    return [
        line(i // 2 + 1, f"会员{i % 300}", "苹果" if i % 2 else "香蕉", 1 + i % 3, 1280, minutes=i)
        for i in range(n)
    ]


def test_long_order_list_xlsx_in_a_worker_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "WORKER_MIN_ROWS", 1000)
    monkeypatch.setattr(exports, "_cpus", lambda: 2)
    monkeypatch.setattr(exports, "_CHUNK", 700)  # sent and converted in five chunks, the last short
    rows = many_rows(3000)
    rows[2500] = replace(rows[2500], member_name="=坏\x07名字")  # only the fourth chunk needs cleaning
    wanted = [Export(kind, fmt, tmp_path / "w" / f"{kind}.{fmt}") for kind, fmt in ALL_SIX]  # type: ignore[arg-type]
    with start_exports(rows, wanted) as pending:
        assert pending.in_worker == tmp_path / "w" / "orders.xlsx"
        paths = pending.finish()
    assert pending.in_worker is None and all(p.is_file() for p in paths)
    # cell by cell the same as written here, in this process
    here = write_orders(rows, tmp_path / "here.xlsx", "xlsx")
    assert cells(tmp_path / "w" / "orders.xlsx") == cells(here)
    assert cells(here)[-1][:4] == ["合计", "300人", "1500单", sum(r.quantity for r in rows)]
    assert cells(here)[2501][1] == "=坏名字" and cells(here)[2502][1] == "会员101"
    assert read_csv(tmp_path / "w" / "orders.csv")[2501][1] == "'=坏\x07名字"


def test_a_failing_worker_leaves_the_file_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(exports, "WORKER_MIN_ROWS", 10)
    monkeypatch.setattr(exports, "_cpus", lambda: 2)
    monkeypatch.setattr(exports, "_WORKER", "import sys; sys.stderr.write('killed'); sys.exit(9)")
    rows = many_rows(50)
    out = write_exports(rows, [Export("orders", "xlsx", tmp_path / "orders.xlsx")])
    assert cells(out[0]) == cells(write_orders(rows, tmp_path / "here.xlsx", "xlsx"))
    assert "exit status 9: killed" in caplog.text


def test_no_worker_when_processes_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kw: object) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(exports, "WORKER_MIN_ROWS", 10)
    monkeypatch.setattr(exports, "_cpus", lambda: 2)
    monkeypatch.setattr(exports.subprocess, "Popen", refuse)
    with start_exports(many_rows(50), [Export("orders", "xlsx", tmp_path / "o.xlsx")]) as pending:
        assert pending.in_worker is None
        assert pending.finish()[0].is_file()


def test_texts_stay_texts_and_fit_a_cell(tmp_path: Path) -> None:
    long_note = "很" * 40_000
    odd = [
        line(1, "王\x0b姐", "苹果", 1, 1280, note=long_note, pickup_code="007", phone="+8613812345678"),
        line(2, "@张叔", "苹果", 1, 1280, pickup_code="0100"),
    ]
    ws = read_xlsx(write_orders(odd, tmp_path / "odd.xlsx", "xlsx"))
    assert ws["B2"].value == "王姐" and ws["B3"].value == "@张叔"
    assert len(ws["G2"].value) == 32_767  # Excel's limit for one cell
    assert ws["O2"].value == "007" and ws["O2"].data_type == "s" and ws["K2"].value == "+8613812345678"
    rows = read_csv(write_orders(odd, tmp_path / "odd.csv", "csv"))
    assert rows[1][10] == "'+8613812345678" and rows[2][1] == "'@张叔" and rows[1][14] == "007"
    assert len(rows[1][6]) == 40_000  # CSV has no cell limit


def test_empty_campaign_files(tmp_path: Path) -> None:
    assert cells(write_orders([], tmp_path / "o.xlsx", "xlsx")) == [
        [*HEADER, "手机", "房号", "优惠券", "退款", "取货码"],
        ["合计", "0人", "0单", 0, None, 0, None, None, None, None, None, None, 0, 0, None],
    ]
    assert read_csv(write_sorting_list([], tmp_path / "s.csv", "csv"))[1] == [
        "合计",
        "",
        "0人",
        "",
        "",
        "",
        "0",
        "0.00",
        "",
        "",
    ]
    assert cells(write_orders([], tmp_path / "plain.xlsx", "xlsx", totals=False))[0][0] == "跟团号"


def test_collector_paused_while_writing_and_restored(tmp_path: Path) -> None:
    seen: list[bool] = []
    with exports._collector_paused():
        seen.append(gc.isenabled())
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        write_orders(ROWS, tmp_path / "o.csv", "csv")
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_a_failing_table_stops_the_worker_it_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []
    popen = subprocess.Popen

    def recorded(*args: object, **kw: object) -> subprocess.Popen[bytes]:
        started.append(popen(*args, **kw))  # type: ignore[call-overload]
        return started[-1]

    def broken(rows: object) -> exports.Table:
        raise ValueError("bad data")

    monkeypatch.setattr(exports, "WORKER_MIN_ROWS", 10)
    monkeypatch.setattr(exports, "_cpus", lambda: 2)
    monkeypatch.setattr(exports.subprocess, "Popen", recorded)
    monkeypatch.setitem(exports._TABLES, "orders", broken)
    with pytest.raises(ValueError, match="bad data"):
        start_exports(many_rows(50), [Export("orders", "xlsx", tmp_path / "o.xlsx")])
    assert len(started) == 1 and started[0].poll() is not None  # killed and reaped, not left waiting
    assert not list(tmp_path.iterdir())
