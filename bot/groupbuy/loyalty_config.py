"""The `loyalty:` section of config.yaml: ratings, tickets, win-back, points, VIP, invitations.

``bot.core.config.Settings`` validates it with these models, so a bad value stops start-up with
the field and line named like any other setting.
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedbackConfig(_Strict):
    # After 核销, ask the member privately (once) for a 1-5 rating this many minutes later.
    ask_after_minutes: int = Field(default=120, ge=0)
    # A rating of this many stars or fewer goes to the leader at once, with the comment.
    alert_at_most: int = Field(default=3, ge=1, le=5)
    # An after-sales ticket unanswered this long is sent to the leader again, once per period.
    ticket_overdue_hours: float = Field(default=24, gt=0)


class WinbackConfig(_Strict):
    # A member gets at most one win-back message in this many days, whatever the leader sends.
    once_per_days: int = Field(default=30, ge=1)
    # Win-back messages released per minute: well under the account's limit, so the groups'
    # own messages never wait behind a wave.
    per_minute: int = Field(default=10, ge=1)
    # The personal coupon is valid this many days.
    coupon_days: int = Field(default=14, ge=1)
    # The leader hears how many coupons were used this many days after a wave.
    report_after_days: int = Field(default=7, ge=1)


class PointsConfig(_Strict):
    per_yuan: int = Field(default=1, ge=0)  # points per yuan of a collected (核销) order
    sign_in: int = Field(default=5, ge=0)  # 签到, once a day
    rating: int = Field(default=10, ge=0)  # the first rating of a campaign
    # 积分兑换: this many points make one yuan of coupon; at least min_redeem at a time.
    points_per_yuan: int = Field(default=100, ge=1)
    min_redeem: int = Field(default=500, ge=1)
    coupon_days: int = Field(default=30, ge=1)
    # Points expire this many days after they were earned; one warning this many days before.
    expire_days: int = Field(default=365, ge=1)
    warn_days: int = Field(default=30, ge=1)


class VipLevel(_Strict):
    name: str
    campaigns: int = Field(ge=1)  # bought in at least this many campaigns


class VipConfig(_Strict):
    # Highest level first is not required: the member gets the highest level they reach.
    levels: tuple[VipLevel, ...] = (VipLevel(name="VIP", campaigns=3), VipLevel(name="金牌VIP", campaigns=10))


class InvitesConfig(_Strict):
    # After the newcomer's first order (in a campaign that closed with it), both get a coupon.
    inviter_coupon_yuan: float = Field(default=5, ge=0)
    newcomer_coupon_yuan: float = Field(default=5, ge=0)
    coupon_days: int = Field(default=30, ge=1)


class StarsConfig(_Strict):
    count: int = Field(default=3, ge=0)  # 活跃之星 named in the recap (0: none)
    # A group message counts as helpful when it is not an order or a command, not a question,
    # and at least this many characters long.
    helpful_min_chars: int = Field(default=6, ge=1)


class LoyaltyConfig(_Strict):
    feedback: FeedbackConfig = FeedbackConfig()
    winback: WinbackConfig = WinbackConfig()
    points: PointsConfig = PointsConfig()
    vip: VipConfig = VipConfig()
    invites: InvitesConfig = InvitesConfig()
    stars: StarsConfig = StarsConfig()
    # No unsolicited private message (rating asks, win-back, warnings) in these hours.
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)

    @field_validator("quiet_start", "quiet_end", mode="before")
    @classmethod
    def _hhmm(cls, value: object) -> object:
        if isinstance(value, int):  # YAML reads an unquoted 22:00 as minutes (sexagesimal)
            return time(value // 60 % 24, value % 60)
        return value
