"""Group-buy operations on the store: campaigns, orders, payments, pickup, after-sales, red
packets, the 接龙 book, members, recaps, alerts, broadcasts and the timeline's effects."""
