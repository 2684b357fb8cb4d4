"""Model folders: round trip, the bundled placeholder, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sxtseg.errors import InputError
from sxtseg.model import ModelConfig, build_model
from sxtseg.model.checkpoint import load_model, save_model


def _perturbed_tiny(seed: int = 0) -> tuple[torch.nn.Module, ModelConfig]:
    torch.manual_seed(seed)
    cfg = ModelConfig.from_preset("tiny")
    net = build_model(cfg)
    net.train()
    with torch.no_grad():  # move the BatchNorm statistics away from their init
        net(torch.randn(2, 1, 32, 32) * 3 + 1)
    return net.eval(), cfg


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    net, cfg = _perturbed_tiny()
    out = save_model(net, cfg, tmp_path / "m", meta={"note": "test"})
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    loaded = load_model(out)
    assert loaded.config == cfg
    assert loaded.meta["trained"] is True and loaded.meta["note"] == "test"
    assert loaded.meta["normalization"]["function"] == "sxtseg.preprocess.normalize_slices"
    assert not loaded.model.training
    x = torch.randn(1, 1, 50, 37)
    with torch.no_grad():
        a, b = net(x), loaded.model(x)
    assert torch.equal(a.label, b.label) and torch.equal(a.image, b.image)


def test_bundled_model_records_its_head_threshold_and_pixel_size() -> None:
    loaded = load_model("default")
    assert loaded.meta["trained"] is True and "normalization" in loaded.meta
    assert loaded.config.label_output == "logits" and loaded.meta["loss"] == "bce_dice"
    assert 0.0 < loaded.meta["threshold"] < 1.0 and loaded.meta["pixel_size_nm"] == 20.0


def test_a_folder_written_before_the_logits_head_loads_as_tanh(tmp_path: Path) -> None:
    """Old folders lack label_output, threshold, pixel size, loss and init: defaults fill in."""
    net, cfg = _perturbed_tiny()
    folder = save_model(net, cfg, tmp_path / "old", meta={"trained": True})
    doc = json.loads((folder / "config.json").read_text())
    doc["model"].pop("label_output")
    for key in ("threshold", "pixel_size_nm", "loss", "init"):
        doc["meta"].pop(key, None)
    (folder / "config.json").write_text(json.dumps(doc))
    loaded = load_model(folder)
    assert loaded.config.label_output == "tanh" and loaded.meta["loss"] == "paper"
    assert loaded.meta["threshold"] == 0.9 and loaded.meta["pixel_size_nm"] is None
    assert loaded.meta["init"] is None
    x = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = loaded.model.predict_label(x)
        p = loaded.model.predict_proba(x)
    assert y.shape == (1, 1, 32, 32) and float(y.abs().max()) <= 1.0
    torch.testing.assert_close(p, (y + 1) / 2)  # the tanh reading, as before


def test_new_meta_keys_round_trip(tmp_path: Path) -> None:
    net, cfg = _perturbed_tiny()
    meta = {"threshold": 0.35, "pixel_size_nm": 12.5, "loss": "bce_dice",
            "init": {"source": "default", "sha256": "ab"}}  # fmt: skip
    loaded = load_model(save_model(net, cfg, tmp_path / "m", meta=meta))
    assert {k: loaded.meta[k] for k in meta} == meta
    assert loaded.config.label_output == "logits"


def test_shape_mismatch_is_a_clear_input_error(tmp_path: Path) -> None:
    net, cfg = _perturbed_tiny()
    folder = save_model(net, cfg, tmp_path / "m")
    doc = json.loads((folder / "config.json").read_text())
    doc["model"]["m"] = 16
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="shape"):
        load_model(folder)


def test_missing_or_mismatched_files_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such model folder"):
        load_model(tmp_path / "nothing")
    net, cfg = _perturbed_tiny()
    folder = save_model(net, cfg, tmp_path / "m")
    other = save_model(build_model(cfg), cfg, tmp_path / "other")
    (folder / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(InputError, match="checksum"):
        load_model(folder)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_export_onnx_and_torchscript(tmp_path: Path) -> None:
    import onnx

    from sxtseg.train.export import export_model

    net, cfg = _perturbed_tiny()
    folder = save_model(net, cfg, tmp_path / "m")
    onnx_path = export_model(folder, tmp_path / "m.onnx", example_size=32)
    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model)
    assert [o.name for o in model.graph.output] == ["label"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[2].dim_param == "height" and dims[3].dim_param == "width"
    ts_path = export_model(folder, tmp_path / "m.pt", example_size=32)
    scripted = torch.jit.load(str(ts_path))
    x = torch.randn(2, 1, 48, 64)
    with torch.no_grad():
        exported = scripted(x)
        torch.testing.assert_close(exported, net.predict_proba(x), atol=1e-5, rtol=1e-4)
    assert float(exported.min()) >= 0 and float(exported.max()) <= 1  # probabilities
    with pytest.raises(InputError, match="exists"):
        export_model(folder, ts_path)
