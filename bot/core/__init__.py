"""The chat framework: messages, routing, context, the command grammar, rendering, clock and
timer, config, normalisation, the outbox and its pacing.

It runs no group-buy operation and never imports ``bot.services``: what a handler needs is
handed to it through ``Ctx``. From the pure domain below it, it takes only values (numerals for
command arguments, money and masking filters for templates, the timeline's settings in the
config schema); from the store, the outbox's and the processed messages' tables.
"""
