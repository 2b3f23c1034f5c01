"""``python -m clsum``: the same as the ``clsum`` command."""

from clsum.cli import entry

entry()
