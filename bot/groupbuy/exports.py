"""The leader's files: the full order list, the supplier list (备货单) and the sorting list (分拣单).

Pure functions over OrderRow; CSV (UTF-8 with BOM so Excel opens it) or XLSX.

XLSX goes through XlsxWriter in constant-memory mode: of the two well-kept writers it is the
faster for a 100,000-line order list (see docs/performance.md, "Recap and exports"), and its
memory stays flat however long the list. The tests read every file back with openpyxl, cell by
cell, styles included.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import chain, islice
from pathlib import Path
from typing import Literal

import xlsxwriter

from bot.groupbuy.money import yuan2
from bot.groupbuy.rooms import parse_room, room_sort_key
from bot.groupbuy.rows import OrderRow

__all__ = ["Format", "OrderRow", "write_orders", "write_sorting_list", "write_supplier_list"]

Format = Literal["csv", "xlsx"]

TICK = "☐"
NO_PICKUP = "未指定自提点"


class Kind(Enum):
    TEXT = "text"
    INT = "int"
    MONEY = "money"  # integer fen in, yuan with two decimals out


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = Kind.TEXT
    max_width: int = 40


@dataclass(frozen=True)
class Table:
    sheet: str
    columns: tuple[Column, ...]
    rows: Iterable[Sequence[object]]
    totals: Sequence[object] | None = None


# ---------------------------------------------------------------- the three files

ORDER_COLUMNS = (
    Column("跟团号", Kind.INT),
    Column("下单人"),
    Column("商品"),
    Column("数量", Kind.INT),
    Column("单价", Kind.MONEY),
    Column("金额", Kind.MONEY),
    Column("备注"),
    Column("支付状态"),
    Column("自提点"),
    Column("下单时间"),
    # leader-only extras, after the 快团团-compatible ones
    Column("手机"),
    Column("房号"),
    Column("优惠券", Kind.MONEY),
    Column("退款", Kind.MONEY),
    Column("取货码"),
)


def _order_cells(row: OrderRow) -> tuple[object, ...]:
    t = row.ordered_at
    return (
        row.follow_no,
        row.member_name,
        row.item,
        row.quantity,
        row.unit_price_fen,
        row.amount_fen,
        row.note,
        "已支付" if row.paid else "未支付",
        row.pickup,
        f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}",
        row.phone,
        row.room,
        row.coupon_fen,
        row.refund_fen,
        row.pickup_code,
    )


def write_orders(rows: Iterable[OrderRow], path: Path, fmt: Format, *, totals: bool | None = None) -> Path:
    """The full order list, one row per order line, in the order given.

    The first ten columns are those leaders know from 快团团 (跟团号 … 下单时间); leader-only
    columns follow. A bold 合计 row closes the XLSX file; the CSV has none by default so that it
    stays one row per order line for other tools (`totals` overrides either default).
    """
    with_totals = totals if totals is not None else fmt == "xlsx"
    total_row = None
    if with_totals:
        rows = list(rows)
        total_row = (
            "合计",
            f"{len({r.member_id for r in rows})}人",
            f"{len({r.follow_no for r in rows})}单",
            sum(r.quantity for r in rows),
            None,
            sum(r.amount_fen for r in rows),
            None,
            None,
            None,
            None,
            None,
            None,
            sum(r.coupon_fen for r in rows),
            sum(r.refund_fen for r in rows),
            None,
        )
    table = Table("订单明细", ORDER_COLUMNS, map(_order_cells, rows), total_row)
    return _write(table, Path(path), fmt)


SUPPLIER_COLUMNS = (
    Column("商品"),
    Column("单位"),
    Column("数量", Kind.INT),
    Column("下单人数", Kind.INT),
    Column("金额", Kind.MONEY),
)


def write_supplier_list(rows: Iterable[OrderRow], path: Path, fmt: Format) -> Path:
    """备货单: per item (and unit) the total quantity, buyers and amount, items in first-ordered order."""
    qty: dict[tuple[str, str], int] = {}
    amount: dict[tuple[str, str], int] = {}
    buyers: dict[tuple[str, str], set[str]] = {}
    everyone: set[str] = set()
    for r in rows:
        key = (r.item, r.unit)
        if key not in qty:
            qty[key] = amount[key] = 0
            buyers[key] = set()
        qty[key] += r.quantity
        amount[key] += r.amount_fen
        buyers[key].add(r.member_id)
        everyone.add(r.member_id)
    body = [
        (item, unit, qty[(item, unit)], len(buyers[(item, unit)]), amount[(item, unit)]) for item, unit in qty
    ]
    total_row = ("合计", None, sum(qty.values()), len(everyone), sum(amount.values()))
    return _write(Table("备货单", SUPPLIER_COLUMNS, body, total_row), Path(path), fmt)


SORTING_COLUMNS = (
    Column("自提点"),
    Column("房号"),
    Column("下单人"),
    Column("手机"),
    Column("跟团号"),
    Column("商品明细", max_width=60),
    Column("件数", Kind.INT),
    Column("金额", Kind.MONEY),
    Column("备注"),
    Column("已取"),
)


def room_order(room: str | None) -> tuple[object, ...]:
    """Building then room as numbers (3栋1202 < 3栋1301 < 12栋101); rooms as written or as keys."""
    if not room:
        return room_sort_key(None)
    key, _ = parse_room(room)
    return room_sort_key(key or room)


@dataclass
class _Packet:
    """What one member collects at one pickup point."""

    pickup: str | None
    member_id: str
    name: str
    room: str | None
    phone: str | None
    units: int
    amount_fen: int
    follow_nos: dict[int, None]  # dicts as ordered sets
    items: dict[tuple[str, str], int]
    notes: dict[str, None]


def _packets(rows: Iterable[OrderRow]) -> list[_Packet]:
    groups: dict[tuple[str | None, str], list[OrderRow]] = {}
    for r in rows:
        key = (r.pickup, r.member_id)
        group = groups.get(key)
        if group is None:
            groups[key] = [r]
        else:
            group.append(r)
    packets = []
    for (pickup, member_id), lines in groups.items():
        items: dict[tuple[str, str], int] = {}
        for r in lines:
            items[(r.item, r.unit)] = items.get((r.item, r.unit), 0) + r.quantity
        packets.append(
            _Packet(
                pickup,
                member_id,
                lines[0].member_name,
                next((r.room for r in lines if r.room), None),
                next((r.phone for r in lines if r.phone), None),
                sum(r.quantity for r in lines),
                sum(r.amount_fen for r in lines),
                dict.fromkeys(r.follow_no for r in lines),
                items,
                dict.fromkeys(r.note for r in lines if r.note),
            )
        )
    room_keys = {room: room_order(room) for room in {p.room for p in packets}}
    packets.sort(key=lambda p: (p.pickup is None, p.pickup or "", room_keys[p.room], p.name, p.member_id))
    return packets


def write_sorting_list(rows: Iterable[OrderRow], path: Path, fmt: Format) -> Path:
    """分拣单: one row per member per pickup point, by pickup point, then building and room.

    Members without a room come last at their pickup point, by name. Phone numbers are in full:
    this file is for the leader only, never for a group.
    """
    packets = _packets(rows)
    body = [
        (
            p.pickup or NO_PICKUP,
            p.room,
            p.name,
            p.phone,
            "、".join(str(n) for n in p.follow_nos),
            "、".join(f"{item}×{q}{unit}" for (item, unit), q in p.items.items()),
            p.units,
            p.amount_fen,
            "；".join(p.notes) or None,
            TICK,
        )
        for p in packets
    ]
    total_row = (
        "合计",
        None,
        f"{len({p.member_id for p in packets})}人",
        None,
        None,
        None,
        sum(p.units for p in packets),
        sum(p.amount_fen for p in packets),
        None,
        None,
    )
    return _write(Table("分拣单", SORTING_COLUMNS, body, total_row), Path(path), fmt)


# ---------------------------------------------------------------- writers


def _write(table: Table, path: Path, fmt: Format) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        _write_csv(table, path)
    elif fmt == "xlsx":
        _write_xlsx(table, path)
    else:
        raise ValueError(f"unknown export format {fmt!r}: use csv or xlsx")
    return path


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_converters(columns: Sequence[Column]) -> list[Callable[[object], str]]:
    """One converter per column, each with a cache: names, items, prices and places repeat a lot."""

    def converter(kind: Kind) -> Callable[[object], str]:
        cache: dict[object, str] = {None: ""}

        def convert(value: object) -> str:
            out = cache.get(value)
            if out is None:
                if kind is Kind.MONEY and isinstance(value, int):
                    out = yuan2(value)
                elif isinstance(value, int):
                    return str(value)  # follow numbers are unique; caching them only costs memory
                else:
                    out = str(value)
                    # "=HYPERLINK(...)" as a name or note must not run as a formula in Excel.
                    if out.startswith(_FORMULA_START):
                        out = "'" + out
                cache[value] = out
            return out

        return convert

    return [converter(c.kind) for c in columns]


def _write_csv(table: Table, path: Path) -> None:
    convs = _csv_converters(table.columns)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow([c.header for c in table.columns])
        out.writerows([c(v) for c, v in zip(convs, row, strict=True)] for row in table.rows)
        if table.totals is not None:
            out.writerow([c(v) for c, v in zip(convs, table.totals, strict=True)])


# Characters XML 1.0 cannot carry at all; a pasted nickname may contain them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WIDTH_SAMPLE = 2000
_HEADER_FILL = "#EDEDED"
_MONEY_FORMAT = "0.00"


def _display_width(text: str) -> int:
    # East Asian characters take about two columns of Excel's default width unit.
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _widths(columns: Sequence[Column], sample: Sequence[Sequence[object]]) -> list[float]:
    widths = []
    for i, col in enumerate(columns):
        longest = _display_width(col.header)
        for row in sample:
            value = row[i]
            if value is not None:
                shown = yuan2(value) if col.kind is Kind.MONEY and isinstance(value, int) else str(value)
                longest = max(longest, _display_width(shown))
        widths.append(min(longest + 2, col.max_width))
    return widths


def _sheet_name(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31]


def _text(value: object) -> str:
    return _INVALID_XML.sub("", str(value))


def _write_xlsx(table: Table, path: Path) -> None:
    """Stream the table through XlsxWriter in constant-memory mode (one row in memory at a time).

    Strings are always written as strings (write_string), so a nickname such as "=HYPERLINK(…)"
    never becomes a formula; integers stay integers and money is fen / 100 with a 0.00 format.
    """
    columns = table.columns
    rows: Iterator[Sequence[object]] = iter(table.rows)
    sample = list(islice(rows, _WIDTH_SAMPLE))  # widths come from the first rows, then we stream
    widths = _widths(columns, [*sample, table.totals] if table.totals is not None else sample)
    book = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False},
    )
    try:
        sheet = book.add_worksheet(_sheet_name(table.sheet))
        header_fmt = book.add_format({"bold": True, "bg_color": _HEADER_FILL})
        money_fmt = book.add_format({"num_format": _MONEY_FORMAT})
        bold_fmt = book.add_format({"bold": True})
        bold_money_fmt = book.add_format({"bold": True, "num_format": _MONEY_FORMAT})
        for i, width in enumerate(widths):
            sheet.set_column(i, i, width)
        sheet.freeze_panes(1, 0)
        for i, col in enumerate(columns):
            sheet.write_string(0, i, col.header, header_fmt)

        money = [c.kind is Kind.MONEY for c in columns]
        numeric = [c.kind is not Kind.TEXT for c in columns]
        # Names, items and places repeat a lot: clean each distinct text once.
        texts: dict[object, str] = {}
        write_string, write_number = sheet.write_string, sheet.write_number
        n = 0
        for n, row in enumerate(chain(sample, rows), 1):
            for i, value in enumerate(row):
                if value is None:
                    continue
                if numeric[i] and isinstance(value, int):
                    if money[i]:
                        write_number(n, i, value / 100, money_fmt)
                    else:
                        write_number(n, i, value)
                else:
                    text = texts.get(value)
                    if text is None:
                        text = texts[value] = _text(value)
                    write_string(n, i, text)
        if table.totals is not None:
            n += 1
            for i, value in enumerate(table.totals):
                if value is None:
                    continue
                if numeric[i] and isinstance(value, int):
                    write_number(
                        n, i, value / 100 if money[i] else value, bold_money_fmt if money[i] else bold_fmt
                    )
                else:
                    write_string(n, i, _text(value), bold_fmt)
    finally:
        book.close()
