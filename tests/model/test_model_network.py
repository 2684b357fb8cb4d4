"""The double-decoder network: sizes, costs, shapes, label-only path."""

from __future__ import annotations

import pytest
import torch

from sxtseg.errors import InputError
from sxtseg.model import PRESETS, ModelConfig, build_model
from sxtseg.model.cost import count_parameters, model_cost, preset_table

PAPER_PARAMETERS = 76_483_502


def test_paper_preset_parameter_count_matches_reference() -> None:
    cost = model_cost(ModelConfig.from_preset("paper"))
    assert abs(cost.parameters - PAPER_PARAMETERS) <= 0.005 * PAPER_PARAMETERS
    # Reference parts (deep_sxt.md): encoder 2.29 M, neck 27.31 M, image 19.57 M, label 27.37 M
    # (those include BatchNorm running statistics, so allow a small margin).
    parts = cost.parameters_by_part
    assert parts["encoder"] == pytest.approx(2.29e6, rel=0.01)
    assert parts["neck"] == pytest.approx(5.26e6 + 8.40e6 + 13.65e6, rel=0.01)
    assert parts["image"] == pytest.approx(19.57e6, rel=0.01)
    assert parts["label"] == pytest.approx(27.37e6, rel=0.01)


def test_paper_preset_cost_matches_reference() -> None:
    cost = model_cost(ModelConfig.from_preset("paper"), size=1024)
    assert cost.gmac == pytest.approx(1215.7, rel=0.005)
    assert cost.gmac_label == pytest.approx(885.9, rel=0.005)
    crop = model_cost(ModelConfig.from_preset("paper"), size=256)
    assert crop.gmac == pytest.approx(76, rel=0.01)


def test_parameters_scale_with_m_squared() -> None:
    table = preset_table()
    assert list(table) == list(PRESETS)
    paper = table["paper"]["parameters"]
    for name, row in table.items():
        ratio = (row["m"] / 64) ** 2
        # linear terms (biases, BatchNorm) make small presets slightly larger than m² predicts
        assert row["parameters"] == pytest.approx(paper * ratio, rel=0.03), name
    assert table["small"]["parameters"] == pytest.approx(4.81e6, rel=0.01)
    assert table["base"]["parameters"] == pytest.approx(19.16e6, rel=0.01)


@pytest.mark.parametrize("shape", [(100, 77), (16, 16), (33, 5)])
def test_any_input_size_gives_same_size_outputs(shape: tuple[int, int]) -> None:
    torch.manual_seed(0)
    net = build_model("tiny").eval()
    x = torch.randn(2, 1, *shape)
    with torch.no_grad():
        out = net(x)
        label_only = net.predict_label(x)
    assert out.label.shape == (2, 1, *shape)
    assert out.image is not None and out.image.shape == (2, 1, *shape)
    torch.testing.assert_close(label_only, out.label)
    prob = net.label_probability(out.label)
    assert float(prob.min()) >= 0.0 and float(prob.max()) <= 1.0
    torch.testing.assert_close(prob, torch.sigmoid(out.label))  # logits by default


def test_tanh_and_logits_heads_share_parameters_and_probabilities() -> None:
    torch.manual_seed(2)
    logits = build_model("tiny").eval()
    tanh = build_model(ModelConfig.from_preset("tiny", label_output="tanh")).eval()
    state = logits.state_dict()
    assert set(state) == set(tanh.state_dict())
    tanh.load_state_dict(state)
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        z, t = logits.predict_label(x), tanh.predict_label(x)
        torch.testing.assert_close(t, torch.tanh(z))
        assert float(t.abs().max()) <= 1.0
        # p = (tanh(z) + 1) / 2 = sigmoid(2 z): what fine-tuning's head conversion relies on
        torch.testing.assert_close(tanh.predict_proba(x), torch.sigmoid(2 * z), atol=1e-6, rtol=0)
    with pytest.raises(InputError):
        ModelConfig(label_output="softmax")
    assert ModelConfig.from_dict({"m": 8}).label_output == "tanh"  # folders from before


def test_supervised_only_has_no_image_decoder() -> None:
    full = build_model("tiny")
    sup = build_model(ModelConfig.from_preset("tiny", image_decoder=False))
    assert sup.image_decoder is None
    assert count_parameters(sup) < count_parameters(full)
    out = sup.eval()(torch.randn(1, 1, 32, 48))
    assert out.image is None and out.label.shape == (1, 1, 32, 48)


def test_channels_last_and_bf16_autocast_agree() -> None:
    torch.manual_seed(1)
    net = build_model("tiny").eval()
    x = torch.randn(1, 1, 48, 40)
    with torch.no_grad():
        ref = net.predict_label(x)
        net_cl = net.to(memory_format=torch.channels_last)
        cl = net_cl.predict_label(x.to(memory_format=torch.channels_last))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf = net.predict_label(x)
    torch.testing.assert_close(cl, ref, atol=1e-5, rtol=1e-4)
    assert (bf.float() - ref).abs().max() < 0.05


def test_label_path_does_not_touch_image_decoder() -> None:
    net = build_model("tiny")
    calls: list[str] = []
    assert net.image_decoder is not None
    net.image_decoder.register_forward_hook(lambda *a: calls.append("image"))
    net.predict_label(torch.randn(1, 1, 32, 32))
    assert calls == []
    net(torch.randn(1, 1, 32, 32))
    assert calls == ["image"]


def test_transposed_conv_has_keras_same_geometry() -> None:
    from sxtseg.model.blocks import UpConv

    up = UpConv(1, 1)
    with torch.no_grad():
        up.weight.zero_()
        up.weight[0, 0, 0, 0] = 1.0  # top-left tap: input (i, j) lands on output (2i, 2j)
        up.bias.zero_()
        x = torch.zeros(1, 1, 4, 4)
        x[0, 0, 1, 2] = 1.0
        y = up(x)
    assert y.shape == (1, 1, 8, 8)
    assert y[0, 0, 2, 4] == 1.0 and float(y.sum()) == 1.0


def test_bad_configs_raise_input_error() -> None:
    with pytest.raises(InputError):
        ModelConfig.from_preset("huge")
    with pytest.raises(InputError):
        ModelConfig(m=7)
    with pytest.raises(ValueError):
        build_model("tiny")(torch.randn(1, 3, 16, 16))
