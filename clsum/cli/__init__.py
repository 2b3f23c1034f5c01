"""The command line, the top layer: every ``clsum`` command, one module per command family."""

import os
import sys

from clsum.cli.common import EXIT_INTERRUPTED, EXIT_TERMINATED
from clsum.cli.main import main

__all__ = ["entry", "main"]


def entry() -> None:
    """The ``clsum`` process: ``main``, and after a stop (manifest written, line printed) an exit
    that waits for nothing. A CTranslate2 translator being freed waits for the batch its worker
    threads are still decoding (measured: ~30 s after SIGTERM with a long batch), and orchestrators
    send SIGKILL 10-30 s after SIGTERM; only the process entry point may skip that cleanup."""
    try:
        main()
    except SystemExit as exc:
        if exc.code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.code)
        raise
