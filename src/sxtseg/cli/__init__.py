"""The ``sxtseg`` command line: thin typer commands, one module each.

Each command module parses options into a config dataclass and makes one
library call; heavy imports (torch, scipy, trimesh) happen inside the
command. :func:`main` takes ``argv`` and returns an exit status, so tests
call it in-process:

- 0 success,
- 2 bad input or usage (one line on stderr, no traceback),
- 1 internal error.
"""

import errno
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType

import typer

from sxtseg import __version__
from sxtseg.cli import (
    batch,
    convert,
    demo,
    evaluate,
    info,
    measure,
    presets,
    run,
    segment,
    simulate,
    surfaces,
    train,
)
from sxtseg.cli._common import expand_multi_value_options
from sxtseg.errors import InputError, NotImplementedYet


def _click_exceptions() -> ModuleType:
    """The click exceptions typer raises: its vendored copy (typer >= 0.17) or click's."""
    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - older typer on top of click
        return importlib.import_module("click.exceptions")


_click_exc = _click_exceptions()

__all__ = ["app", "main"]

# errno values of an environment that cannot take the output (disk full, quota, read-only)
_CANNOT_WRITE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}

app = typer.Typer(
    name="sxtseg",
    help="Membrane segmentation, 3D surfaces and measurements in nm for cryo-SXT tomograms.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sxtseg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output (-vv)."),
) -> None:
    """Membrane segmentation, 3D surfaces and measurements in nm for cryo-SXT tomograms."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", force=True)
    logging.captureWarnings(True)


for _module in (simulate, presets, train, segment, surfaces, measure, evaluate, run, batch, demo,
                info, convert):  # fmt: skip
    app.command(_module.NAME, help=_module.__doc__)(_module.command)
# Options taking several space-separated values (``--labeled A B``), per command.
_MULTI_VALUE_OPTIONS: dict[str, tuple[str, ...]] = {train.NAME: train.MULTI_VALUE_OPTIONS}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    args = expand_multi_value_options(args, _MULTI_VALUE_OPTIONS)
    try:
        rv = app(args=args, prog_name="sxtseg", standalone_mode=False)
    except InputError as exc:
        print(f"sxtseg: error: {exc}", file=sys.stderr)
        return 2
    except _click_exc.ClickException as exc:
        print(f"sxtseg: error: {exc.format_message()}", file=sys.stderr)
        return 2 if exc.exit_code == 2 else exc.exit_code
    except NotImplementedYet as exc:
        print(f"sxtseg: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sxtseg: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in _CANNOT_WRITE:
            # a full disk or a read-only folder met halfway: the user's to fix, one line
            where = f"{exc.filename}: " if exc.filename else "cannot write the outputs: "
            print(f"sxtseg: error: {where}{exc.strerror or exc}", file=sys.stderr)
            return 2
        if os.environ.get("SXTSEG_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0]
        print(
            f"sxtseg: internal error: {exc.__class__.__name__}: {first} "
            "(set SXTSEG_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1
    if isinstance(rv, int):
        return rv
    return 0
