"""The fast CPU paths (folded torch label path, channels-last, ONNX Runtime) equal the reference.

Tolerances: probabilities within 1e-4 (max abs) of the reference path
(``fuse=False, channels_last=False, backend="torch"``, i.e. the network's own
``predict_proba``), masks with voxel agreement >= 99.9 % on a simulated
tomogram, thresholded at the reference probabilities' median so that half
the voxels sit on each side (the most sensitive threshold there is).
"""

import copy

import numpy as np
import pytest
import torch

from sxtseg.errors import InputError
from sxtseg.infer import Predictor, SegmentConfig, segment_array, segment_file
from sxtseg.infer.fast import LabelPath, optimize_for_inference
from sxtseg.io import read_volume, write_volume
from sxtseg.model import build_model
from sxtseg.model.config import ModelConfig
from sxtseg.types import Volume

PROB_TOL = 1e-4
AGREEMENT = 0.999
REFERENCE = SegmentConfig(device="cpu", fuse=False, channels_last=False, backend="torch")
FAST = SegmentConfig(device="cpu", fuse=True, channels_last=True, backend="torch")
ONNX = SegmentConfig(device="cpu", backend="onnx")

needs_ort = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("onnxruntime"), reason="onnxruntime not installed"
)
needs_ov = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("openvino"), reason="openvino not installed"
)


@pytest.fixture(autouse=True)
def _onnx_cache(tmp_path, monkeypatch):
    """Exported graphs go to a per-test folder, never to ~/.cache."""
    monkeypatch.setenv("SXTSEG_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def simulated():
    from sxtseg.simulate import simulate

    sim = simulate(shape=(8, 96, 96), seed=5)
    data = getattr(sim.tomogram, "data", sim.tomogram)
    return np.asarray(data, dtype=np.float32)


def _logits_model_with_statistics(seed: int = 0):
    """A logits-head tiny network whose BatchNorms have non-trivial statistics and affines."""
    torch.manual_seed(seed)
    model = build_model(ModelConfig.from_preset("tiny"))
    gen = torch.Generator().manual_seed(seed)
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            n = mod.num_features
            mod.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            mod.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            mod.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            mod.bias.data.copy_(torch.rand(n, generator=gen) * 0.6 - 0.3)
    return model.eval()


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())


# -- the folded label path ------------------------------------------------------------------
@pytest.mark.parametrize("which", ["trained_tanh", "logits_bn"])
@pytest.mark.parametrize("merge_ratio", [1.0, 100.0])
def test_optimized_label_path_equals_network(which, merge_ratio, trained_tiny):
    model = trained_tiny if which == "trained_tanh" else _logits_model_with_statistics()
    fast = optimize_for_inference(model, merge_ratio=merge_ratio)
    assert isinstance(fast, LabelPath)
    assert fast.config == model.config
    x = torch.randn(3, 1, 80, 72, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        ref_label = model.predict_label(x)
        ref_prob = model.predict_proba(x)
        label = fast.predict_label(x)
        prob = fast.predict_proba(x)
        prob_cl = fast.to(memory_format=torch.channels_last)(
            x.contiguous(memory_format=torch.channels_last))  # fmt: skip
    assert label.shape == ref_label.shape == (3, 1, 80, 72)
    scale = float(ref_label.abs().max())
    assert float((label - ref_label).abs().max()) <= 1e-5 * max(1.0, scale)
    assert float((prob - ref_prob).abs().max()) <= PROB_TOL
    assert float((prob_cl - ref_prob).abs().max()) <= PROB_TOL


def test_optimized_path_folds_batchnorm_and_leaves_the_model_alone():
    model = _logits_model_with_statistics()
    before = copy.deepcopy(model.state_dict())
    fast = optimize_for_inference(model)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert optimize_for_inference(fast) is fast
    n_ref = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    n_fast = sum(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    # one BatchNorm left per residual block (its input channels); none elsewhere
    blocks = 4 + 4 * model.config.label_blocks
    assert n_fast == blocks < n_ref
    assert not hasattr(fast, "image_decoder")
    assert not any(p.requires_grad for p in fast.parameters())
    with pytest.raises(TypeError):
        optimize_for_inference(torch.nn.Conv2d(1, 1, 1))


# -- whole tomograms: reference vs fast paths ------------------------------------------------
def _paths():
    params = [pytest.param(FAST, id="torch-fused-channels-last"),
              pytest.param(SegmentConfig(device="cpu", fuse=True, channels_last=False),
                           id="torch-fused"),
              pytest.param(SegmentConfig(device="cpu", fuse=True, tile=64, overlap=0.25),
                           id="torch-fused-tiled"),
              pytest.param(ONNX, id="onnx", marks=needs_ort),
              pytest.param(SegmentConfig(device="cpu", backend="onnx", tile=64, tta=True),
                           id="onnx-tiled-tta", marks=needs_ort),
              pytest.param(SegmentConfig(device="cpu", backend="openvino", tile=64),
                           id="openvino-tiled", marks=needs_ov)]  # fmt: skip
    return params


@pytest.mark.parametrize("config", _paths())
def test_fast_paths_match_reference_on_simulated_tomogram(config, simulated, trained_tiny):
    ref_cfg = SegmentConfig(device="cpu", fuse=False, channels_last=False, backend="torch",
                            tile=config.tile, overlap=config.overlap, tta=config.tta)  # fmt: skip
    reference = segment_array(simulated, copy.deepcopy(trained_tiny), config=ref_cfg)
    prob = segment_array(simulated, copy.deepcopy(trained_tiny), config=config)
    assert prob.shape == reference.shape == simulated.shape
    assert float(np.abs(prob - reference).max()) <= PROB_TOL
    threshold = float(np.median(reference))
    ref_mask = reference >= threshold
    assert 0.3 < ref_mask.mean() < 0.7
    assert _agreement(prob >= threshold, ref_mask) >= AGREEMENT


def test_predictor_reports_the_path(trained_tiny):
    fast = Predictor(copy.deepcopy(trained_tiny), config=FAST)
    assert fast.backend == "torch" and isinstance(fast.model, LabelPath)
    assert "BatchNorm folded" in fast.device_name and "channels-last" in fast.device_name
    ref = Predictor(copy.deepcopy(trained_tiny), config=REFERENCE)
    assert ref.backend == "torch" and not isinstance(ref.model, LabelPath)


@needs_ort
def test_segment_file_onnx_matches_reference(tmp_path, simulated, trained_tiny_dir):
    src = tmp_path / "tomo.mrc"
    write_volume(src, Volume(simulated, (10.0, 10.0, 10.0)))
    out = {}
    for name, cfg in (("ref", REFERENCE), ("onnx", ONNX), ("fast", FAST)):
        res = segment_file(src, tmp_path / f"{name}_mask.mrc", prob_path=tmp_path / f"{name}.mrc",
                           model=trained_tiny_dir, config=cfg)  # fmt: skip
        assert res.shape == simulated.shape
        out[name] = (np.asarray(read_volume(tmp_path / f"{name}.mrc").data, dtype=np.float32),
                     np.asarray(read_volume(tmp_path / f"{name}_mask.mrc").data))  # fmt: skip
        if name == "onnx":
            assert "onnxruntime" in res.device
    for name in ("onnx", "fast"):
        # float16 storage: one step of 2**-11 near 1
        assert float(np.abs(out[name][0] - out["ref"][0]).max()) <= 1e-3
        assert _agreement(out[name][1], out["ref"][1]) >= AGREEMENT


# -- ONNX Runtime: cache, sizes, errors ------------------------------------------------------
@needs_ort
def test_onnx_graph_is_cached_per_weights(tmp_path):
    from sxtseg.infer.onnxrt import cache_dir, onnx_label_path

    model = _logits_model_with_statistics(0)
    first = onnx_label_path(model, threads=1)
    assert first.path.parent == cache_dir() == tmp_path / "cache" / "onnx"
    stamp = first.path.stat().st_mtime_ns
    again = onnx_label_path(copy.deepcopy(model), threads=1)
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    other = onnx_label_path(_logits_model_with_statistics(1), threads=1)
    assert other.path != first.path
    assert len(list(cache_dir().glob("*.onnx"))) == 2
    assert not list(cache_dir().glob(".*"))  # no temporary files left


@pytest.mark.parametrize("backend", [pytest.param("onnx", marks=needs_ort),
                                     pytest.param("openvino", marks=needs_ov)])  # fmt: skip
@pytest.mark.parametrize("shape", [(2, 1, 96, 96), (1, 1, 112, 80), (1, 1, 70, 50), (1, 1, 9, 13)])
def test_exported_backends_handle_any_size(backend, shape):
    from sxtseg.infer.onnxrt import onnx_label_path
    from sxtseg.infer.openvino_backend import openvino_label_path

    model = _logits_model_with_statistics()
    make = onnx_label_path if backend == "onnx" else openvino_label_path
    ort_path = make(model, threads=1)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        ref = model.predict_proba(x)
    prob = ort_path(x)
    assert prob.shape == ref.shape
    assert float((prob - ref).abs().max()) <= PROB_TOL


def test_backend_choice_and_errors(monkeypatch, trained_tiny):
    import sxtseg.infer.onnxrt as onnxrt

    with pytest.raises(InputError, match="backend"):
        SegmentConfig(backend="tensorrt")
    monkeypatch.setattr(onnxrt, "onnxruntime_available", lambda: False)
    auto = Predictor(copy.deepcopy(trained_tiny), config=SegmentConfig(device="cpu",
                                                                       backend="auto"))
    assert auto.backend == "torch"
    with pytest.raises(InputError, match="onnxruntime"):
        Predictor(copy.deepcopy(trained_tiny), config=ONNX)
    import sxtseg.infer.openvino_backend as ovb

    monkeypatch.setattr(ovb, "openvino_available", lambda: False)
    with pytest.raises(InputError, match=r"sxtseg\[openvino\]"):
        Predictor(copy.deepcopy(trained_tiny), config=SegmentConfig(device="cpu",
                                                                    backend="openvino"))
    monkeypatch.setattr(onnxrt, "onnxruntime_available", lambda: True)

    class Bare(torch.nn.Module):
        def predict_label(self, x):
            return torch.tanh(x)

    with pytest.raises(InputError, match="network"):
        Predictor(Bare(), config=ONNX)
    assert Predictor(Bare(), config=SegmentConfig(device="cpu", backend="auto")).backend == "torch"
    # a module that is not the network runs as it is, without folding
    bare = Predictor(Bare(), config=FAST)
    assert isinstance(bare.model, Bare)
    assert np.allclose(bare.predict(np.zeros((1, 16, 16), np.float32)), 0.5)


@needs_ort
def test_auto_backend_picks_onnx_on_the_cpu(trained_tiny):
    pred = Predictor(copy.deepcopy(trained_tiny), config=SegmentConfig(device="cpu",
                                                                       backend="auto"))
    assert pred.backend == "onnx"


@needs_ort
def test_cli_segment_backend_onnx(tmp_path, trained_tiny_dir, shells):
    from sxtseg.cli import main

    tomo, _ = shells((3, 40, 52), seed=4)
    src = tmp_path / "tomo.mrc"
    write_volume(src, Volume(tomo, (10.0, 10.0, 10.0)))
    for backend in ("torch", "onnx"):
        args = ["segment", str(src), "-o", str(tmp_path / f"{backend}.mrc"), "--model",
                str(trained_tiny_dir), "--device", "cpu", "--backend", backend]  # fmt: skip
        assert main(args) == 0
    a = np.asarray(read_volume(tmp_path / "torch.mrc").data)
    b = np.asarray(read_volume(tmp_path / "onnx.mrc").data)
    assert _agreement(a, b) >= AGREEMENT
    assert main(["segment", str(src), "-o", str(tmp_path / "x.mrc"), "--backend", "bad"]) == 2
    assert main(["run", str(src), "-o", str(tmp_path / "run"), "--backend", "bad"]) == 2
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


# -- threads ---------------------------------------------------------------------------------
def test_default_threads(monkeypatch):
    from sxtseg.infer.devices import default_threads, physical_cores, resolve_device

    assert 1 <= physical_cores() <= (__import__("os").cpu_count() or 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == physical_cores()
    before = torch.get_num_threads()
    try:
        info = resolve_device("cpu", num_threads=1)
        assert info.threads == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_backend_and_fuse_are_runtime_settings():
    from sxtseg.stages import RUNTIME_ONLY

    assert {"backend", "fuse", "channels_last", "num_threads"} <= RUNTIME_ONLY
