"""The leader's files: the full order list, the supplier list (备货单) and the sorting list (分拣单).

Each file is a Table built once from OrderRow (pure functions), then written as CSV (UTF-8 with
BOM so Excel opens it) or XLSX. `start_exports` writes several files together and sends a long
order list's XLSX to a worker process, so that both cores work on a 战报 (docs/performance.md,
"Recap and exports"). Every file appears under its name only once it is complete.

XLSX goes through rustpy-xlsxwriter (Python bindings of rust_xlsxwriter): for a 100,000-line
order list it is six to seven times faster than XlsxWriter. The tests read every file back with
openpyxl, cell by cell, styles included.
"""

from __future__ import annotations

import csv
import gc
import logging
import os
import pickle
import queue
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum
from functools import partial
from itertools import islice
from operator import attrgetter, itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import rustpy_xlsxwriter as rx

from bot.groupbuy.money import yuan2
from bot.groupbuy.rooms import parse_room, room_sort_key
from bot.groupbuy.rows import OrderRow

__all__ = [
    "Export",
    "FileKind",
    "Format",
    "OrderRow",
    "PendingExports",
    "start_exports",
    "write_atomically",
    "write_exports",
    "write_orders",
    "write_sorting_list",
    "write_supplier_list",
]

log = logging.getLogger(__name__)

Format = Literal["csv", "xlsx"]
FileKind = Literal["orders", "supplier", "sorting"]

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
    rows: Sequence[tuple[object, ...]]
    totals: tuple[object, ...] | None = None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file's rows are built or written.

    Making 100,000s of tuples sets off collections that walk every live object again and again
    (nearly a third of the time of the CSV files in the bench); the tables hold no cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
_PAID = {True: "已支付", False: "未支付"}


@_collector_paused()
def order_table(rows: Iterable[OrderRow]) -> Table:
    """The full order list, one row per order line in the order given, and its 合计 row."""
    body = []
    append = body.append
    members: set[str] = set()
    last_time, last_text = None, ""
    for r in rows:
        t = r.ordered_at
        if t != last_time:  # an order's lines share their time: format it once
            last_time, last_text = t, f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"
        members.add(r.member_id)
        append((
            r.follow_no, r.member_name, r.item, r.quantity, r.unit_price_fen, r.amount_fen, r.note,
            _PAID[r.paid], r.pickup, last_text, r.phone, r.room, r.coupon_fen, r.refund_fen, r.pickup_code,
        ))  # fmt: skip
    if body:
        follow, _, _, qty, _, amount, *_, coupon, refund, _ = zip(*body, strict=True)
        orders, sums = len(set(follow)), (sum(qty), sum(amount), sum(coupon), sum(refund))
    else:
        orders, sums = 0, (0, 0, 0, 0)
    total_row = ("合计", f"{len(members)}人", f"{orders}单", sums[0], None, sums[1], None, None, None, None,
                 None, None, sums[2], sums[3], None)  # fmt: skip
    return Table("订单明细", ORDER_COLUMNS, body, total_row)


def write_orders(rows: Iterable[OrderRow], path: Path, fmt: Format, *, totals: bool | None = None) -> Path:
    """The full order list, one row per order line, in the order given.

    The first ten columns are those leaders know from 快团团 (跟团号 … 下单时间); leader-only
    columns follow. A bold 合计 row closes the XLSX file; the CSV has none by default so that it
    stays one row per order line for other tools (`totals` overrides either default).
    """
    return _write(_orders_for(order_table(rows), fmt, totals), Path(path), fmt)


def _orders_for(table: Table, fmt: Format, totals: bool | None = None) -> Table:
    with_totals = totals if totals is not None else fmt == "xlsx"
    return table if with_totals else replace(table, totals=None)


SUPPLIER_COLUMNS = (
    Column("商品"),
    Column("单位"),
    Column("数量", Kind.INT),
    Column("下单人数", Kind.INT),
    Column("金额", Kind.MONEY),
)


@_collector_paused()
def supplier_table(rows: Iterable[OrderRow]) -> Table:
    """备货单: per item (and unit) the total quantity, buyers and amount, items in first-ordered order."""
    qty: dict[tuple[str, str], int] = {}
    amount: dict[tuple[str, str], int] = {}
    buyers: dict[tuple[str, str], set[str]] = {}
    everyone: set[str] = set()
    for r in rows:
        key = (r.item, r.unit)
        if key in qty:
            qty[key] += r.quantity
            amount[key] += r.amount_fen
            buyers[key].add(r.member_id)
        else:
            qty[key], amount[key], buyers[key] = r.quantity, r.amount_fen, {r.member_id}
        everyone.add(r.member_id)
    body = [
        (item, unit, qty[(item, unit)], len(buyers[(item, unit)]), amount[(item, unit)]) for item, unit in qty
    ]
    total_row = ("合计", None, sum(qty.values()), len(everyone), sum(amount.values()))
    return Table("备货单", SUPPLIER_COLUMNS, body, total_row)


def write_supplier_list(rows: Iterable[OrderRow], path: Path, fmt: Format) -> Path:
    """备货单: per item (and unit) the total quantity, buyers and amount, items in first-ordered order."""
    return _write(supplier_table(rows), Path(path), fmt)


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


_QUANTITY, _AMOUNT, _FOLLOW_NO = attrgetter("quantity"), attrgetter("amount_fen"), attrgetter("follow_no")
_ROOM, _PHONE, _NOTE = attrgetter("room"), attrgetter("phone"), attrgetter("note")


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
        # map/filter over the member's lines run in C: this loop sees every line of the campaign
        packets.append(
            _Packet(
                pickup,
                member_id,
                lines[0].member_name,
                next(filter(None, map(_ROOM, lines)), None),
                next(filter(None, map(_PHONE, lines)), None),
                sum(map(_QUANTITY, lines)),
                sum(map(_AMOUNT, lines)),
                dict.fromkeys(map(_FOLLOW_NO, lines)),
                items,
                dict.fromkeys(filter(None, map(_NOTE, lines))),
            )
        )
    room_keys = {room: room_order(room) for room in {p.room for p in packets}}
    packets.sort(key=lambda p: (p.pickup is None, p.pickup or "", room_keys[p.room], p.name, p.member_id))
    return packets


@_collector_paused()
def sorting_table(rows: Iterable[OrderRow]) -> Table:
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
            "、".join(map(str, p.follow_nos)),
            "、".join(f"{item}×{q}{unit}" for (item, unit), q in p.items.items()),
            p.units,
            p.amount_fen,
            "；".join(p.notes) or None,
            TICK,
        )
        for p in packets
    ]
    members = len({p.member_id for p in packets})
    total_row = ("合计", None, f"{members}人", None, None, None, sum(p.units for p in packets),
                 sum(p.amount_fen for p in packets), None, None)  # fmt: skip
    return Table("分拣单", SORTING_COLUMNS, body, total_row)


def write_sorting_list(rows: Iterable[OrderRow], path: Path, fmt: Format) -> Path:
    """分拣单 (see sorting_table) as CSV or XLSX."""
    return _write(sorting_table(rows), Path(path), fmt)


_TABLES: dict[FileKind, Callable[[Iterable[OrderRow]], Table]] = {
    "orders": order_table,
    "supplier": supplier_table,
    "sorting": sorting_table,
}


# ---------------------------------------------------------------- several files at once

# Below this many order lines a worker process costs more (start, imports, pickling) than it saves.
WORKER_MIN_ROWS = 30_000
WORKER_TIMEOUT = 600.0  # seconds; a worker still busy then is killed and its file written here
# The worker: a fresh interpreter that reads a pickled sheet on stdin (see worker_main). Not
# multiprocessing: its workers re-import the parent's __main__ (1.3 s for the bench), and fork
# is unsafe in the bot, which has threads.
_WORKER = "from bot.groupbuy.exports import worker_main; worker_main()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Export:
    """One file to write: which table, in which format, where."""

    kind: FileKind
    fmt: Format
    path: Path


class PendingExports:
    """Files being written; `finish()` writes what is left here and returns the paths.

    Use it as a context manager: leaving the block waits for the worker process, so none is
    left behind when the caller's work in between fails.
    """

    def __init__(self, rows: Sequence[OrderRow], exports: Sequence[Export]) -> None:
        self._rows = rows
        self._exports = list(exports)
        self._tables: dict[FileKind, Table] = {}
        # Each table is built once and dropped after its last use: the order list's is the
        # biggest thing held here (tens of MB for 100,000 lines).
        self._uses = Counter(e.kind for e in self._exports)
        self._worker: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None  # the worker's stderr, for the log if it fails
        self._feeder: threading.Thread | None = None
        self._remote: int | None = None  # the index of the export the worker writes
        self._written: set[int] = set()  # indices of the exports written here already
        big = next((i for i, e in enumerate(exports) if e.kind == "orders" and e.fmt == "xlsx"), None)
        if big is not None and len(rows) >= WORKER_MIN_ROWS and _cpus() > 1 and sys.executable:
            self._start_worker(big)

    @property
    def in_worker(self) -> Path | None:
        """The file the worker process is writing, if any."""
        return Path(self._exports[self._remote].path) if self._remote is not None else None

    def _table(self, export: Export) -> Table:
        table = self._tables.get(export.kind)
        if table is None:
            table = self._tables[export.kind] = _TABLES[export.kind](self._rows)
        self._uses[export.kind] -= 1
        if self._uses[export.kind] <= 0:
            del self._tables[export.kind]
        return _orders_for(table, export.fmt) if export.kind == "orders" else table

    def _start_worker(self, index: int) -> None:
        export = self._exports[index]
        path = os.pathsep.join(filter(None, (_PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _wait_worker)
        try:
            # Started first: the interpreter and its imports (0.3 s) overlap with building the table.
            worker = subprocess.Popen(
                [sys.executable, "-c", _WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError:  # no processes here (sandbox, limits): everything is written in-process
            log.warning("cannot start an export worker; writing %s here", export.path, exc_info=True)
            errors.close()
            return
        self._worker, self._errors, self._remote = worker, errors, index
        # The pipe's back-pressure stays off this thread: the worker reads once its imports are done.
        frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._feeder = threading.Thread(target=self._send, args=(frames,), name="export-feeder", daemon=True)
        self._feeder.start()
        try:
            table = self._table(export)
            # Converted and pickled here, in chunks: the worker is what the 战报 waits for, so it
            # only writes, each chunk as it comes, never holding the whole list.
            dump = partial(pickle.dumps, protocol=pickle.HIGHEST_PROTOCOL)
            sheet = _sheet(table)
            frames.put(dump((Path(export.path), sheet)))
            for chunk in _record_chunks(_xlsx_records(sheet, _chunks(table.rows))):
                frames.put(dump(chunk))
            frames.put(dump(None))
            frames.put(None)
            # The order list's other formats now, while the table is at hand: then it is dropped.
            for i, other in enumerate(self._exports):
                if other.kind == export.kind and i != index:
                    _write(self._table(other), Path(other.path), other.fmt)
                    self._written.add(i)
        except BaseException:
            frames.put(None)
            worker.kill()
            self._wait_worker()
            raise

    def _send(self, frames: queue.SimpleQueue[bytes | None]) -> None:
        assert self._worker is not None and self._worker.stdin is not None
        try:
            with self._worker.stdin as pipe:
                while (frame := frames.get()) is not None:
                    pipe.write(frame)
        except OSError:
            pass  # the worker died; finish() sees its exit status

    def _wait_worker(self) -> str | None:
        """Wait for the worker; None when it wrote its file, else what went wrong."""
        assert self._worker is not None
        worker, self._worker = self._worker, None
        try:
            code = worker.wait(WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            worker.kill()
            code = worker.wait()
        if self._feeder is not None:
            self._feeder.join()
            self._feeder = None
        message = ""
        if self._errors is not None:
            self._errors.seek(0)
            message = self._errors.read().decode(errors="replace").strip()
            self._errors.close()
            self._errors = None
        return None if code == 0 else f"exit status {code}: {message[-2000:]}"

    def finish(self) -> list[Path]:
        """Write the files not sent to the worker, wait for the worker; paths in the order given."""
        for i, e in enumerate(self._exports):
            if i != self._remote and i not in self._written:
                _write(self._table(e), Path(e.path), e.fmt)
                self._written.add(i)
        if self._remote is not None:
            export, self._remote = self._exports[self._remote], None
            problem = self._wait_worker()
            if problem is not None:
                # Killed (out of memory, say) or broken: write it here, so a 战报 never lacks its
                # files; a real error in the data raises here again.
                log.warning("export worker failed (%s); writing %s here", problem, export.path)
                _write(self._table(export), Path(export.path), export.fmt)
        return [Path(e.path) for e in self._exports]

    def close(self) -> None:
        if self._worker is not None:
            self._wait_worker()

    def __enter__(self) -> PendingExports:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def start_exports(rows: Sequence[OrderRow], exports: Sequence[Export]) -> PendingExports:
    """Start writing `exports`; a long order list's XLSX starts in a worker process right away.

    Do other work (the recap, the poster), then call `finish()`. Each table is built once
    however many formats it is written in.
    """
    return PendingExports(rows, exports)


def write_exports(rows: Sequence[OrderRow], exports: Sequence[Export]) -> list[Path]:
    with start_exports(rows, exports) as pending:
        return pending.finish()


def worker_main() -> None:
    """The export worker process. On stdin, pickled: (path, _Sheet), the body rows in chunks,
    then None; it writes the XLSX file at path."""
    gc.disable()  # a one-shot process; see _collector_paused
    stdin = sys.stdin.buffer
    path, sheet = pickle.load(stdin)

    def records() -> Iterator[dict[str, object]]:
        while (chunk := pickle.load(stdin)) is not None:
            yield from chunk

    write_atomically(path, partial(_write_sheet, sheet, records()))


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------- writers


@_collector_paused()
def _write(table: Table, path: Path, fmt: Format) -> Path:
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {fmt!r}: use csv or xlsx")
    return write_atomically(path, partial(_write_csv if fmt == "csv" else _write_xlsx, table))


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Write under a temporary name, then move into place: a reader (or a second process
    preparing the same 战报) never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{uuid.uuid4().hex}.{path.name}")  # same suffix: the writers read it
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


_CHUNK = 10_000  # rows converted (and sent to the worker) at a time


def _chunks(rows: Sequence[tuple[object, ...]]) -> Iterator[Sequence[tuple[object, ...]]]:
    return (rows[i : i + _CHUNK] for i in range(0, len(rows), _CHUNK))


class _Cache(dict[object, object]):
    """value -> converted value, computed once per distinct value: names, items, prices and
    places repeat a lot, and `map(cache.__getitem__, column)` then runs at C speed."""

    def __init__(self, convert: Callable[[object], object]) -> None:
        super().__init__({None: None})
        self._convert = convert

    def __missing__(self, value: object) -> object:
        out = self[value] = self._convert(value)
        return out


@dataclass(frozen=True)
class _Cells:
    """How one format writes cell values: one value (the 合计 row) and body columns.

    A body column holds what its Kind says (int, or str / None for text), so a chunk of it can
    be checked as a whole in C and passed through untouched when nothing in it needs converting.
    """

    text: Callable[[object], object]
    money: Callable[[object], object]
    integer: Callable[[object], object]
    text_needs_work: Callable[[list[str]], bool]

    def value(self, kind: Kind, value: object) -> object:
        if value is None:
            return None
        return {Kind.TEXT: self.text, Kind.MONEY: self.money, Kind.INT: self.integer}[kind](value)

    def rows(
        self,
        columns: Sequence[Column],
        chunks: Iterable[Sequence[tuple[object, ...]]],
        totals: tuple[object, ...] | None,
    ) -> Iterator[tuple[object, ...]]:
        """The body chunk by chunk, each converted column by column, then the 合计 row."""
        kinds = [c.kind for c in columns]
        money = _Cache(self.money).__getitem__
        texts = [_Cache(self.text).__getitem__ for _ in kinds]  # per column: values repeat in one
        for chunk in chunks:
            converted: list[Iterable[object]] = []
            for i, values in enumerate(zip(*chunk, strict=True)):
                if kinds[i] is Kind.MONEY:
                    converted.append(map(money, values))
                elif kinds[i] is Kind.TEXT and self._texts_need_work(values):
                    converted.append(map(texts[i], values))
                else:
                    converted.append(values)
            yield from zip(*converted, strict=True)
        if totals:
            yield tuple(map(self.value, kinds, totals))

    def _texts_need_work(self, values: Sequence[object]) -> bool:
        texts: list[str] = list(filter(None, values))  # type: ignore[arg-type]  # str or None
        return self.text_needs_work(texts)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(_FORMULA_START)
_FIRST = itemgetter(0)


def _csv_text(value: object) -> str:
    text = str(value)
    # "=HYPERLINK(...)" as a name or note must not run as a formula in Excel.
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_money(value: object) -> object:
    return yuan2(value) if isinstance(value, int) else _csv_text(value)


def _csv_text_needs_work(texts: list[str]) -> bool:
    return not _FORMULA_FIRST.isdisjoint(map(_FIRST, texts))


# Integers need nothing: the csv module writes them (and None as "") in C.
_CSV = _Cells(_csv_text, _csv_money, lambda v: v, _csv_text_needs_work)


def _write_csv(table: Table, path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow([c.header for c in table.columns])
        out.writerows(_CSV.rows(table.columns, _chunks(table.rows), table.totals))


# Characters XML 1.0 cannot carry at all; a pasted nickname may contain them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAX_CELL = 32_767  # characters Excel keeps in one cell
_WIDTH_SAMPLE = 2000
_HEADER_FILL = "#EDEDED"
_MONEY_FORMAT = "0.00"


def _xlsx_text(value: object) -> str:
    return _INVALID_XML.sub("", str(value))[:_MAX_CELL]


def _xlsx_money(value: object) -> object:
    return value / 100 if isinstance(value, int) else _xlsx_text(value)


def _xlsx_int(value: object) -> object:
    return value if isinstance(value, int | Decimal) else _xlsx_text(value)  # Decimal: a half (1.5斤)


def _xlsx_text_needs_work(texts: list[str]) -> bool:
    return bool(_INVALID_XML.search("".join(texts))) or max(map(len, texts), default=0) > _MAX_CELL


# Strings stay strings (a name such as "=HYPERLINK(…)" or "007" is never a formula or a
# number); money is fen / 100 shown as 0.00.
_XLSX = _Cells(_xlsx_text, _xlsx_money, _xlsx_int, _xlsx_text_needs_work)


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


@dataclass(frozen=True)
class _Sheet:
    """An XLSX sheet but for its body rows, which may come later (to the worker, in chunks)."""

    name: str
    columns: tuple[Column, ...]
    widths: list[float]
    body_rows: int
    totals: tuple[object, ...] | None


def _sheet(table: Table) -> _Sheet:
    sample = list(table.rows[:_WIDTH_SAMPLE])  # widths from the first rows
    widths = _widths(table.columns, [*sample, table.totals] if table.totals is not None else sample)
    return _Sheet(table.sheet, table.columns, widths, len(table.rows), table.totals)


def _write_xlsx(table: Table, path: Path) -> None:
    sheet = _sheet(table)
    _write_sheet(sheet, _xlsx_records(sheet, _chunks(table.rows)), path)


def _xlsx_records(
    sheet: _Sheet, chunks: Iterable[Sequence[tuple[object, ...]]]
) -> Iterator[dict[str, object]]:
    """The sheet's rows, 合计 last, as the writer takes them: dicts keyed by header."""
    headers = [c.header for c in sheet.columns]
    return map(dict, map(partial(zip, headers), _XLSX.rows(sheet.columns, chunks, sheet.totals)))


def _record_chunks(records: Iterator[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    while chunk := list(islice(records, _CHUNK)):
        yield chunk


def _write_sheet(sheet: _Sheet, records: Iterable[dict[str, object]], path: Path) -> None:
    """One sheet: a bold grey header row frozen at the top, money as 0.00, and a bold 合计 row
    last. The writer streams the records (constant memory)."""
    headers = [c.header for c in sheet.columns]
    if not sheet.body_rows and sheet.totals is None:
        records = [dict.fromkeys(headers)]  # the header row needs one (empty) record
    money = rx.Format().set_num_format(_MONEY_FORMAT)
    extra = {}
    if sheet.totals is not None:
        # Row formats lose to a cell's own format, so the 合计 money cells are 0.00 but not bold.
        extra["row_formats"] = {sheet.body_rows + 1: rx.Format().set_bold()}
    rx.write_worksheet(
        records,
        str(path),
        sheet_name=_sheet_name(sheet.name),
        freeze_row=1,
        column_widths=sheet.widths,
        column_formats=[money if c.kind is Kind.MONEY else None for c in sheet.columns],
        header_format=rx.Format().set_bold().set_background_color(_HEADER_FILL),
        **extra,
    )
