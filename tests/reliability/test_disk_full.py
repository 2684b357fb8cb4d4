"""A full disk, a file-size limit, a read-only folder, and what a killed run left.

Before the fix, ``segment`` into a 300 KB tmpfs died of SIGBUS (exit 135)
with no message and left two ``.part`` files: the MRC writer and the scratch
volumes were memory maps over sparse files. Outputs now reserve their disk
blocks first (``sxtseg.io.files.reserve_file``), so each case below ends in
one ``sxtseg: error:`` line, exit status 2, no partial file and the input
untouched. The tmpfs and read-only cases need ``unshare -rm`` (a user
namespace) and are skipped where it is not allowed.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sxtseg.cli import main
from sxtseg.io import write_volume
from sxtseg.types import Volume

SHAPE = (16, 96, 96)  # mask 144 KiB, float16 probabilities 288 KiB, scratch float32 576 KiB
CODE = "import sys; from sxtseg.cli import main; sys.exit(main(sys.argv[1:]))"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def tomo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("input") / "tomo.mrc"
    data = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
    write_volume(path, Volume(data, (10.0, 10.0, 10.0)))
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _in_namespace(mount: Path, options: str, args: list[str]) -> list[str]:
    """``args`` run with a fresh tmpfs (``mount -o options``) on ``mount``; lists what is left."""
    script = (
        'mnt=$1; shift; mount -t tmpfs -o "$0" tmpfs "$mnt" || exit 99; "$@"; rc=$?; '
        'echo "@@left:"; find "$mnt" -mindepth 1; exit $rc'
    )
    return ["unshare", "-rm", "sh", "-c", script, options, str(mount), *args]


def _namespaces_work(tmp: Path) -> bool:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return False
    probe = subprocess.run(_in_namespace(tmp, "size=64k", ["true"]), capture_output=True)
    return probe.returncode == 0


@pytest.fixture
def mount_point(tmp_path: Path) -> Path:
    path = tmp_path / "small"
    path.mkdir()
    if not _namespaces_work(path):
        pytest.skip("cannot mount a tmpfs in a user namespace here")
    return path


def _sxtseg(args: list[str], *, preexec: Callable[[], None] | None = None,
            mount: tuple[Path, str] | None = None) -> tuple[int, list[str], list[str]]:  # fmt: skip
    """Run the CLI in a child process; (exit status, its ``sxtseg:`` lines, files left)."""
    cmd = [sys.executable, "-c", CODE, *args]
    if mount is not None:
        cmd = _in_namespace(mount[0], mount[1], cmd)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=ENV,
                          preexec_fn=preexec)  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("sxtseg:")]
    left = proc.stdout.split("@@left:")[-1].split() if mount is not None else []
    return proc.returncode, lines, left


def _assert_one_clear_line(rc: int, lines: list[str], *words: str) -> None:
    assert rc in (1, 2), (rc, lines)
    assert len(lines) == 1 and lines[0].startswith("sxtseg: error: "), lines
    assert all(w in lines[0] for w in words), lines


def test_segment_into_a_full_tmpfs(tomo: Path, mount_point: Path) -> None:
    before = _digest(tomo)
    args = ["segment", str(tomo), "-o", str(mount_point / "mask.mrc"),
            "--probabilities", str(mount_point / "prob.mrc"), "--device", "cpu"]  # fmt: skip
    rc, lines, left = _sxtseg(args, mount=(mount_point, "size=300k"))
    _assert_one_clear_line(rc, lines, "No space left on device")
    assert rc == 2 and left == [], left  # was: SIGBUS (135) and two .part files
    assert _digest(tomo) == before


def test_run_to_hdf5_into_a_full_tmpfs(tomo: Path, mount_point: Path) -> None:
    """HDF5 met the full disk halfway, raised, and crashed (SIGSEGV) collecting the file."""
    out = mount_point / "res"
    args = ["run", str(tomo), "-o", str(out), "--device", "cpu", "--format", "h5"]
    rc, lines, left = _sxtseg(args, mount=(mount_point, "size=500k"))
    _assert_one_clear_line(rc, lines, "No space left on device")
    assert not [p for p in left if Path(p).name.startswith(".")], left


def _file_size_limit(nbytes: int) -> Callable[[], None]:
    def apply() -> None:  # pragma: no cover - runs in the child; Python ignores SIGXFSZ
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return apply


@pytest.mark.parametrize(
    ("extra", "limit", "culprit"),
    [([], 200_000, "prob.mrc"),  # the probabilities do not fit
     (["--axes", "all"], 400_000, "input.npy")],  # the outputs fit, the scratch volume not
)  # fmt: skip
def test_segment_over_a_file_size_limit(
    tomo: Path, tmp_path: Path, extra: list[str], limit: int, culprit: str
) -> None:
    before = _digest(tomo)
    out = tmp_path / "out"
    out.mkdir()
    args = ["segment", str(tomo), "-o", str(out / "mask.mrc"),
            "--probabilities", str(out / "prob.mrc"), "--device", "cpu", *extra]  # fmt: skip
    rc, lines, _ = _sxtseg(args, preexec=_file_size_limit(limit))
    _assert_one_clear_line(rc, lines, culprit, "File too large")
    assert list(out.iterdir()) == []  # no output, no .part, no scratch folder
    assert _digest(tomo) == before


@pytest.mark.parametrize("command", ["segment", "run"])
def test_read_only_output_folder(tomo: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    target = ["-o", str(out / "mask.mrc")] if command == "segment" else ["-o", str(out / "res")]
    args = [command, str(tomo), *target, "--device", "cpu"]
    if os.geteuid() != 0:  # permissions hold for ordinary users
        out.chmod(0o555)
        try:
            rc, lines, left = _sxtseg(args)
        finally:
            out.chmod(0o755)
    else:  # root ignores permissions: a read-only mount
        if not _namespaces_work(out):
            pytest.skip("cannot mount a read-only tmpfs here")
        rc, lines, left = _sxtseg(args, mount=(out, "ro,size=64k"))
    assert rc == 2, lines
    _assert_one_clear_line(rc, lines)
    assert any(w in lines[0] for w in ("Read-only", "Permission denied")), lines
    assert left == []


def test_a_rerun_removes_what_a_killed_run_left(tomo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(dead.stdout)  # this process has exited
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = [out / f".mask.mrc.{dead_pid}-0123abcd.part", out / ".prob.mrc.89abcdef.part",
                 out / f".sxtseg-scratch-{dead_pid}-x1y2z3"]  # fmt: skip
        live = out / f".mask.mrc.{sleeper.pid}-4567cdef.part"  # another run, still writing
        for p in [*stale[:2], live]:
            p.write_bytes(b"half a volume")
        stale[2].mkdir()
        (stale[2] / "input.npy").write_bytes(b"scratch")
        rc = main(["segment", str(tomo), "-o", str(out / "mask.mrc"), "--probabilities",
                   str(out / "prob.mrc"), "--device", "cpu", "--min-volume", "1000"])  # fmt: skip
        assert rc == 0
        assert not any(p.exists() for p in stale)
        assert live.exists()
        assert sorted(p.name for p in out.iterdir()) == sorted(["mask.mrc", "prob.mrc", live.name])
    finally:
        sleeper.kill()
        sleeper.wait()
