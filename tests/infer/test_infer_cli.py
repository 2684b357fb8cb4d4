"""`sxtseg segment`: formats with the voxel size, untrained warning, exit 2 on bad input, Ctrl-C."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from sxtseg.cli import main
from sxtseg.io import read_volume, write_volume
from sxtseg.types import Volume

VS = (10.0, 9.8, 9.8)


@pytest.fixture(scope="module")
def tomo_path(tmp_path_factory, shells):
    tomo, _ = shells((5, 40, 52), seed=11)
    path = tmp_path_factory.mktemp("cli") / "tomo.mrc"
    write_volume(path, Volume(tomo, VS))
    return path


@pytest.mark.parametrize("mask_name,prob_name", [("mask.mrc", "prob.mrc"),
                                                 ("mask.tif", "prob.tif"),
                                                 ("mask.zarr", "prob.zarr")])  # fmt: skip
def test_cli_writes_formats_with_voxel_size(tmp_path, tomo_path, trained_tiny_dir, capsys,
                                            mask_name, prob_name):  # fmt: skip
    args = ["segment", str(tomo_path), "-o", str(tmp_path / mask_name),
            "--probabilities", str(tmp_path / prob_name), "--model", str(trained_tiny_dir),
            "--threshold", "0.6", "--device", "cpu"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr()
    assert "wrote" in out.out and "UNTRAINED" not in out.err
    mask = read_volume(tmp_path / mask_name)
    prob = read_volume(tmp_path / prob_name)
    assert mask.shape == prob.shape == (5, 40, 52)
    np.testing.assert_allclose(mask.voxel_size, VS, rtol=1e-4)
    np.testing.assert_allclose(prob.voxel_size, VS, rtol=1e-4)
    assert set(np.unique(mask.data)) <= {0, 1}
    p = np.asarray(prob.data, dtype=np.float32)
    assert 0.0 <= p.min() and p.max() <= 1.0
    decided = np.abs(p - 0.6) > 2e-3
    assert (np.asarray(mask.data)[decided] == (p[decided] >= 0.6)).all()
    # existing output without --overwrite: exit 2; with it: 0
    assert main(args) == 2
    assert main([*args, "--overwrite"]) == 0


def _untrained_model(folder: Path) -> Path:
    from sxtseg.model import build_model
    from sxtseg.model.checkpoint import save_model
    from sxtseg.model.config import ModelConfig

    cfg = ModelConfig.from_preset("tiny")
    return save_model(build_model(cfg), cfg, folder, meta={"trained": False})


def test_default_model_is_trained(tmp_path, tomo_path, capsys):
    args = ["segment", str(tomo_path), "-o", str(tmp_path / "m.mrc"), "--device", "cpu"]
    assert main(args) == 0
    assert "UNTRAINED" not in capsys.readouterr().err


def test_cli_options_and_untrained_warning(tmp_path, tomo_path, capsys):
    model = _untrained_model(tmp_path / "untrained")
    args = ["segment", str(tomo_path), "-o", str(tmp_path / "m.h5"), "--tta", "--axes", "yz",
            "--tile", "32", "--overlap", "0.5", "--batch-size", "3", "--min-volume", "1e5",
            "--border", "20", "--prob-dtype", "uint8", "-p", str(tmp_path / "p.mrc"),
            "--model", str(model)]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "UNTRAINED PLACEHOLDER" in err
    m = read_volume(tmp_path / "m.h5")
    assert not np.asarray(m.data)[:, :3].any()  # 20 nm border at 9.8 nm/px: 3 px cleared
    assert read_volume(tmp_path / "p.mrc").data.dtype == np.uint8


def test_cli_bad_input_exit_2(tmp_path, trained_tiny_dir, capsys):
    model = ["--model", str(trained_tiny_dir)]
    nan = np.zeros((3, 20, 20), np.float32)
    nan[1, 5, 5] = np.nan
    write_volume(tmp_path / "nan.mrc", Volume(nan, VS))
    assert main(["segment", str(tmp_path / "nan.mrc"), "-o", str(tmp_path / "m.mrc"), *model]) == 2
    assert "NaN" in capsys.readouterr().err
    with h5py.File(tmp_path / "four.h5", "w") as fh:
        fh["data"] = np.zeros((2, 3, 8, 8), np.float32)
    assert main(["segment", str(tmp_path / "four.h5"), "-o", str(tmp_path / "m.mrc"), *model]) == 2
    assert main(["segment", str(tmp_path / "none.mrc"), "-o", str(tmp_path / "m.mrc"), *model]) == 2
    good = tmp_path / "good.mrc"
    write_volume(good, Volume(np.zeros((2, 16, 16), np.float32), VS))
    for extra in (["--axes", "zz"], ["--threshold", "2"], ["--model", str(tmp_path / "nomodel")],
                  ["--device", "cuda"] if not _has_cuda() else ["--tile", "4"]):  # fmt: skip
        assert main(["segment", str(good), "-o", str(tmp_path / "m.mrc"), *model, *extra]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["four.h5", "good.mrc", "nan.mrc"]


def _has_cuda():
    import torch

    return torch.cuda.is_available()


def test_ctrl_c_leaves_no_partial_output(tmp_path, trained_tiny_dir, shells):
    tomo, _ = shells((400, 64, 64), seed=2, n=3)
    src = tmp_path / "in"
    src.mkdir()
    # long enough (4,000 slices) that the run is still going when the signal arrives
    write_volume(src / "big.mrc", Volume(np.tile(tomo, (10, 1, 1)), VS))
    out = tmp_path / "out"
    out.mkdir()
    launcher = "import sys; from sxtseg.cli import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", launcher, "segment", str(src / "big.mrc"),
           "-o", str(out / "m.mrc"), "-p", str(out / "p.zarr"), "--model", str(trained_tiny_dir),
           "--batch-size", "1"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def default_sigint() -> None:  # a shell's background jobs start with SIGINT ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=default_sigint)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(out.iterdir()) and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1].decode()
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert list(out.iterdir()) == []
    # SIGTERM (what batch schedulers send) also cleans up
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    while time.monotonic() < deadline and not any(out.iterdir()):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert list(out.iterdir()) == []
    assert Path(src / "big.mrc").exists()
