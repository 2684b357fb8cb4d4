"""The package version, in a module of its own.

Submodules that record the version (MRC labels, model folders, summaries)
import it from here rather than from :mod:`sxtseg`, whose lazy front door
reaches the notebook API: importing the root from a low layer would make
that layer depend on everything above it.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
