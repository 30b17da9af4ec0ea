"""Persistence: sqlmodel tables and the database engine (SQLite by default, PostgreSQL by URL)."""
