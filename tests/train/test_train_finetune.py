"""Fine-tuning (--init): weights, head conversion, preset checks, meta records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sxtseg.cli import main
from sxtseg.errors import InputError
from sxtseg.model import ModelConfig, build_model
from sxtseg.model.checkpoint import DEFAULT_MODEL_DIR, load_model, save_model
from sxtseg.train import loop
from sxtseg.train.config import TrainConfig
from sxtseg.train.finetune import resolve_init


def _saved_tiny(folder: Path, *, label_output: str = "logits", seed: int = 123) -> Path:
    """An untrained tiny model with nudged weights and BatchNorm statistics, saved."""
    torch.manual_seed(seed)
    cfg = ModelConfig.from_preset("tiny", bn_momentum=0.1, label_output=label_output)
    net = build_model(cfg)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.02 * torch.randn_like(p))
        net.train()(torch.randn(2, 1, 32, 32) * 2 + 1)
    return save_model(net.eval(), cfg, folder, meta={"pixel_size_nm": 10.0, "trained": False})


def _params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def test_fine_tuning_starts_from_the_saved_weights(
    shell_data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init = _saved_tiny(tmp_path / "init")
    first: list[dict[str, torch.Tensor]] = []
    original = loop.labeled_step

    def spy(model, batch, config):  # type: ignore[no-untyped-def]
        if not first:
            first.append(_params(model))
        return original(model, batch, config)

    monkeypatch.setattr(loop, "labeled_step", spy)
    config = TrainConfig(init=str(init), epochs=1, steps_per_epoch=2, crop=32, batch_size=2,
                         threads=1, unlabeled_ratio=0.0, scale_jitter=0.0)  # fmt: skip
    result = loop.train([shell_data["lab_a"]], [], tmp_path / "tuned", config=config)
    assert result.steps == 2
    saved = _params(load_model(init).model)
    assert first and set(first[0]) == set(saved)
    for name, value in saved.items():
        assert torch.equal(first[0][name], value), name
    torch.manual_seed(config.seed)  # what a run from scratch would have started from
    scratch = _params(build_model(ModelConfig.from_preset("tiny")))
    assert any(not torch.equal(scratch[k], saved[k]) for k in saved)
    meta = load_model(tmp_path / "tuned").meta
    doc = json.loads((init / "config.json").read_text())
    assert meta["init"]["source"] == str(init.resolve())
    assert (
        meta["init"]["sha256"] == doc["weights_sha256"] and meta["init"]["head_converted"] is False
    )
    assert meta["training"]["config"]["preset"] == "tiny"  # taken over from the init model
    assert meta["pixel_size_nm"] == pytest.approx(10.0)
    assert meta["loss"] == "bce_dice" and 0 < meta["threshold"] < 1


def test_tanh_head_is_converted_with_the_same_probabilities(tmp_path: Path) -> None:
    init = _saved_tiny(tmp_path / "tanh", label_output="tanh")
    config, resolved = resolve_init(TrainConfig(init=str(init)))
    assert resolved is not None and config.preset == "tiny"
    assert resolved.model_config.label_output == "logits" and resolved.record["head_converted"]
    net = build_model(resolved.model_config)
    resolved.load_into(net)
    x = torch.randn(2, 1, 48, 32)
    with torch.no_grad():
        expected = load_model(init).model.predict_proba(x)
        torch.testing.assert_close(net.eval().predict_proba(x), expected, atol=1e-5, rtol=1e-4)
    # the paper's loss keeps the tanh head as it is
    _, paper = resolve_init(TrainConfig(init=str(init), loss="paper"))
    assert paper is not None and paper.model_config.label_output == "tanh"
    assert not paper.record["head_converted"]


def test_init_refusals_and_supervised_only(tmp_path: Path) -> None:
    init = _saved_tiny(tmp_path / "logits")
    with pytest.raises(InputError, match="preset small"):
        resolve_init(TrainConfig(init=str(init), preset="small"))
    with pytest.raises(InputError, match="logits"):
        resolve_init(TrainConfig(init=str(init), loss="paper"))
    _, same = resolve_init(TrainConfig(init=str(init), preset="tiny"))  # agreeing preset is fine
    assert same is not None
    _, sup = resolve_init(TrainConfig(init=str(init), supervised_only=True))
    assert sup is not None and sup.model_config.image_decoder is False
    assert not any(k.startswith(("image_decoder.", "image_head.")) for k in sup.state)
    net = build_model(sup.model_config)
    sup.load_into(net)
    assert net.image_decoder is None


def test_init_default_is_the_bundled_model() -> None:
    config, resolved = resolve_init(TrainConfig(init="default"))
    assert resolved is not None and config.preset == "tiny"
    assert resolved.record["source"] == "default" and resolved.record["label_output"] == "logits"
    doc = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert resolved.record["sha256"] == doc["weights_sha256"]
    # the bundled model's pixel size carries over to the fine-tuned one
    assert config.pixel_size_nm == 20.0 and resolved.pixel_size_nm == 20.0


def test_cli_fine_tune_with_explicit_validation(
    shell_data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init = _saved_tiny(tmp_path / "init")
    common = ["train", "--labeled", str(shell_data["lab_a"]), "--init", str(init),
              "--crop", "32", "--batch-size", "2", "--steps-per-epoch", "2", "--threads", "1",
              "-q", "--epochs", "1"]  # fmt: skip
    assert main([*common, "--preset", "small", "-o", str(tmp_path / "bad")]) == 2
    assert "preset" in capsys.readouterr().err
    out = tmp_path / "tuned"
    args = [*common, "-o", str(out), "--val", str(shell_data["lab_b"]), "--unlabeled",
            str(shell_data["unl_a"]), "--no-calibrate", "--dice-weight", "0.5",
            "--select-by", "loss", "--scale-jitter", "0", "--pixel-size", "10"]  # fmt: skip
    assert main(args) == 0
    assert "boundary F1" in capsys.readouterr().out
    meta = load_model(out).meta
    training = meta["training"]
    assert meta["threshold"] == 0.9  # --no-calibrate: the fixed threshold
    assert training["config"]["dice_weight"] == 0.5 and training["config"]["select_by"] == "loss"
    assert training["config"]["calibrate"] is False and training["steps"] == 4
    assert training["data"]["val_split"] == "explicit"
    assert meta["init"]["source"] == str(init.resolve())
