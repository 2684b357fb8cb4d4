"""The double-decoder network: shared encoder and neck, label and image decoders.

``DoubleDecoderNet(x)`` maps standardised slices (B, 1, H, W) of any H, W to a
:class:`ModelOutput` with a label map and a linear image reconstruction, both
(B, 1, H, W). The label map is logits (``config.label_output == "logits"``,
p = sigmoid(label)) or the paper's tanh output in [-1, 1] (p = (label + 1) / 2);
:meth:`DoubleDecoderNet.label_probability` converts either way and
:meth:`DoubleDecoderNet.predict_proba` runs the label path straight to p.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from sxtseg.model.blocks import Activation, BottleneckConv, ResidualBlock, UpConv
from sxtseg.model.config import ModelConfig

__all__ = [
    "DIVISOR",
    "DoubleDecoderNet",
    "ModelOutput",
    "build_model",
    "label_probability",
    "pad_to_divisor",
]

#: Inputs are padded to a multiple of this inside the forward pass (4 poolings).
DIVISOR = 16


class ModelOutput(NamedTuple):
    """Network outputs, each (B, 1, H, W).

    label : Tensor
        Logits (p = sigmoid(label)) or tanh in [-1, 1] (p = (label + 1) / 2),
        as ``config.label_output`` says.
    image : Tensor or None
        Linear reconstruction of the standardised input; None without an
        image decoder.
    """

    label: torch.Tensor
    image: torch.Tensor | None


class Encoder(nn.Module):
    """Stem + 4 stages (one residual block each, then 2×2 max-pool).

    Skips have 2m, 4m, 8m, 16m channels at scales 1, 1/2, 1/4, 1/8; the bottom
    has 16m channels at 1/16.
    """

    def __init__(self, m: int, *, eps: float, momentum: float) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            BottleneckConv(1, m, 3), Activation(m, eps=eps, momentum=momentum)
        )
        blocks = []
        c = m
        for w in (m, 2 * m, 4 * m, 8 * m):
            blocks.append(ResidualBlock(c, w, eps=eps, momentum=momentum))
            c = c + w
        self.blocks = nn.ModuleList(blocks)
        self.skip_channels = [2 * m, 4 * m, 8 * m, 16 * m]
        self.out_channels = 16 * m

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        x = self.stem(x)
        skips = []
        for block in self.blocks:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        return skips, x


class Neck(nn.Module):
    """Parallel branches with different kernel sizes, concatenated (cardinality)."""

    def __init__(
        self, c: int, kernels: tuple[int, ...], depth: int, *, eps: float, momentum: float
    ) -> None:
        super().__init__()

        def branch(k: int) -> nn.Sequential:
            layers: list[nn.Module] = []
            for _ in range(depth):
                layers += [BottleneckConv(c, c, k), Activation(c, eps=eps, momentum=momentum)]
            return nn.Sequential(*layers)

        self.branches = nn.ModuleList(branch(k) for k in kernels)
        self.out_channels = c * len(kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class Decoder(nn.Module):
    """Four up-sampling stages (widths 8m, 4m, 2m, m), optional skips, then conv to m."""

    def __init__(
        self,
        cin: int,
        m: int,
        *,
        skip_channels: list[int] | None,
        blocks: int,
        eps: float,
        momentum: float,
    ) -> None:
        super().__init__()
        self.use_skips = skip_channels is not None
        ups, stages = [], []
        c = cin
        for i, w in enumerate((8 * m, 4 * m, 2 * m, m)):
            ups.append(UpConv(c, w))
            c = w
            if skip_channels is not None:
                c += skip_channels[3 - i]
            res = []
            for _ in range(blocks):
                res.append(ResidualBlock(c, w, eps=eps, momentum=momentum))
                c += w
            stages.append(nn.Sequential(*res))
        self.ups = nn.ModuleList(ups)
        self.stages = nn.ModuleList(stages)
        self.out = nn.Sequential(
            BottleneckConv(c, m, 3, bias=True), Activation(m, eps=eps, momentum=momentum)
        )

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        for i, (up, stage) in enumerate(zip(self.ups, self.stages, strict=True)):
            x = up(x)
            if self.use_skips:
                assert skips is not None
                x = torch.cat([x, skips[3 - i]], dim=1)
            x = stage(x)
        return self.out(x)


class ImageHead(nn.Sequential):
    """Three bottleneck convs m -> m -> m -> 1 with bias and no activation (linear output).

    The last one narrows to a single middle channel (m -> 1 -> 1 -> 1).
    """

    def __init__(self, m: int) -> None:
        super().__init__(
            BottleneckConv(m, m, 3, bias=True),
            BottleneckConv(m, m, 3, bias=True),
            BottleneckConv(m, 1, 3, bias=True),
        )


class LabelHead(nn.Sequential):
    """BN, conv m -> m, 1×1 conv m -> 1, then tanh (paper) or nothing (logits).

    Both variants have the same parameters (tanh has none), so state dicts match.
    """

    def __init__(self, m: int, *, eps: float, momentum: float, tanh: bool = False) -> None:
        layers: list[nn.Module] = [
            nn.BatchNorm2d(m, eps=eps, momentum=momentum),
            BottleneckConv(m, m, 3),
            nn.Conv2d(m, 1, 1),
        ]
        if tanh:
            layers.append(nn.Tanh())
        super().__init__(*layers)


def pad_to_divisor(x: torch.Tensor, pad_mode: str) -> tuple[torch.Tensor, int, int]:
    """Pad H and W at the bottom/right up to multiples of :data:`DIVISOR`.

    Parameters
    ----------
    x : Tensor (..., H, W)
    pad_mode : str
        ``F.pad`` mode; "reflect" falls back to "replicate" where the pad is
        not smaller than the side.

    Returns
    -------
    (Tensor, int, int)
        The padded tensor and the original H and W.
    """
    h, w = int(x.shape[-2]), int(x.shape[-1])
    ph, pw = (-h) % DIVISOR, (-w) % DIVISOR
    if ph or pw:
        mode = pad_mode
        if mode == "reflect" and (ph >= h or pw >= w):
            mode = "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, h, w


class DoubleDecoderNet(nn.Module):
    """Shared encoder + neck feeding a label decoder (with skips) and an image decoder.

    Parameters
    ----------
    config : ModelConfig
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        m, eps, mom = config.m, config.bn_eps, config.bn_momentum
        self.encoder = Encoder(m, eps=eps, momentum=mom)
        self.neck = Neck(16 * m, config.neck_kernels, config.neck_depth, eps=eps, momentum=mom)
        bn = {"eps": eps, "momentum": mom}
        self.label_decoder = Decoder(
            self.neck.out_channels,
            m,
            skip_channels=self.encoder.skip_channels,
            blocks=config.label_blocks,
            **bn,
        )
        self.label_head = LabelHead(m, eps=eps, momentum=mom,
                                    tanh=config.label_output == "tanh")  # fmt: skip
        self.image_decoder: Decoder | None = None
        self.image_head: ImageHead | None = None
        if config.image_decoder:
            self.image_decoder = Decoder(
                self.neck.out_channels, m, skip_channels=None, blocks=config.image_blocks, **bn
            )
            self.image_head = ImageHead(m)

    # -- helpers ---------------------------------------------------------------------------
    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected input of shape (B, 1, H, W), got {tuple(x.shape)}")
        return pad_to_divisor(x, self.config.pad_mode)

    def features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Encoder skips and neck output for a padded input (H, W multiples of 16)."""
        skips, bottom = self.encoder(x)
        return skips, self.neck(bottom)

    def decode_label(self, skips: list[torch.Tensor], neck: torch.Tensor) -> torch.Tensor:
        """Label decoder + head: (B, 1, H, W) logits or tanh (``config.label_output``)."""
        return self.label_head(self.label_decoder(neck, skips))

    def decode_image(self, neck: torch.Tensor) -> torch.Tensor:
        """Image decoder + head: (B, 1, H, W), linear."""
        if self.image_decoder is None or self.image_head is None:
            raise RuntimeError("this model has no image decoder (supervised-only)")
        return self.image_head(self.image_decoder(neck))

    # -- public API --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> ModelOutput:
        """Both heads. ``x``: (B, 1, H, W) standardised slices, any H and W."""
        xp, h, w = self._pad(x)
        skips, neck = self.features(xp)
        label = self.decode_label(skips, neck)[..., :h, :w]
        image = None
        if self.image_decoder is not None:
            image = self.decode_image(neck)[..., :h, :w]
        return ModelOutput(label, image)

    def predict_label(self, x: torch.Tensor) -> torch.Tensor:
        """Label path only (encoder, neck, label decoder): (B, 1, H, W) raw label map.

        Logits or tanh output as ``config.label_output`` says; see
        :meth:`predict_proba` for probabilities.
        """
        xp, h, w = self._pad(x)
        skips, neck = self.features(xp)
        return self.decode_label(skips, neck)[..., :h, :w]

    def label_probability(self, label: torch.Tensor) -> torch.Tensor:
        """Membrane probability in [0, 1] from a raw label map (float32)."""
        return label_probability(label, self.config.label_output)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Label path straight to membrane probability: (B, 1, H, W) float32 in [0, 1]."""
        return self.label_probability(self.predict_label(x))

    def predict_image(self, x: torch.Tensor) -> torch.Tensor:
        """Image path only (encoder, neck, image decoder): (B, 1, H, W)."""
        xp, h, w = self._pad(x)
        _, neck = self.features(xp)
        return self.decode_image(neck)[..., :h, :w]

    def label_modules(self) -> list[nn.Module]:
        """Modules used only by the label path (frozen in unlabelled steps)."""
        return [self.label_decoder, self.label_head]

    def image_modules(self) -> list[nn.Module]:
        """Modules used only by the image path."""
        if self.image_decoder is None or self.image_head is None:
            return []
        return [self.image_decoder, self.image_head]


def label_probability(label: torch.Tensor, label_output: str = "logits") -> torch.Tensor:
    """Membrane probability (float32, [0, 1]) from a raw label map.

    Parameters
    ----------
    label : Tensor, any shape
        Logits (``label_output="logits"``) or tanh output in [-1, 1] (``"tanh"``).
    label_output : str
    """
    if label_output == "tanh":
        return ((label.float() + 1.0) * 0.5).clamp(0.0, 1.0)
    return torch.sigmoid(label.float())


def build_model(config: ModelConfig | str) -> DoubleDecoderNet:
    """Build a freshly initialised network from a config or a preset name."""
    if isinstance(config, str):
        config = ModelConfig.from_preset(config)
    return DoubleDecoderNet(config)
