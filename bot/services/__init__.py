"""Group-buy operations on the store."""
