"""Store rows -> the plain ``OrderRow`` facts the exports and the recap work on."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.groupbuy.pickup_points import choice_points, order_pickup
from bot.groupbuy.quantity import amount_fen
from bot.groupbuy.rows import OrderRow
from bot.services.pickup import pickup_choices
from bot.store.models import Campaign, Group, Item, Member, Order, OrderLine, OrderStatus


def order_rows(s: Session, campaign: Campaign, tz: ZoneInfo) -> list[OrderRow]:
    """One row per order line of the campaign's active orders, by follow number."""
    stmt = (
        select(Order, OrderLine, Item, Member, Group)
        .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
        .join(Item, col(Item.id) == col(OrderLine.item_id))
        .join(Member, col(Member.id) == col(Order.member_id))
        .join(Group, col(Group.id) == col(Order.group_id))
        .where(Order.campaign_id == campaign.id, Order.status == OrderStatus.ACTIVE)
        .order_by(col(Order.follow_no), col(Item.position))
    )
    rows: list[OrderRow] = []
    choices = pickup_choices(s, campaign.id) if choice_points(campaign.options or {}) else {}
    for order, line, item, member, group in s.exec(stmt):
        # Coupons and refunds belong to the order: carry them on its first line only, so
        # sums over lines count them once.
        first_line = not rows or rows[-1].follow_no != order.follow_no
        price = item.settled_price_fen or line.unit_price_fen
        created = line.created_at or order.created_at
        assert created is not None
        rows.append(
            OrderRow(
                follow_no=order.follow_no,
                member_id=member.id,
                member_name=member.name,
                item=item.name,
                unit=item.unit,
                quantity=line.quantity,
                unit_price_fen=price,
                amount_fen=amount_fen(price, line.quantity),
                note=order.note,
                paid=order.paid,
                pickup=order_pickup(
                    campaign.pickup, campaign.options or {}, order.group_id, choices.get(member.id)
                ),
                ordered_at=created.astimezone(tz),
                room=order.room,
                phone=member.phone,
                coupon_fen=order.coupon_fen if first_line else 0,
                refund_fen=order.refund_fen if first_line else 0,
                group_name=group.name,
                pickup_code=order.pickup_code,
                original_price_fen=item.original_price_fen,
                group_id=order.group_id,
            )
        )
    return rows


def find_campaign(s: Session, campaign_id: int | None) -> Campaign | None:
    """The given campaign, or the latest one when no id is given."""
    if campaign_id is not None:
        return s.get(Campaign, campaign_id)
    return s.exec(select(Campaign).order_by(col(Campaign.id).desc())).first()
