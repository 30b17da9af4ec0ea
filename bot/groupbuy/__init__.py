"""Pure domain logic: reading members' Chinese, announcements, pricing, the campaign's timeline
plan, recap maths and the files made from it. No database, no network, no framework."""
