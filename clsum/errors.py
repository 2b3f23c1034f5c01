"""Exceptions raised by library code. Only the CLI turns them into exit codes and messages."""


class ClsumError(Exception):
    """Base class: the message is one sentence a user can act on."""


class ConfigError(ClsumError):
    """Invalid configuration: unknown key, bad value, unreadable config file."""


class InputError(ClsumError):
    """The input path or JSONL file cannot be read at all (single bad documents become records)."""


class ModelError(ClsumError):
    """A model cannot be found, downloaded or loaded."""


class OutputError(ClsumError):
    """The output folder cannot be created, locked or written."""


class WriteError(OutputError):
    """Writing results failed during a run (a full disk, say): the run stopped, and every result
    written before the failure is intact."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, ``docker stop``, systemd), raised by the CLI's handler: a run stops as on
    Ctrl-C and records ``interrupted``."""
