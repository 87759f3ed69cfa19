"""The `youcard` command for operators (app: the group and its small commands; setup,
operations, imports: command groups; demo: the demo data; drill: backup and restore)."""

from youcard.cli.app import main

__all__ = ["main"]
