"""Building blocks of the double-decoder network (PyTorch nn.Modules).

Shapes are (B, C, H, W). All spatial convolutions keep H and W ("same").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Activation", "BottleneckConv", "ResidualBlock", "SamePadConv", "UpConv"]


class SamePadConv(nn.Conv2d):
    """A k×k convolution with Keras-style "same" padding for any k.

    Odd kernels pad k//2 on each side; even kernels pad (k-1)//2 before and
    k//2 after (k = 2: 0 before, 1 after), like Keras and PyTorch 'same'.
    Explicit padding keeps ONNX export simple.
    """

    def __init__(self, cin: int, cout: int, k: int, *, bias: bool = True) -> None:
        super().__init__(cin, cout, k, padding=0, bias=bias)
        self._pad = ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2)  # left, right, top, bottom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self._pad):
            x = F.pad(x, self._pad)
        return super().forward(x)


class BottleneckConv(nn.Sequential):
    """1×1 conv to F/2, k×k conv at F/2, 1×1 conv to F; no norm or activation between.

    A low-rank factorisation of one k×k conv ``cin -> cout`` (the middle width
    is at least 1). Bias-free by default: in the reference network only the
    decoders' last conv and the image head carry biases (this reproduces its
    parameter count, 76,483,502 at m = 64, and its cost).
    """

    def __init__(self, cin: int, cout: int, k: int = 3, *, bias: bool = False) -> None:
        mid = max(1, cout // 2)
        super().__init__(
            nn.Conv2d(cin, mid, 1, bias=bias),
            SamePadConv(mid, mid, k, bias=bias),
            nn.Conv2d(mid, cout, 1, bias=bias),
        )


class Activation(nn.Sequential):
    """BatchNorm then ReLU."""

    def __init__(self, channels: int, *, eps: float = 1e-3, momentum: float = 0.01) -> None:
        super().__init__(
            nn.BatchNorm2d(channels, eps=eps, momentum=momentum), nn.ReLU(inplace=True)
        )


class ResidualBlock(nn.Module):
    """Concatenating residual block: C -> C + F channels.

    conv C->F, activation, conv F->F, concatenate [input, new], activation
    (both convs are bias-free bottleneck convs).
    """

    def __init__(self, cin: int, width: int, *, eps: float = 1e-3, momentum: float = 0.01) -> None:
        super().__init__()
        self.conv1 = BottleneckConv(cin, width, 3)
        self.act1 = Activation(width, eps=eps, momentum=momentum)
        self.conv2 = BottleneckConv(width, width, 3)
        self.act2 = Activation(cin + width, eps=eps, momentum=momentum)
        self.out_channels = cin + width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.act1(self.conv1(x)))
        return self.act2(torch.cat([x, y], dim=1))


class UpConv(nn.ConvTranspose2d):
    """Stride-2 3×3 transposed conv with Keras "same" geometry: (H, W) -> (2H, 2W).

    PyTorch ``padding=0`` gives 2H+1; cropping the last row and column matches
    Keras (``padding=1, output_padding=1`` would be shifted by one pixel).
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, cout, 3, stride=2, padding=0, bias=True)

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        return super().forward(x)[..., : 2 * h, : 2 * w]
