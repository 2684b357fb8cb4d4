"""``sxtseg batch`` on a local cluster of 2 worker processes: results, faults, kill and rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sxtseg.cli import main
from sxtseg.io import read_volume, write_volume
from sxtseg.simulate import simulate, write_simulation
from sxtseg.types import Volume

OPTIONS = ["--workers", "2", "--device", "cpu", "--threshold", "0.5", "--min-volume", "0",
           "--no-previews", "--formats", "ply", "--no-dashboard"]  # fmt: skip
NAMES = {"000_tomogram", "001_tomogram", "002_tomogram", "003_tomogram", "extra_cell",
         "extra_slices"}  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six small tomograms (four simulator folders, an OME-Zarr, TIFF slices) + a corrupt file."""
    root = tmp_path_factory.mktemp("batch") / "in"
    sims = []
    for i in range(4):
        sim = simulate("bessy-u41", shape=(16, 64, 64), seed=i, recipe="yeast")
        write_simulation(sim, root / f"{i:03d}", previews=False)
        sims.append(sim.tomogram)
    (root / "extra" / "slices").mkdir(parents=True)
    write_volume(root / "extra" / "cell.zarr", sims[0])
    for z in range(sims[1].shape[0]):
        write_volume(root / "extra" / "slices" / f"s{z:02d}.tif",
                     Volume(sims[1].data[z : z + 1], sims[1].voxel_size))  # fmt: skip
    (root / "broken.mrc").write_bytes(b"not an MRC file " * 64)
    return root


@pytest.fixture(scope="module")
def reference(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "out"
    assert main(["batch", str(inputs), "-o", str(out), *OPTIONS]) == 2
    return out


@pytest.mark.slow
def test_batch_results_and_bad_file(inputs: Path, reference: Path) -> None:
    out = reference
    doc = json.loads((out / "batch.json").read_text())
    entries = doc["tomograms"]
    assert set(entries) == NAMES | {"broken"}
    assert entries["broken"]["status"] == "failed" and entries["broken"]["error_type"] == "input"
    assert "\n" not in entries["broken"]["error"] and "broken.mrc" in entries["broken"]["error"]
    assert doc["exit_status"] == 2 and doc["counts"]["done"] == 6
    total = 0
    for name in NAMES:
        e = entries[name]
        assert e["status"] == "done" and e["voxel_size_nm"] == pytest.approx([9.8] * 3, rel=1e-4)
        assert set(e["stages"]) == {"segment", "objects", "surfaces", "measure"}
        summary = json.loads((out / name / "summary.json").read_text())
        assert set(summary["stages"]) == set(e["stages"])
        assert (out / name / "mask.mrc").is_file()
        rows = len(pd.read_csv(out / name / "objects.csv"))
        assert rows == e["objects"]
        total += rows
    table = pd.read_csv(out / "objects.csv")
    assert table.columns[0] == "tomogram" and len(table) == total and total > 0
    assert set(table["tomogram"]) <= NAMES
    assert not list(out.rglob(".*.part"))


def _snapshot(out: Path, name: str) -> dict[str, int]:
    files = [p for p in (out / name).rglob("*") if p.is_file() and p.name != "summary.json"]
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in files}


def _same_outputs(a: Path, b: Path, name: str) -> None:
    assert np.array_equal(read_volume(a / name / "mask.mrc").data,
                          read_volume(b / name / "mask.mrc").data)  # fmt: skip
    ta, tb = pd.read_csv(a / name / "objects.csv"), pd.read_csv(b / name / "objects.csv")
    pd.testing.assert_frame_equal(ta, tb)
    meshes_a = sorted(p.name for p in (a / name / "surfaces").glob("*.ply"))
    assert meshes_a == sorted(p.name for p in (b / name / "surfaces").glob("*.ply"))
    for m in meshes_a:
        assert (a / name / "surfaces" / m).read_bytes() == (b / name / "surfaces" / m).read_bytes()


@pytest.mark.slow
def test_killed_batch_resumes(inputs: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "import sys; from sxtseg.cli import main; sys.exit(main())",
           "batch", str(inputs), "-o", str(out), *OPTIONS]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, start_new_session=True, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    finished: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                doc = json.loads((out / "batch.json").read_text())
            except (OSError, ValueError):
                doc = {}
            finished = [n for n, e in doc.get("tomograms", {}).items()
                        if e["status"] == "done"]  # fmt: skip
            if finished:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client, its scheduler and its workers
        proc.wait()
    assert finished, "no tomogram finished before the deadline"
    before = {n: _snapshot(out, n) for n in finished}
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 2, rerun.stderr
    doc = json.loads((out / "batch.json").read_text())
    for n in finished:
        assert doc["tomograms"][n]["status"] == "skipped"
        assert _snapshot(out, n) == before[n]
    assert doc["counts"]["done"] + doc["counts"]["skipped"] == 6
    for name in NAMES:
        _same_outputs(reference, out, name)
    combined = [pd.read_csv(d / "objects.csv").sort_values(["tomogram", "id"], ignore_index=True)
                for d in (reference, out)]  # fmt: skip
    pd.testing.assert_frame_equal(*combined)
    assert not list(out.rglob(".*.part"))


@pytest.mark.slow
def test_existing_scheduler_and_api_skip_finished(inputs: Path, reference: Path) -> None:
    from distributed import Client, LocalCluster

    from sxtseg.batch import run_batch
    from sxtseg.pipeline import run_config_from

    before = {n: _snapshot(reference, n) for n in NAMES}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:  # fmt: skip
        args = ["batch", str(inputs), "-o", str(reference), *OPTIONS[2:]]
        assert main([*args, "--scheduler", cluster.scheduler_address]) == 2
        doc = json.loads((reference / "batch.json").read_text())
        assert doc["cluster"]["kind"] == "scheduler"
        assert {n for n, e in doc["tomograms"].items() if e["status"] == "skipped"} == NAMES
        cfg = run_config_from(None, device="cpu", threshold=0.5, min_volume=0.0, formats="ply",
                              previews=False)  # fmt: skip
        with Client(cluster) as client:
            result = run_batch([inputs], reference, client=client, config=cfg)
    assert result.exit_status == 2 and set(result.failed) == {"broken"}
    assert result.counts == {"done": 0, "skipped": 6, "failed": 1}
    assert {n: _snapshot(reference, n) for n in NAMES} == before
    assert len(pd.read_csv(reference / "objects.csv")) > 0


@pytest.mark.slow
def test_dead_worker_task_runs_elsewhere(inputs: Path, reference: Path, tmp_path: Path) -> None:
    import threading

    from distributed import Client, LocalCluster

    from sxtseg.batch import run_batch
    from sxtseg.pipeline import run_config_from

    cfg = run_config_from(None, device="cpu", threshold=0.5, min_volume=0.0, formats="ply",
                          previews=False)  # fmt: skip
    killed: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            pids = client.run(os.getpid)

            def kill_busy_worker() -> None:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not killed:
                    busy = [w for w, tasks in client.processing().items() if tasks]
                    if busy:
                        time.sleep(1.0)  # the task is importing torch or segmenting
                        os.kill(pids[busy[0]], signal.SIGKILL)
                        killed.append(pids[busy[0]])
                    time.sleep(0.1)

            killer = threading.Thread(target=kill_busy_worker, daemon=True)
            result = run_batch(
                [inputs / "001", inputs / "002"], tmp_path / "out", client=client, config=cfg,
                on_cluster=lambda info, n: killer.start(),
            )  # fmt: skip
            killer.join()
    assert killed
    assert result.exit_status == 0, result.failed
    for name in ("001_tomogram", "002_tomogram"):
        _same_outputs(reference, tmp_path / "out", name)
