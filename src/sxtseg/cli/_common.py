"""Option types and helpers shared by the command modules (no heavy imports)."""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import typer

from sxtseg.errors import InputError

__all__ = ["OVERWRITE", "VOXEL_SIZE", "parse_shape", "parse_voxel_size"]

VOXEL_SIZE = typer.Option(
    None,
    "--voxel-size",
    help="Voxel size in nm (one value or z,y,x); overrides a missing or wrong header.",
)
OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing output files.")


def parse_voxel_size(text: str | None) -> Any:
    """'9.8' or '10,9.8,9.8' -> float or (z, y, x); None stays None."""
    if text is None:
        return None
    from sxtseg.types import check_spacing

    try:
        parts = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise InputError(f"--voxel-size: not a number or z,y,x triple: {text!r}") from None
    return check_spacing(parts, name="--voxel-size")


def parse_shape(text: str, *, name: str = "--shape") -> tuple[int, int, int]:
    """'64,256,256' -> (64, 256, 256)."""
    try:
        parts = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise InputError(f"{name}: expected Z,Y,X integers, got {text!r}") from None
    if len(parts) != 3 or min(parts) < 1:
        raise InputError(f"{name}: expected three positive integers Z,Y,X, got {text!r}")
    return (parts[0], parts[1], parts[2])


def not_yet(command: str, issue: str) -> None:
    """Stop a command whose implementation has not landed yet (exit status 1)."""
    from sxtseg.errors import NotImplementedYet

    raise NotImplementedYet(f"'sxtseg {command}' is not implemented yet ({issue})")


@contextlib.contextmanager
def tqdm_progress(desc: str, *, unit: str = "it") -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a tqdm bar (hidden when not a terminal)."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, disable=None)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def expand_multi_value_options(args: list[str], options: dict[str, tuple[str, ...]]) -> list[str]:
    """Let listed options take several values: ``--labeled A B`` -> ``--labeled A --labeled B``.

    click options take one value per occurrence; commands declare options that
    accept several space-separated values in ``MULTI_VALUE_OPTIONS`` and
    :func:`sxtseg.cli.main` expands them before parsing. ``options`` maps a
    command name to those option names. Only tokens after the command name
    are touched; a token starting with ``-`` ends the value list.
    """
    out: list[str] = []
    command_opts: tuple[str, ...] | None = None
    current: str | None = None
    expect_value = False
    for tok in args:
        if command_opts is None:
            out.append(tok)
            if not tok.startswith("-"):
                command_opts = options.get(tok, ())
            continue
        if tok.startswith("-"):
            name, eq, _ = tok.partition("=")
            current = name if name in command_opts else None
            expect_value = current is not None and not eq
            out.append(tok)
            continue
        if current is not None and not expect_value:
            out.append(current)
        expect_value = False
        out.append(tok)
    return out
