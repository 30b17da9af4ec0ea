"""Every input the console takes, checked on the server: a form that does not validate changes
nothing and gets one plain sentence saying what to write instead."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.services.member_history import SEGMENTS
from bot.services.order_list import PAGE, Show

F = TypeVar("F", bound="Form")

# What to write instead, per field.
HINTS = {
    "no": "跟团号要写数字",
    "code": "取货码是4到8位数字",
    "item": "请选要取消的商品",
    "reason": "请写取消原因（1到40个字，不换行），会告诉团员",
    "row": "时间线序号不对，请刷新页面再试",
    "when": "请写新的时间，例如 19:30、今晚8点、明天10:00",
    "number": "接龙编号不对，请刷新页面再试",
    "decision": "请选确认或拒绝",
    "member": "名字最多30个字",
    "q": "搜索最多40个字",
    "show": "没有这个筛选",
    "offset": "页码不对",
    "upto": "页码不对",
    "view": "没有这个分组",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Number = Annotated[int, Field(ge=1, le=999_999_999)]


class Form(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)


class PaidForm(Form):
    no: Number


class VerifyForm(Form):
    code: str = Field(pattern=r"^[0-9]{4,8}$")


class CancelForm(Form):
    no: Number
    item: Number
    reason: str = Field(min_length=1, max_length=40)

    @field_validator("reason")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("one line of text")
        return value


class SkipForm(Form):
    row: int = Field(ge=1, le=500)


class MoveForm(SkipForm):
    when: str = Field(min_length=1, max_length=30, pattern=r"^[^\x00-\x1f\x7f]+$")


class DecideForm(Form):
    number: Number
    decision: Literal["confirm", "reject"]
    member: str | None = Field(default=None, max_length=30, pattern=r"^[^\x00-\x1f\x7f]*$")

    @field_validator("member")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class OrdersQuery(Form):
    q: str = Field(default="", max_length=40)
    show: Show = Show.ALL
    offset: int = Field(default=0, ge=0, le=10_000_000)
    upto: int = Field(default=PAGE, ge=1, le=1000)  # a live refresh keeps the cards already shown


MEMBER_VIEWS = ("all", "repeat", "vip", "silent30", "silent90", *SEGMENTS.values())


class MembersQuery(Form):
    view: str = "all"

    @field_validator("view")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in MEMBER_VIEWS:
            raise ValueError("unknown view")
        return value


def read_form(model: type[F], data: Mapping[str, object]) -> F | str:
    """The validated form, or what to write instead (in Chinese)."""
    fields = {k: v for k, v in data.items() if k in model.model_fields and isinstance(v, str)}
    try:
        return model.model_validate(fields)
    except ValidationError as err:
        field = str(err.errors()[0]["loc"][0]) if err.errors()[0]["loc"] else ""
        return HINTS.get(field, "填写的内容不对，请检查后再试")
