"""Exceptions shared by every layer.

``InputError`` is the one the CLI turns into a single line on stderr and exit
status 2: bad files, bad options, missing voxel sizes. Everything else that
escapes a command is an internal error (exit status 1).
"""

from __future__ import annotations

__all__ = ["InputError", "NotImplementedYet"]


class InputError(ValueError):
    """Bad input or usage: a file that cannot be read, an option out of range."""


class NotImplementedYet(RuntimeError):
    """A command of the contract whose implementation has not landed yet."""
