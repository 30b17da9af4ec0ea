"""The campaign timeline: pure planning, idempotent firing, and the timers that drive it."""
