"""The leader's files: the full order list, the supplier list (备货单) and the sorting list (分拣单).

Pure functions over OrderRow; CSV (UTF-8 with BOM so Excel opens it) or XLSX.

Why XLSX is written here instead of through openpyxl: a campaign of 100,000 order lines is
1.5 million cells, and openpyxl's write-only mode needs about 16 s for that on the target machine
(11 s even with lxml), far over the 2 s budget of bench/recap.py. The streaming writer below emits
the same minimal SpreadsheetML (bold header, frozen first row, column widths, 0.00 money format,
bold totals row) in about a second and constant memory. The tests read every file back with
openpyxl, cell by cell, styles included.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import chain, islice
from pathlib import Path
from typing import Literal

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


# Cell style ids in _STYLES below.
_PLAIN, _HEADER, _MONEY, _BOLD, _BOLD_MONEY = range(5)
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    f"{_XML}<styleSheet {_NS}>"
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="0.00"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFEDEDED"/><bgColor indexed="64"/></patternFill>'
    "</fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

# Characters XML 1.0 cannot carry at all; a pasted nickname may contain them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WIDTH_SAMPLE = 2000


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _display_width(text: str) -> int:
    # East Asian characters take about two columns of Excel's default width unit.
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _escape(text: str) -> str:
    text = _INVALID_XML.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;")


def _text_xml(text: str) -> str:
    text = _escape(text)
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{text}</t></is>"


def _cell_writers(columns: Sequence[Column], bold: bool) -> list[Callable[[object, str], str]]:
    """One formatter per column: value and row number -> the <c> element (None values are skipped)."""

    def writer(letter: str, kind: Kind) -> Callable[[object, str], str]:
        number_style = (
            (_BOLD_MONEY if kind is Kind.MONEY else _BOLD)
            if bold
            else (_MONEY if kind is Kind.MONEY else _PLAIN)
        )
        number_attr = f' s="{number_style}"' if number_style else ""
        text_attr = f' s="{_BOLD}"' if bold else ""
        cache: dict[object, str] = {}  # the part after the row number

        def cell(value: object, n: str) -> str:
            tail = cache.get(value)
            if tail is None:
                if isinstance(value, int) and kind is not Kind.TEXT:
                    shown = yuan2(value) if kind is Kind.MONEY else value
                    tail = f'"{number_attr}><v>{shown}</v></c>'
                    if kind is Kind.INT:
                        return f'<c r="{letter}{n}{tail}'  # unique follow numbers: not worth caching
                else:
                    tail = f'"{text_attr} t="inlineStr">{_text_xml(str(value))}</c>'
                cache[value] = tail
            return f'<c r="{letter}{n}{tail}'

        return cell

    return [writer(_column_letter(i), c.kind) for i, c in enumerate(columns, 1)]


def _row_xml(writers: Sequence[Callable[[object, str], str]], row: Sequence[object], n: int) -> str:
    r = str(n)
    cells = "".join([w(v, r) for w, v in zip(writers, row, strict=True) if v is not None])
    return f'<row r="{n}">{cells}</row>'


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


def _write_xlsx(table: Table, path: Path) -> None:
    columns = table.columns
    rows: Iterator[Sequence[object]] = iter(table.rows)
    sample = list(islice(rows, _WIDTH_SAMPLE))  # widths come from the first rows, then we stream
    if table.totals is not None:
        sample.append(table.totals)
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(_widths(columns, sample), 1)
    )
    head = (
        f"{_XML}<worksheet {_NS} {_NS_R}>"
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
    )
    header = "".join(
        f'<c r="{_column_letter(i)}1" s="{_HEADER}" t="inlineStr">{_text_xml(c.header)}</c>'
        for i, c in enumerate(columns, 1)
    )
    plain = _cell_writers(columns, bold=False)
    workbook = (
        f"{_XML}<workbook {_NS} {_NS_R}><bookViews><workbookView/></bookViews><sheets>"
        f'<sheet name="{_escape(_sheet_name(table.sheet))}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/styles.xml", _STYLES)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(f'{head}<row r="1">{header}</row>'.encode())
            n = 1
            chunk: list[str] = []
            for row in chain(sample[: len(sample) - (table.totals is not None)], rows):
                n += 1
                chunk.append(_row_xml(plain, row, n))
                if len(chunk) == 1000:
                    f.write("".join(chunk).encode())
                    chunk.clear()
            if table.totals is not None:
                n += 1
                chunk.append(_row_xml(_cell_writers(columns, bold=True), table.totals, n))
            f.write("".join(chunk).encode())
            f.write(b"</sheetData></worksheet>")
