"""The `timeline:` and `alerts:` sections of config.yaml, validated.

``bot.core.config.Settings`` validates both sections with these models, so a bad value stops
start-up with the field and line named like any other setting.
Per-group overrides live under ``timeline.groups.<group id>`` and take any top-level key.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _minutes(values: tuple[int, ...]) -> tuple[int, ...]:
    if any(v <= 0 for v in values):
        raise ValueError("minutes must be positive")
    return tuple(sorted(set(values), reverse=True))


class PaymentConfig(_Strict):
    # Minutes after close for each 催付 stage.
    stages_minutes: tuple[int, ...] = (30, 240, 1440)
    # Stages never closer together than this (after moving out of quiet hours).
    min_gap_minutes: int = Field(default=120, ge=0)
    max_per_member: int = Field(default=3, ge=1)
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)

    @field_validator("stages_minutes")
    @classmethod
    def _stages(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(_minutes(v)))

    def is_quiet(self, t: time) -> bool:
        if self.quiet_start == self.quiet_end:
            return False
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= t < self.quiet_end
        return t >= self.quiet_start or t < self.quiet_end


class GraceConfig(_Strict):
    """How late a reminder may still go out after a restart (seconds); later ones are skipped."""

    preheat: int = Field(default=1800, ge=0)
    remind_open: int = Field(default=300, ge=0)
    countdown: int = Field(default=30, ge=0)
    sales: int = Field(default=600, ge=0)
    last_call: int = Field(default=600, ge=0)
    pay: int = Field(default=3600, ge=0)
    alert: int = Field(default=120, ge=0)


class TimelineConfig(_Strict):
    reminders: bool = True
    # Before opening: strong reminders (T-60, T-30), then the golden ten minutes' countdown.
    remind_open_minutes: tuple[int, ...] = (60, 30)
    countdown_minutes: tuple[int, ...] = (10, 5, 1)
    # After opening: the first sales broadcast (None: off).
    sales_after_minutes: int | None = Field(default=30, ge=1)
    # Before closing: 最后N小时 / 最后N分钟 last calls.
    last_call_minutes: tuple[int, ...] = (120, 30)
    # 仅剩N件 when remaining stock falls to this share of the stock.
    low_stock_ratio: float = Field(default=0.2, gt=0, lt=1)
    # Stock crossings are posted this long after the order, so close ones share one message.
    stock_post_delay_seconds: int = Field(default=5, ge=0, le=300)
    # How long the bot's own red-packet rain lasts.
    rain_minutes: int = Field(default=3, ge=1, le=60)
    # How often each process looks for campaigns another process created or changed.
    reconcile_seconds: int = Field(default=60, ge=5)
    grace: GraceConfig = GraceConfig()
    payment: PaymentConfig = PaymentConfig()
    # Per-group overrides: {group id: {any key above}}.
    groups: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("remind_open_minutes", "countdown_minutes", "last_call_minutes")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        return _minutes(v)

    @model_validator(mode="after")
    def _groups_valid(self) -> TimelineConfig:
        for group_id, override in self.groups.items():
            if "groups" in override:
                raise ValueError(f"groups.{group_id}: nested groups are not allowed")
            try:
                self.for_group(group_id)
            except ValidationError as exc:
                raise ValueError(
                    f"groups.{group_id}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
                ) from exc
        return self

    @property
    def rain_timedelta(self) -> timedelta:
        return timedelta(minutes=self.rain_minutes)

    def for_group(self, group_id: str | None) -> TimelineConfig:
        override = self.groups.get(group_id or "")
        if not override:
            return self
        base = self.model_dump(exclude={"groups"})
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
        return TimelineConfig.model_validate(base)


class AlertsConfig(_Strict):
    enabled: bool = True
    every_minutes: int = Field(default=5, ge=1)
    # Checks start this long after opening (T+30).
    start_after_minutes: int = Field(default=30, ge=0)
    conversion_below: float = Field(default=0.15, ge=0, le=1)
    chat_per_minute_below: float = Field(default=10, ge=0)
    # Members who speak in a window, against their usual number (mean of the last hour's windows).
    active_members_below: float = Field(default=0.5, ge=0, le=1)
    # Judged only when usually at least this many members speak in a window.
    active_members_min_usual: float = Field(default=5, ge=0)
    order_drop: float = Field(default=0.3, gt=0, lt=1)
    # The order-rate drop is judged only when the previous window had at least this many orders.
    order_drop_min_orders: int = Field(default=3, ge=1)
    # The same alert is not repeated to the leader within this time.
    cooldown_minutes: int = Field(default=30, ge=0)
