"""Errors the library raises for the CLI to turn into a message and an exit code."""


class BanditoreError(Exception):
    """A problem the user can fix; the message says what, where and how. Exit code 2."""

    exit_code = 2


class ConfigError(BanditoreError):
    """The configuration cannot be used."""


class StoreError(BanditoreError):
    """The database cannot be opened or migrated."""
