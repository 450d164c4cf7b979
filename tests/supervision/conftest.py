"""The supervision tests use the accounts tests' fixtures: the demo city and its staff."""

from tests.accounts.conftest import actors, demo_units  # noqa: F401
