"""Size and cost of a network config: parameters and multiply-adds per slice.

Costs are counted on PyTorch's "meta" device (shapes only, no memory, no
arithmetic), so even the paper preset at 1024² costs milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from sxtseg.model.config import PRESETS, ModelConfig
from sxtseg.model.network import DoubleDecoderNet, build_model

__all__ = ["ModelCost", "count_parameters", "model_cost", "preset_table"]


@dataclass(frozen=True)
class ModelCost:
    """Parameter count and multiply-add cost of one config.

    Attributes
    ----------
    parameters : int
        Trainable parameters.
    parameters_by_part : dict
        encoder, neck, image (decoder + head), label (decoder + head).
    size : int
        Side of the square slice the costs refer to (pixels).
    gmac : float
        Multiply-adds (1e9) of one forward pass through both heads.
    gmac_label : float
        Multiply-adds (1e9) of the label path alone (:meth:`predict_label`).
    gmac_by_part : dict
    """

    parameters: int
    parameters_by_part: dict[str, int]
    size: int
    gmac: float
    gmac_label: float
    gmac_by_part: dict[str, float] = field(default_factory=dict)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _parts(net: DoubleDecoderNet) -> dict[str, list[nn.Module]]:
    return {
        "encoder": [net.encoder],
        "neck": [net.neck],
        "image": net.image_modules(),
        "label": net.label_modules(),
    }


def _conv_macs(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> int:
    if isinstance(module, nn.ConvTranspose2d):
        x = inputs[0]
        k = module.kernel_size[0] * module.kernel_size[1]
        return x.numel() * module.out_channels * k // module.groups
    assert isinstance(module, nn.Conv2d)
    k = module.kernel_size[0] * module.kernel_size[1]
    return output.numel() * (module.in_channels // module.groups) * k


def model_cost(config: ModelConfig, *, size: int = 1024) -> ModelCost:
    """Parameters and multiply-adds of ``config`` for one ``size``×``size`` slice.

    Parameters
    ----------
    config : ModelConfig
    size : int
        Slice side in pixels (padded internally to a multiple of 16).

    Returns
    -------
    ModelCost
    """
    with torch.device("meta"):
        net = build_model(config)
        x = torch.empty(1, 1, size, size)
    part_of: dict[nn.Module, str] = {}
    for name, modules in _parts(net).items():
        for mod in modules:
            for sub in mod.modules():
                part_of[sub] = name
    macs: dict[str, int] = {name: 0 for name in _parts(net)}
    handles = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        macs[part_of[module]] += _conv_macs(module, inputs, output)

    for sub in net.modules():
        if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d)):
            handles.append(sub.register_forward_hook(hook))
    try:
        with torch.no_grad():
            net.eval()(x)
    finally:
        for h in handles:
            h.remove()
    params = {name: sum(count_parameters(m) for m in mods) for name, mods in _parts(net).items()}
    gmac = {name: v / 1e9 for name, v in macs.items()}
    return ModelCost(
        parameters=count_parameters(net),
        parameters_by_part=params,
        size=size,
        gmac=sum(gmac.values()),
        gmac_label=gmac["encoder"] + gmac["neck"] + gmac["label"],
        gmac_by_part=gmac,
    )


def preset_table(*, size: int = 1024) -> dict[str, dict[str, float | int]]:
    """Preset name -> {m, parameters, gmac_1024, gmac_label_1024} (for ``sxtseg presets``)."""
    out: dict[str, dict[str, float | int]] = {}
    for name, m in PRESETS.items():
        cost = model_cost(ModelConfig.from_preset(name), size=size)
        out[name] = {
            "m": m,
            "parameters": cost.parameters,
            f"gmac_{size}": round(cost.gmac, 1),
            f"gmac_label_{size}": round(cost.gmac_label, 1),
        }
    return out
