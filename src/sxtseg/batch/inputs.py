"""Which tomograms a batch runs, and the name of each one's output folder.

Inputs are files, folders or glob patterns. A folder is scanned recursively:

- a ``.zarr`` folder, or a folder whose first TIFF holds one 2D slice, is
  itself one tomogram (nothing below it is scanned);
- in a folder holding ``tomogram.*`` (one the simulator wrote) only those
  files count, not ``membranes``, ``instances`` or other truth volumes;
- elsewhere every file with a volume extension counts;
- hidden entries, temporary ``*.part`` files, run output folders (holding a
  ``summary.json``) and the batch's own output folder are skipped.

Names are paths relative to the common input root with separators replaced by
``_`` and the extension dropped: ``000/tomogram.mrc`` -> ``000_tomogram``.
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sxtseg.errors import InputError

__all__ = ["Tomogram", "find_tomograms", "is_volume_folder"]

log = logging.getLogger(__name__)

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Tomogram:
    """One task of a batch.

    Attributes
    ----------
    path : Path
        The tomogram (a file, a ``.zarr`` folder or a folder of TIFF slices).
    name : str
        Its output folder's name inside the batch's output folder.
    """

    path: Path
    name: str


def _suffixes() -> dict[str, str]:
    from sxtseg.io import SUFFIXES

    return SUFFIXES


def is_volume_folder(path: Path) -> bool:
    """True for a folder that is itself one tomogram (OME-Zarr or TIFF slices)."""
    from sxtseg.io import is_volume_folder as _is_volume_folder

    return _is_volume_folder(path)


def _is_volume_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in _suffixes()


def _skip_name(name: str) -> bool:
    return name.startswith(".") or name.endswith(".part")


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def _scan(folder: Path, exclude: Path | None) -> list[Path]:
    """Tomograms below ``folder`` (see the module docstring)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        if _inside(here, exclude) or "summary.json" in files:
            dirs[:] = []  # the batch's outputs, or the output folder of a run
            continue
        keep_dirs = []
        for d in sorted(dirs):
            sub = here / d
            if _skip_name(d):
                continue
            if is_volume_folder(sub):
                if not _inside(sub, exclude):
                    found.append(sub)
            else:
                keep_dirs.append(d)
        dirs[:] = keep_dirs
        vols = [here / f for f in sorted(files) if not _skip_name(f) and _is_volume_file(here / f)]
        simulated = [p for p in vols if p.name.split(".")[0] == "tomogram"]
        found.extend(simulated or vols)
    return found


def _glob_root(pattern: str) -> Path:
    """The folder part of a pattern before its first wildcard."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _expand(item: str, exclude: Path | None) -> tuple[list[Path], Path]:
    """(tomograms, root) of one command-line input."""
    path = Path(item)
    if not path.exists() and _GLOB_CHARS & set(item):
        matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
        if not matches:
            raise InputError(f"{item}: the pattern matches nothing")
        out: list[Path] = []
        for m in matches:
            out.extend(_expand(str(m), exclude)[0])
        return out, _glob_root(item)
    if not path.exists():
        raise InputError(f"{item}: no such file or folder")
    if path.is_dir() and not is_volume_folder(path):
        return _scan(path, exclude), path
    return [path], path.parent


def _names(paths: list[Path], root: Path) -> list[str]:
    """Output names: relative path, separators -> '_', extension dropped; clashes resolved."""

    def name(p: Path, keep_ext: bool) -> str:
        rel = p.resolve().relative_to(root) if _inside(p, root) else Path(p.name)
        text = str(rel) if keep_ext else str(rel.with_suffix("")) if rel.suffix else str(rel)
        if keep_ext:
            text = text.replace(".", "_")
        text = text.replace(os.sep, "_").replace("/", "_")
        return text or p.stem

    names = [name(p, False) for p in paths]
    clashing = {n for n in names if names.count(n) > 1}
    names = [name(p, True) if n in clashing else n for p, n in zip(paths, names)]
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out


def find_tomograms(
    inputs: list[str | Path] | tuple[str | Path, ...], *, exclude: str | Path | None = None
) -> list[Tomogram]:
    """Expand files, folders and glob patterns into named tomograms.

    Parameters
    ----------
    inputs : list of str or Path
        Files, folders or glob patterns (``**`` allowed).
    exclude : str or Path, optional
        A folder never scanned (the batch's output folder).

    Returns
    -------
    list of Tomogram
        In a stable order (inputs in order, files sorted), without duplicates.

    Raises
    ------
    InputError
        An input that does not exist, a pattern matching nothing, or no tomogram at all.
    """
    if not inputs:
        raise InputError("no input given")
    ex = Path(exclude).resolve() if exclude is not None else None
    paths: list[Path] = []
    roots: list[Path] = []
    for item in inputs:
        found, root = _expand(str(item), ex)
        paths.extend(found)
        roots.append(root.resolve())
    unique: dict[Path, Path] = {}
    for p in paths:
        unique.setdefault(p.resolve(), p)
    if not unique:
        raise InputError(f"no tomograms found in {', '.join(str(i) for i in inputs)}")
    root = Path(os.path.commonpath([str(r) for r in roots]))
    resolved = list(unique)
    names = _names(resolved, root)
    log.info("%d tomograms under %s", len(resolved), root)
    return [Tomogram(path=unique[r], name=n) for r, n in zip(resolved, names)]
