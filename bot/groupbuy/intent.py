"""What a parsed message does to one member's order: new quantities, or questions to ask.

``decide(parsed, lines, index)`` is pure: ``lines`` is what the member holds now (item id ->
quantity). It turns the grammar's parts (bot/groupbuy/order_text.py) into absolute targets the
order book applies under its lock, and into questions where a careful human would ask:

- a plain quantity on a line she already has (苹果2 when she has 苹果1): more, or a change? Ask;
  the same quantity again is taken as a re-send (nothing changes, she sees her order);
- a quantity with no item (+1, 来一份, 改成3, 减一斤) names the campaign's only item, or the one
  item she has ordered (for changes and 再来); otherwise ask which;
- reducing more than she has, or removing what she never ordered, changes nothing;
- a replacement (苹果不要了，换成香蕉) is all or nothing: when its new half must be asked, the old
  half stays too. Elsewhere the clear parts apply and the unclear ones are asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.groupbuy.order_text import CatalogueIndex, Op, OrderPart, ParsedOrder
from bot.groupbuy.quantity import Quantity, normalize

_NEW = frozenset((Op.ORDER, Op.ADD, Op.SET))


@dataclass(frozen=True)
class Ask:
    """One short question. kind:
    ``which`` (item_ids: the candidates), ``more_or_set`` (she has ``have``, wrote ``wanted``),
    ``too_few`` (reduce by more than she has), ``how_many`` (an item with no quantity)."""

    kind: str
    raw: str
    item_ids: tuple[int, ...] = ()
    have: Quantity = 0
    wanted: Quantity | None = None
    op: str = "order"
    mine: bool = False  # ``which`` among the items she ordered (else among the items on sale)


@dataclass
class Decision:
    targets: dict[int, Quantity] = field(default_factory=dict)  # item id -> new quantity (0: remove)
    asks: list[Ask] = field(default_factory=list)
    not_ordered: list[int] = field(default_factory=list)  # removed or reduced but not on her order
    already: list[int] = field(default_factory=list)  # the same quantity again: nothing to do
    nothing_to_cancel: bool = False

    @property
    def changes(self) -> bool:
        return bool(self.targets)


def decide(parsed: ParsedOrder, lines: Mapping[int, Quantity], index: CatalogueIndex) -> Decision:
    parts = parsed.parts
    if (
        not lines
        and not parsed.cancel_all
        and not parsed.unreadable
        and all(p.item_id is not None and p.quantity is not None and p.op in _NEW for p in parts)
        and len({p.item_id for p in parts}) == len(parts)
    ):
        # A first order of named goods (a flash sale's 苹果1): nothing to weigh it against
        return Decision(targets={p.item_id: p.quantity for p in parts})  # type: ignore[misc]
    out = Decision()
    now: dict[int, Quantity] = dict(lines)
    removed: list[int] = []
    replace = any(p.op == Op.REMOVE for p in parsed.parts) and any(
        p.op in (Op.ORDER, Op.ADD, Op.SET) for p in parsed.parts
    )
    if parsed.cancel_all:
        held = [i for i, q in now.items() if q > 0]
        if not held:
            out.nothing_to_cancel = True
        for item_id in held:
            now[item_id] = 0
            removed.append(item_id)
    for part in parsed.parts:
        item_id = part.item_id if part.item_id is not None else _which(part, now, index, out)
        if item_id is None:
            continue
        have = now.get(item_id, 0)
        if part.op == Op.REMOVE:
            if have > 0:
                now[item_id] = 0
                removed.append(item_id)
            else:
                out.not_ordered.append(item_id)
            continue
        qty = part.quantity
        if qty is None:  # 换成香蕉: as much as the line it replaces, when the unit is the same
            qty = _replaced_quantity(removed, lines, item_id, index)
            if qty is None:
                out.asks.append(Ask("how_many", part.raw, (item_id,)))
                continue
        if part.op == Op.ADD or (part.op == Op.ORDER and part.again):
            now[item_id] = normalize(have + qty)
        elif part.op == Op.SET:
            now[item_id] = qty
        elif part.op == Op.REDUCE:
            if have <= 0 and part.dashed:
                now[item_id] = qty  # 苹果-2斤 with no apples ordered: a dash, not a minus
            elif have <= 0:
                out.not_ordered.append(item_id)
            elif qty > have:
                out.asks.append(Ask("too_few", part.raw, (item_id,), have, qty, "reduce"))
            else:
                now[item_id] = normalize(have - qty)
        elif have > 0 and item_id not in removed:
            if qty == have:
                out.already.append(item_id)
            else:
                out.asks.append(Ask("more_or_set", part.raw, (item_id,), have, qty))
        else:
            now[item_id] = qty
    for u in parsed.unreadable:
        if u.reason == "qty" and u.item_id is not None:
            out.asks.append(Ask("how_many", u.raw, (u.item_id,)))
    if replace and out.asks:
        return Decision(asks=out.asks)  # all or nothing
    out.targets = {i: q for i, q in now.items() if q != lines.get(i, 0)}
    return out


def _which(
    part: OrderPart, lines: Mapping[int, Quantity], index: CatalogueIndex, out: Decision
) -> int | None:
    """The item a part without a name means, or None after adding the question to ``out``."""
    held = [i for i, q in lines.items() if q > 0]
    on_sale = [item.id for item in index.items]
    refers_to_order = part.op in (Op.SET, Op.REDUCE, Op.REMOVE) or part.again
    if refers_to_order and len(held) == 1:
        return held[0]
    if len(on_sale) == 1 and (not refers_to_order or not held):
        return on_sale[0]
    if refers_to_order and held:
        out.asks.append(
            Ask("which", part.raw, tuple(held), wanted=part.quantity, op=part.op.value, mine=True)
        )
    elif part.op == Op.REMOVE:
        out.nothing_to_cancel = True
    else:
        out.asks.append(Ask("which", part.raw, tuple(on_sale), wanted=part.quantity, op=part.op.value))
    return None


def _replaced_quantity(
    removed: list[int], lines: Mapping[int, Quantity], item_id: int, index: CatalogueIndex
) -> Quantity | None:
    if len(removed) != 1:
        return None
    old, new = index.by_id.get(removed[0]), index.by_id.get(item_id)
    if old is None or new is None or old.unit != new.unit:
        return None
    return lines.get(removed[0])
