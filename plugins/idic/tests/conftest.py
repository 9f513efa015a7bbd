"""Fixtures for the crm-idic tests: crm's own real-database fixture (SQLite, then PostgreSQL)."""

from crm.testing import engine, isolated_cache_dir  # noqa: F401
