"""Fixtures for the crm-idic tests: crm's own real-database fixture (SQLite, then PostgreSQL)."""

from crm.testing import engine  # noqa: F401
