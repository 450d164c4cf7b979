"""The publishing tests use the accounts tests' fixtures: the demo city, its staff, accounts."""

from tests.accounts.conftest import actors, demo_accounts, demo_units  # noqa: F401
