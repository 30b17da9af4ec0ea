"""管理员 添加/删除 @某人 — the leader grants and takes back admin rights in a group."""

from __future__ import annotations

from bot.core.commands import Invocation, parse_admin
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.members import member_name, role_of, set_role
from bot.store.models import RoleName

router = Router("admin")


@router.command("admin")
def manage_admins(ctx: Ctx, inv: Invocation) -> Reply:
    args = parse_admin(inv.rest, ctx.message.mentions)
    assert ctx.group_id is not None
    changed, unchanged = [], []
    for member_id in ctx.message.mentions:
        current = role_of(ctx.session, ctx.group_id, member_id)
        name = member_name(ctx.session, member_id)
        if current == RoleName.LEADER or (current == RoleName.ADMIN) == args.add:
            unchanged.append(name)
            continue
        set_role(ctx.session, ctx.group_id, member_id, RoleName.ADMIN if args.add else None)
        changed.append(name)
    return Reply.of("admin/changed", add=args.add, changed=changed, unchanged=unchanged)
