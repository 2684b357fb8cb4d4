"""SLURM via dask-jobqueue: the job script from the options; a real batch when SLURM runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sxtseg.batch import ClusterConfig
from sxtseg.batch.cluster import make_slurm_cluster
from sxtseg.cli import main


def test_job_script_from_options(tmp_path: Path) -> None:
    cfg = ClusterConfig(kind="slurm", queue="gpu-short", walltime="01:30:00", memory="24GB",
                        account="bio123", cores=6, jobs=2, gpu_jobs=True,
                        job_directives=("--qos=high",), scheduler_host="127.0.0.1",
                        dashboard=False)  # fmt: skip
    cluster = make_slurm_cluster(cfg, log_directory=tmp_path / "logs")
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    lines = script.splitlines()
    assert "#SBATCH -p gpu-short" in lines
    assert "#SBATCH -t 01:30:00" in lines
    assert "#SBATCH -A bio123" in lines
    assert "#SBATCH --cpus-per-task=6" in lines
    assert any(line.startswith("#SBATCH --mem=") and "G" in line for line in lines)
    assert "#SBATCH --gres=gpu:1" in lines and "#SBATCH --qos=high" in lines
    assert "OMP_NUM_THREADS=6" in script
    assert "--nthreads 1" in script and "--resources GPU=1" in script


def test_slurm_needs_memory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "t.mrc").write_bytes(b"x")
    rc = main(["batch", str(tmp_path / "t.mrc"), "-o", str(tmp_path / "o"), "--cluster", "slurm"])
    assert rc == 2 and "--memory" in capsys.readouterr().err


def _slurm_up() -> str | None:
    if shutil.which("sinfo") is None:
        return "SLURM is not installed (sinfo not found)"
    try:
        res = subprocess.run(["sinfo", "-h"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"sinfo failed: {exc}"
    if res.returncode != 0 or ("idle" not in res.stdout and "mix" not in res.stdout):
        return f"no idle SLURM node: {(res.stderr or res.stdout).strip()[:80]}"
    return None


@pytest.mark.slow
def test_real_slurm_batch(tmp_path: Path) -> None:
    reason = _slurm_up()
    if reason:
        pytest.skip(reason)
    from sxtseg.simulate import simulate, write_simulation

    for i in range(2):
        sim = simulate("bessy-u41", shape=(16, 64, 64), seed=20 + i, recipe="yeast")
        write_simulation(sim, tmp_path / "in" / f"{i:03d}", previews=False)
    out = tmp_path / "out"
    rc = main(["batch", str(tmp_path / "in"), "-o", str(out), "--cluster", "slurm",
               "--queue", "debug", "--memory", "3GB", "--walltime", "00:10:00", "--cores", "1",
               "--jobs", "1", "--scheduler-host", "127.0.0.1", "--device", "cpu",
               "--no-previews", "--formats", "ply", "--no-dashboard"])  # fmt: skip
    assert rc == 0
    doc = json.loads((out / "batch.json").read_text())
    assert doc["cluster"]["kind"] == "slurm"
    assert {e["status"] for e in doc["tomograms"].values()} == {"done"}
    assert (out / "000_tomogram" / "mask.mrc").is_file()
