"""The command line, the top layer: every ``clsum`` command, one module per command family."""

from clsum.cli.main import main

__all__ = ["main"]
