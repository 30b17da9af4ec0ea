"""绑定 / 解绑 / 我的群: the leader puts a group on her list from inside it, and sees her groups."""

from __future__ import annotations

from bot.core.commands import Level, is_bare
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.groups import BindResult, bind_group, group_name, leader_groups, may_bind, unbind_group

router = Router("groups")


def _bare(key: str):  # type: ignore[no-untyped-def]
    """The command word said on its own (「绑定手机号」 is somebody else's business)."""

    def trigger(ctx: Ctx) -> bool | None:
        inv = ctx.invocation
        return True if inv is not None and inv.spec.key == key and is_bare(inv.rest) else None

    return trigger


@router.route(_bare("bind"), scope="group")
def bind(ctx: Ctx, _: bool) -> list[Reply] | Reply:
    assert ctx.group_id is not None
    if not may_bind(ctx.session, ctx.settings, ctx.sender_id):
        return Reply.of("groups/bind_refused")
    message = ctx.message
    done = bind_group(
        ctx.session,
        ctx.settings,
        ctx.group_id,
        ctx.sender_id,
        ctx.now,
        name=message.chat_name,
        size=message.chat_size,
    )
    if done.result is BindResult.TAKEN:
        return Reply.of("groups/bind_taken", group=done.group)
    groups = leader_groups(ctx.session, ctx.sender_id)
    return [
        Reply.of("groups/bound", group=done.group, already=done.result is BindResult.ALREADY),
        Reply(
            "groups/list",
            {"groups": groups, "new": done.group.id},
            chat_id=ctx.sender_id,
            private=True,
        ),
    ]


@router.route(_bare("unbind"), level=Level.LEADER, scope="group")
def unbind(ctx: Ctx, _: bool) -> list[Reply] | Reply:
    assert ctx.group_id is not None
    if ctx.settings.group(ctx.group_id) is not None:
        return Reply.of("groups/unbind_configured", name=group_name(ctx.session, ctx.group_id))
    done = unbind_group(ctx.session, ctx.group_id, ctx.now)
    if done.blocking:
        return Reply.of("groups/unbind_blocked", group=done.group, campaigns=done.blocking)
    ctx.replan.update(c.id for c, _ in done.continuing if c.id is not None)
    return [
        Reply.of("groups/unbound", group=done.group),
        Reply(
            "groups/unbound_leader",
            {
                "group": done.group,
                "continuing": done.continuing,
                "groups": leader_groups(ctx.session, ctx.sender_id),
            },
            chat_id=ctx.sender_id,
            private=True,
        ),
    ]


@router.route(_bare("my_groups"), level=Level.LEADER, writes=False)
def my_groups(ctx: Ctx, _: bool) -> Reply:
    return Reply.of("groups/list", groups=leader_groups(ctx.session, ctx.sender_id), new=None)
