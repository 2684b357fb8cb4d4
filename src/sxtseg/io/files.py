"""Temporary names, leftovers of killed runs, and disk space for outputs.

Every output is written under a temporary name in its target folder and
renamed when complete (:func:`temp_sibling`). The name records the writing
process, so a rerun can remove what a killed run left
(:func:`remove_stale_temporaries`) without touching files a running process
is still writing. Memory-mapped outputs reserve their disk blocks before the
first page is written (:func:`reserve_file`, :func:`create_memmap`): a full
disk is then an error before any work is done, never a SIGBUS halfway.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError

__all__ = [
    "create_memmap",
    "remove_stale_temporaries",
    "reserve_file",
    "scratch_prefix",
    "temp_sibling",
    "write_error",
]

#: ``.NAME.PID-HEX.part``: a file being written; PID is the writing process.
_PART = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.part$")
#: ``.sxtseg-scratch-PID-XXXX``: scratch folders of :func:`sxtseg.infer.segment_file`.
_SCRATCH = re.compile(r"^\.sxtseg-scratch-(?:(?P<pid>\d+)-)?")
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NO_WRITE = {errno.EACCES, errno.EPERM, errno.EROFS}


def temp_sibling(path: Path) -> Path:
    """A unique temporary name in the same folder as ``path`` (same filesystem).

    The name, ``.NAME.PID-XXXXXXXX.part``, records the writing process, so
    :func:`remove_stale_temporaries` can tell a killed run's leftovers from
    files still being written.
    """
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")


def scratch_prefix() -> str:
    """Prefix of a scratch folder of this process (see :func:`remove_stale_temporaries`)."""
    return f".sxtseg-scratch-{os.getpid()}-"


def _alive(pid: str | None) -> bool:
    """Whether a process ``pid`` runs on this machine (None: an old name, owner unknown)."""
    if pid is None:
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_stale_temporaries(folder: str | Path, *, name: str | None = None) -> int:
    """Remove temporary files and scratch folders that a killed process left in ``folder``.

    Parameters
    ----------
    folder : str or Path
    name : str, optional
        Only the temporaries of this target file name (``.NAME.*.part``).

    Returns
    -------
    int
        How many entries were removed. Entries of processes still running are kept.
    """
    root = Path(folder)
    if not root.is_dir():
        return 0
    count = 0
    for p in root.iterdir():
        part = _PART.match(p.name)
        scratch = None if part or name is not None else _SCRATCH.match(p.name)
        match = part or scratch
        if match is None or (name is not None and match.group("name") != name):
            continue
        if _alive(match.group("pid")):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        count += 1
    return count


def _human(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def write_error(path: str | Path, exc: OSError, *, nbytes: int | None = None) -> InputError:
    """A one-line :class:`InputError` for an OSError met while creating or filling ``path``."""
    p = Path(path)
    reason = exc.strerror or str(exc) or exc.__class__.__name__
    if exc.errno in _NO_SPACE:
        need = "" if nbytes is None else f" for {_human(nbytes)}"
        return InputError(f"{p}: no room{need} on the disk ({reason})")
    if exc.errno in _NO_WRITE:
        return InputError(f"{p.parent}: cannot write output there ({reason})")
    return InputError(f"{p}: cannot write ({reason})")


def reserve_file(path: str | Path, *, extra: int = 0) -> None:
    """Allocate the disk blocks of a file up to its current size (plus ``extra`` bytes).

    A memory-mapped output whose blocks were never allocated (a sparse file)
    dies of SIGBUS when the disk fills up while pages are written. Allocating
    them first turns a full disk into an ``OSError`` (ENOSPC) before any work
    is done. Filesystems without ``fallocate`` are left as they are.

    Raises
    ------
    OSError
        ENOSPC, EDQUOT, EFBIG (over ``RLIMIT_FSIZE``) and the like.
    """
    size = os.path.getsize(path)
    if size == 0 or not hasattr(os, "posix_fallocate"):
        return
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size + extra)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS, errno.ENODEV):
            raise
    finally:
        os.close(fd)


def create_memmap(path: str | Path, shape: tuple[int, ...], dtype: Any) -> np.memmap:
    """A new ``.npy`` memory map of ``shape`` with its disk space reserved (:func:`reserve_file`).

    Raises
    ------
    InputError
        Not enough disk space, or the folder cannot be written.
    """
    p = Path(path)
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    try:
        arr = np.lib.format.open_memmap(p, mode="w+", dtype=dtype, shape=shape)
        reserve_file(p)
    except OSError as exc:
        p.unlink(missing_ok=True)
        raise write_error(p, exc, nbytes=nbytes) from None
    return arr
