"""Nanometre-aware inference, probabilities from either label head, the model's threshold."""

import json

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from sxtseg.cli import main
from sxtseg.errors import InputError
from sxtseg.infer import Predictor, SegmentConfig, segment_array, segment_file
from sxtseg.infer.volume import ResolvedModel
from sxtseg.io import read_volume, write_volume
from sxtseg.model import build_model
from sxtseg.model.checkpoint import save_model
from sxtseg.preprocess import normalize_slices
from sxtseg.types import Volume

CPU = SegmentConfig(device="cpu", batch_size=2)


class Recorder(nn.Module):
    """Wraps a network and records the (H, W) of every batch its label path sees."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.config = inner.config
        self.seen: list[tuple[int, int]] = []
        self.batches: list[int] = []

    def predict_label(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append((int(x.shape[-2]), int(x.shape[-1])))
        self.batches.append(int(x.shape[0]))
        return self.inner.predict_label(x)

    def label_probability(self, label: torch.Tensor) -> torch.Tensor:
        return self.inner.label_probability(label)


class BareTanh(nn.Module):
    """A module with only ``predict_label`` (read as tanh)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def predict_label(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.predict_label(x)


def _resolved(model, **meta):
    return ResolvedModel(Recorder(model), {"trained": True, **meta}, "<recorder>")


@pytest.fixture(scope="module")
def tomo(shells):
    return shells((3, 32, 48), seed=5, n=5)[0]


@pytest.fixture(scope="module")
def px10_dir(trained_tiny, tmp_path_factory):
    """The trained tiny model saved with a pixel size of 10 nm and a threshold of 0.3."""
    out = tmp_path_factory.mktemp("px10")
    return save_model(trained_tiny, trained_tiny.config, out,
                      meta={"trained": True, "pixel_size_nm": 10.0, "threshold": 0.3})  # fmt: skip


def test_probabilities_from_either_head(trained_tiny, tomo):
    x = normalize_slices(tomo)
    t = torch.from_numpy(x)[:, None]
    with torch.inference_mode():
        tanh_ref = ((trained_tiny.predict_label(t) + 1) / 2).clamp(0, 1)[:, 0].numpy()
    assert trained_tiny.config.label_output == "tanh"
    np.testing.assert_allclose(Predictor(trained_tiny, config=CPU).predict(x), tanh_ref,
                               atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(Predictor(BareTanh(trained_tiny), config=CPU).predict(x), tanh_ref,
                               atol=1e-5)  # fmt: skip
    torch.manual_seed(3)
    logits = build_model("tiny").eval()
    assert logits.config.label_output == "logits"
    with torch.inference_mode():
        sig_ref = torch.sigmoid(logits.predict_label(t))[:, 0].numpy()
    np.testing.assert_allclose(Predictor(logits, config=CPU).predict(x), sig_ref, atol=1e-5)


def test_old_folder_gives_the_same_probabilities_as_before(trained_tiny, trained_tiny_dir,
                                                           tomo, tmp_path):  # fmt: skip
    # an old folder: no label_output (loads as tanh), no pixel size, no threshold
    doc = json.loads((trained_tiny_dir / "config.json").read_text())
    doc["model"].pop("label_output", None)
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.safetensors").write_bytes((trained_tiny_dir / "model.safetensors").read_bytes())
    (old / "config.json").write_text(json.dumps(doc))
    write_volume(tmp_path / "t.mrc", Volume(tomo, (20.0, 20.0, 20.0)))
    cfg = SegmentConfig(device="cpu", prob_dtype="float32")
    res = segment_file(tmp_path / "t.mrc", tmp_path / "m.mrc", prob_path=tmp_path / "p.mrc",
                       model=str(old), config=cfg)  # fmt: skip
    assert res.threshold == 0.9 and res.zoom is None and res.model_pixel_size_nm is None
    with torch.inference_mode():
        lab = trained_tiny.predict_label(torch.from_numpy(normalize_slices(tomo))[:, None])
    ref = ((lab + 1) / 2).clamp(0, 1)[:, 0].numpy()
    np.testing.assert_allclose(read_volume(tmp_path / "p.mrc").data, ref, atol=1e-5)


@pytest.mark.parametrize("vs,seen", [(20.0, (64, 96)), (10.5, (32, 48)), (5.0, (16, 32))])
def test_slices_are_resampled_to_the_model_pixel_size(trained_tiny, tomo, tmp_path, vs, seen):
    model = _resolved(trained_tiny, pixel_size_nm=10.0)
    write_volume(tmp_path / "t.mrc", Volume(tomo, (vs, vs, vs)))
    cfg = SegmentConfig(device="cpu", prob_dtype="float32", batch_size=2)
    res = segment_file(tmp_path / "t.mrc", tmp_path / "m.mrc", prob_path=tmp_path / "p.mrc",
                       model=model, config=cfg)  # fmt: skip
    assert set(model.module.seen) == {seen}  # 5 nm: 16 x 24 px, padded to 16 x 32
    assert max(model.module.batches) <= 2  # resampled slab by slab, streaming
    prob = read_volume(tmp_path / "p.mrc").data
    assert prob.shape == tomo.shape and 0 <= prob.min() and prob.max() <= 1
    assert res.zoom == (None if vs == 10.5 else (vs / 10, vs / 10))
    # segment_array agrees with the streamed file
    model.module.seen.clear()
    ref = segment_array(tomo, model, config=cfg, voxel_size=vs)
    assert set(model.module.seen) == {seen}
    np.testing.assert_allclose(prob, ref, atol=1e-5)
    # and with --no-rescale nothing is resampled
    model.module.seen.clear()
    segment_array(tomo, model, config=SegmentConfig(device="cpu", rescale=False))
    assert set(model.module.seen) == {(32, 48)}


def test_resampled_prediction_matches_the_model_grid(trained_tiny, shells):
    """A tomogram at 20 nm gives about what the 10 nm one gives, downsampled."""
    fine, _ = shells((2, 64, 64), seed=9, n=6, noise=0.05)
    coarse = fine.reshape(2, 32, 2, 32, 2).mean(axis=(2, 4))
    model = _resolved(trained_tiny, pixel_size_nm=10.0)
    p_fine = segment_array(fine, model, config=CPU, voxel_size=10.0)
    p_coarse = segment_array(coarse, model, config=CPU, voxel_size=20.0)
    p_plain = segment_array(coarse, model, config=SegmentConfig(device="cpu", rescale=False))
    target = p_fine.reshape(2, 32, 2, 32, 2).mean(axis=(2, 4))
    err_rescaled = np.abs(p_coarse - target).mean()
    assert err_rescaled < np.abs(p_plain - target).mean()


def test_other_plane_directions_use_their_own_spacing(trained_tiny, tomo, tmp_path):
    model = _resolved(trained_tiny, pixel_size_nm=10.0)
    spacing = (20.0, 10.0, 10.0)  # XY at the model's size; XZ/YZ planes have 20 nm along Z
    write_volume(tmp_path / "t.mrc", Volume(tomo, spacing))
    cfg = SegmentConfig(device="cpu", prob_dtype="float32", batch_size=4, axes="all")
    segment_file(tmp_path / "t.mrc", tmp_path / "m.mrc", prob_path=tmp_path / "p.mrc",
                 model=model, config=cfg)  # fmt: skip
    # xy: 32 x 48 as is; xz: (Z 3 -> 6, X 48) padded to 16 x 48; yz: (6, 32) -> 16 x 32
    assert set(model.module.seen) == {(32, 48), (16, 48), (16, 32)}
    ref = segment_array(tomo, model, config=cfg, voxel_size=spacing)
    prob = read_volume(tmp_path / "p.mrc").data
    assert prob.shape == tomo.shape
    np.testing.assert_allclose(prob, ref, atol=1e-5)


def test_missing_voxel_size_is_an_input_error(trained_tiny, tomo, tmp_path, px10_dir, capsys):
    model = _resolved(trained_tiny, pixel_size_nm=10.0)
    with pytest.raises(InputError, match="voxel-size"):
        segment_array(tomo, model, config=CPU)
    with h5py.File(tmp_path / "t.h5", "w") as fh:  # no voxel size in the file
        fh["data"] = tomo
    args = ["segment", str(tmp_path / "t.h5"), "-o", str(tmp_path / "m.mrc"),
            "--model", str(px10_dir), "--device", "cpu"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "--voxel-size" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "m.mrc").exists()
    assert main([*args, "--no-rescale"]) == 0
    assert main([*args, "--voxel-size", "20", "--overwrite"]) == 0
    assert read_volume(tmp_path / "m.mrc").voxel_size == pytest.approx((20.0, 20.0, 20.0))
    # a model without a pixel size needs no voxel size (as before)
    segment_array(tomo, trained_tiny, config=CPU)


def test_threshold_from_the_model_unless_given(tmp_path, tomo, px10_dir, capsys):
    write_volume(tmp_path / "t.mrc", Volume(tomo, (20.0, 20.0, 20.0)))
    base = ["segment", str(tmp_path / "t.mrc"), "-o", str(tmp_path / "m.mrc"), "-p",
            str(tmp_path / "p.mrc"), "--prob-dtype", "float32", "--model", str(px10_dir),
            "--device", "cpu", "--overwrite"]  # fmt: skip
    for extra, thr in (([], 0.3), (["--threshold", "0.7"], 0.7)):
        assert main([*base, *extra]) == 0
        assert f"threshold {thr:g}" in capsys.readouterr().out
        mask = read_volume(tmp_path / "m.mrc")
        p = read_volume(tmp_path / "p.mrc").data
        decided = np.abs(p - thr) > 1e-4
        assert (mask.data[decided] == (p[decided] >= thr)).all()
        assert any(f"p >= {thr:g}" in lbl for lbl in mask.metadata["labels"])
    res = segment_file(tmp_path / "t.mrc", tmp_path / "m2.mrc", model=str(px10_dir),
                       config=SegmentConfig(device="cpu"))  # fmt: skip
    assert res.threshold == 0.3 and res.model_pixel_size_nm == 10.0 and res.zoom == (2.0, 2.0)
