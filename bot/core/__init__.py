"""The chat framework."""
