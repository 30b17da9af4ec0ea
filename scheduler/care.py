"""Keeping members: the periodic sweep that sends what is due outside any campaign's timeline.

Woken when the store says something falls due (and at least hourly), it asks for ratings after
核销, sends overdue tickets to the leader again, starts the win-back trickle, rewards invitations,
warns of expiring points and expires them. Each unit of work is claimed by a row in the store
(see models_loyalty) in the same transaction that writes its message to the outbox: a restart, a
double fire or a second process never sends anything twice, and what was not done yet is done by
the next sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.core.messages import Reply
from bot.groupbuy.loyalty import out_of_quiet
from bot.services import feedback, invites, points, winback
from bot.services.alerts import staff_of
from bot.services.pickup import packet
from bot.store.db import reader
from bot.store.models import Member
from bot.store.models_loyalty import Optout, RatingAsk
from scheduler.jobs import Host

log = logging.getLogger(__name__)

SWEEP_JOB = "care:sweep"
WINBACK_JOB = "care:winback"
# The sweep reads the store at least this often (work another process added, clock jumps).
IDLE = timedelta(hours=1)
# After a chat batch that may have added work (核销, 售后, 召回, 截团) the sweep runs within this.
POKE_DELAY = timedelta(seconds=60)
# Win-back messages are released in small batches this far apart.
WINBACK_EVERY = timedelta(seconds=30)


def _private(template: str, to: str, **data: object) -> Reply:
    return Reply(template, dict(data), chat_id=to, private=True)


class CareRunner:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.config = host.settings.loyalty
        self._next: datetime | None = None
        self._winback_on = False

    def start(self) -> None:
        self._at(self.host.clock.now())

    def poke(self) -> None:
        """Something may have changed: look again soon (cheap; coalesces bursts)."""
        soon = self.host.clock.now() + POKE_DELAY
        if self._next is None or self._next > soon:
            self._at(soon)

    def _at(self, when: datetime) -> None:
        self._next = when
        self.host.timer.call_at(SWEEP_JOB, when, self.sweep)

    async def sweep(self) -> None:
        self._next = None
        try:
            sent, wake, winback_waiting = await asyncio.to_thread(self._sweep)
        except Exception:
            log.exception("the care sweep failed; it runs again at the next tick")
            sent, wake, winback_waiting = False, None, False
        now = self.host.clock.now()
        # A poke that came while the sweep ran (its work may be newer than what was read) stands.
        self._at(min(t for t in (wake, now + IDLE, self._next) if t is not None))
        if winback_waiting and not self._winback_on:
            self._winback_on = True
            self.host.timer.call_at(WINBACK_JOB, now, self.trickle)
        if sent:
            await self.host.outbox.pump()

    async def trickle(self) -> None:
        """Release the next few win-back messages; again in WINBACK_EVERY while any wait."""
        try:
            sent, more = await asyncio.to_thread(self._trickle)
        except Exception:
            log.exception("win-back release failed; retried shortly")
            sent, more = False, True
        now = self.host.clock.now()
        if more:
            self.host.timer.call_at(WINBACK_JOB, now + WINBACK_EVERY, self.trickle)
        else:
            self._winback_on = False
            self.poke()  # the leader hears the count
        if sent:
            await self.host.outbox.pump()

    def _quiet_until(self, now: datetime) -> datetime | None:
        end = out_of_quiet(now, self.config.quiet_start, self.config.quiet_end, self.host.clock.tz)
        return end if end != now else None

    def _trickle(self) -> tuple[bool, bool]:
        now = self.host.clock.now()
        if self._quiet_until(now) is not None:
            return False, False  # the sweep starts it again after the quiet hours
        sent = self._step(self._winback, now)
        with Session(reader(self.host.engine)) as s:
            return sent, winback.waiting(s)

    def _sweep(self) -> tuple[bool, datetime | None, bool]:
        """Read what is due (read-only), then one write transaction per kind of due work."""
        now = self.host.clock.now()
        cfg = self.config
        with Session(reader(self.host.engine)) as s:
            ticket_or_ask = feedback.next_due(s, now, cfg.feedback)
            points_due = points.next_due(s, cfg.points)
            report_due = winback.next_report(s)
            rewards = invites.waiting(s)
            winback_waiting = winback.waiting(s)
            unfinished = winback.unfinished(s)
        quiet = self._quiet_until(now)
        if quiet is not None:
            # Nobody, member or leader, gets these at night: everything waits for the morning.
            return False, quiet, False
        steps = []
        if ticket_or_ask is not None and ticket_or_ask <= now:
            steps += [self._tickets, self._rating_asks]
        if points_due is not None and points_due <= now:
            steps.append(self._points)
        if rewards:
            steps.append(self._rewards)
        if (unfinished and not winback_waiting) or (report_due is not None and report_due <= now):
            steps.append(self._winback_done)
        sent = False
        for step in steps:
            sent = self._step(step, now) or sent
        later = [t for t in (ticket_or_ask, points_due, report_due) if t is not None and t > now]
        return sent, min(later, default=None), winback_waiting

    def _step(self, step: Callable[[Session, datetime], list[Reply]], now: datetime) -> bool:
        try:
            with self.host.writer, Session(self.host.engine, expire_on_commit=False) as s:
                replies = step(s, now)
                if replies:
                    self.host.send_in_transaction(s, replies)
                s.commit()
                return bool(replies)
        except Exception:
            log.exception("care step %s failed; retried at the next sweep", step.__name__)
            return False

    # --- the steps: each returns the replies to queue in its transaction -----------------------

    def _rating_asks(self, s: Session, now: datetime) -> list[Reply]:
        replies = []
        for ask in feedback.due_rating_asks(s, now, self.config.feedback):
            assert ask.order.id is not None
            if feedback.claim(s, RatingAsk(order_id=ask.order.id, at=now)):
                pk = packet(s, ask.campaign, ask.order)
                replies.append(
                    _private("feedback/ask", ask.order.member_id, packet=pk, points=self.config.points.rating)
                )
        return replies

    def _tickets(self, s: Session, now: datetime) -> list[Reply]:
        replies = []
        for due in feedback.overdue_tickets(s, now, self.config.feedback):
            for staff in staff_of(s, [due.ticket.group_id]):
                replies.append(
                    Reply(
                        "feedback/ticket_overdue",
                        {"ticket": due.ticket, "name": due.name, "hours": due.hours, "period": due.period},
                        chat_id=staff,
                        private=True,
                        must_send=True,
                    )
                )
        return replies

    def _winback(self, s: Session, now: datetime) -> list[Reply]:
        cfg = self.config.winback
        count = max(1, round(cfg.per_minute * WINBACK_EVERY.total_seconds() / 60))
        return [
            _private(
                "winback/offer",
                r.member_id,
                coupon=r.coupon,
                days=r.wave.silent_days,
                name=_name(s, r.member_id),
            )
            for r in winback.release(s, now, count, cfg)
        ]

    def _winback_done(self, s: Session, now: datetime) -> list[Reply]:
        replies = [
            _private("winback/finished", w.wave.leader_id, wave=w.wave, sent=w.sent, skipped=w.skipped)
            for w in winback.finished_waves(s, now)
        ]
        replies += [
            _private("winback/report", r.wave.leader_id, report=r) for r in winback.due_reports(s, now)
        ]
        return replies

    def _rewards(self, s: Session, now: datetime) -> list[Reply]:
        replies = []
        opted = _opted_out(s)
        for r in invites.due_rewards(s, now, self.config.invites):
            inv = r.invitation
            newcomer = _name(s, inv.member_id)
            for to, coupon, inviter in (
                (inv.inviter_id, r.inviter_coupon, True),
                (inv.member_id, r.newcomer_coupon, False),
            ):
                if coupon is not None and to not in opted:
                    replies.append(
                        _private("invites/reward", to, coupon=coupon, newcomer=newcomer, inviter=inviter)
                    )
        return replies

    def _points(self, s: Session, now: datetime) -> list[Reply]:
        cfg = self.config.points
        points.expire(s, now)
        opted = _opted_out(s)
        return [
            _private("points/expiring", w.member_id, points=w.points, expires_at=w.expires_at)
            for w in points.warn_expiring(s, now, cfg)
            if w.member_id not in opted
        ]


def _name(s: Session, member_id: str) -> str:
    member = s.get(Member, member_id)
    return member.name if member is not None else member_id


def _opted_out(s: Session) -> set[str]:
    return set(s.exec(select(Optout.member_id).where(col(Optout.member_id).is_not(None))))
