"""Transports connect the core to a chat network (web chat, WeChat, memory for tests)."""
