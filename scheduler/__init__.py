"""Timeline firing: the runner (exactly once, rebuilt on start), what each job does, and the
timers that say when (APScheduler in production, a fake in tests). The plan is pure and lives
in ``bot.groupbuy.plan``."""
