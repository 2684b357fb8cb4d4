"""The label path rewritten for inference: BatchNorm folded, linear convolutions merged.

Training keeps BatchNorm and the three-conv bottlenecks as separate layers;
at inference they are fixed linear maps, and on the CPU every separate layer
is one more pass over activations that at 1024² do not fit any cache.
:func:`optimize_for_inference` returns a :class:`LabelPath` (encoder, neck,
label decoder and head only; the image decoder is dropped) in which

- each BatchNorm that follows a convolution is folded into its weights and
  bias (stem, neck, residual blocks, decoder outputs);
- the BatchNorm over ``cat([x, y])`` at the end of a residual block is split:
  its ``y`` part is folded into the block's second convolution, only the
  ``x`` part stays a per-channel affine;
- the head's leading BatchNorm is folded forward into the 1×1 convolution
  that follows it, and the head's last 1×1 convolution into the one before;
- a bottleneck (1×1, k×k, 1×1 without non-linearity between) becomes one k×k
  convolution when that costs at most ``merge_ratio`` times its multiply-adds
  (the stem and the neck's k = 1 branch at the default ratio 1) and is exact
  (its first convolution has no bias, so zero padding commutes with it);
- odd k×k convolutions pad inside the convolution instead of in a separate
  ``F.pad`` copy of their input (the k = 2 neck branch keeps its asymmetric pad).

Every rewrite is exact algebra; the results equal the reference network's up
to float32 rounding (tested: max abs difference of probabilities <= 1e-4).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from sxtseg.model.blocks import Activation, BottleneckConv, ResidualBlock, SamePadConv
from sxtseg.model.network import DoubleDecoderNet, label_probability, pad_to_divisor

__all__ = ["FusedResidualBlock", "LabelPath", "optimize_for_inference"]

log = logging.getLogger(__name__)


def _bn_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) with ``bn(x) == x * scale + shift`` per channel in eval mode."""
    assert bn.running_var is not None and bn.running_mean is not None
    var = bn.running_var.double()
    scale = torch.rsqrt(var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.double()
    shift = -bn.running_mean.double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.double()
    return scale, shift


def _fold_after(conv: nn.Conv2d, bn: nn.BatchNorm2d, channels: slice | None = None) -> None:
    """Fold ``bn`` (or the ``channels`` part of it) into the output of ``conv``, in place."""
    assert bn.running_var is not None and bn.running_mean is not None
    sl = channels if channels is not None else slice(None)
    ones = torch.ones_like(bn.running_var)
    weight, bias = fuse_conv_bn_weights(
        conv.weight.detach(), None if conv.bias is None else conv.bias.detach(),
        bn.running_mean[sl], bn.running_var[sl], bn.eps,
        (bn.weight if bn.weight is not None else ones)[sl].detach(),
        (bn.bias if bn.bias is not None else torch.zeros_like(ones))[sl].detach(),
    )  # fmt: skip
    conv.weight = nn.Parameter(weight.detach(), requires_grad=False)
    conv.bias = nn.Parameter(bias.detach(), requires_grad=False)


def _fold_before(bn: nn.BatchNorm2d, conv: nn.Conv2d) -> None:
    """Fold ``bn`` into a following 1×1 convolution ``conv`` (no padding), in place."""
    scale, shift = _bn_affine(bn)
    w = conv.weight.detach().double()  # (out, in, 1, 1)
    bias = w[:, :, 0, 0] @ shift
    if conv.bias is not None:
        bias = bias + conv.bias.detach().double()
    conv.weight = nn.Parameter((w * scale.view(1, -1, 1, 1)).float(), requires_grad=False)
    conv.bias = nn.Parameter(bias.float(), requires_grad=False)


def _is_1x1(conv: nn.Module) -> bool:
    return (type(conv) is nn.Conv2d and conv.kernel_size == (1, 1) and conv.stride == (1, 1)
            and conv.padding == (0, 0) and conv.groups == 1)  # fmt: skip


def _compose_1x1(first: nn.Conv2d, second: nn.Conv2d) -> nn.Conv2d:
    """One 1×1 convolution equal to ``second(first(x))``."""
    w1 = first.weight.detach().double()[:, :, 0, 0]
    w2 = second.weight.detach().double()[:, :, 0, 0]
    out = nn.Conv2d(w1.shape[1], w2.shape[0], 1, bias=True)
    bias = torch.zeros(w2.shape[0], dtype=torch.float64)
    if first.bias is not None:
        bias = bias + w2 @ first.bias.detach().double()
    if second.bias is not None:
        bias = bias + second.bias.detach().double()
    out.weight = nn.Parameter((w2 @ w1)[:, :, None, None].float(), requires_grad=False)
    out.bias = nn.Parameter(bias.float(), requires_grad=False)
    return out


def _convs(bc: nn.Sequential) -> tuple[nn.Conv2d, nn.Conv2d, nn.Conv2d]:
    """The three convolutions of a bottleneck."""
    c1, c2, c3 = bc[0], bc[1], bc[2]
    assert isinstance(c1, nn.Conv2d) and isinstance(c2, nn.Conv2d) and isinstance(c3, nn.Conv2d)
    return c1, c2, c3


def _bn(act: nn.Module) -> nn.BatchNorm2d:
    """The BatchNorm of an :class:`~sxtseg.model.blocks.Activation` (BatchNorm, ReLU)."""
    bn = act[0] if isinstance(act, nn.Sequential) else act
    assert isinstance(bn, nn.BatchNorm2d)
    return bn


def _bottleneck_macs(bc: BottleneckConv) -> tuple[int, int]:
    """(multiply-adds per pixel of the three convolutions, of one merged k×k convolution)."""
    c1, c2, c3 = _convs(bc)
    k = c2.kernel_size[0] * c2.kernel_size[1]
    three = c1.in_channels * c1.out_channels + c2.in_channels * c2.out_channels * k \
        + c3.in_channels * c3.out_channels  # fmt: skip
    return three, c1.in_channels * c3.out_channels * k


def _mergeable(bc: BottleneckConv) -> bool:
    c1, c2, c3 = _convs(bc)
    if not (_is_1x1(c1) and _is_1x1(c3) and isinstance(c2, SamePadConv)):
        return False
    if c2.stride != (1, 1) or c2.dilation != (1, 1) or c2.groups != 1:
        return False
    # zero padding commutes with a bias-free 1x1 convolution only; k = 1 has no padding
    return c1.bias is None or c2.kernel_size == (1, 1)


def _merge_bottleneck(bc: BottleneckConv) -> nn.Conv2d:
    """One convolution equal to the bottleneck (1×1, k×k, 1×1)."""
    c1, c2, c3 = _convs(bc)
    w1 = c1.weight.detach().double()[:, :, 0, 0]  # (mid, in)
    w2 = c2.weight.detach().double()  # (mid2, mid, kh, kw)
    w3 = c3.weight.detach().double()[:, :, 0, 0]  # (out, mid2)
    weight = torch.einsum("ob,bauv,ai->oiuv", w3, w2, w1)
    inner = torch.zeros(w2.shape[0], dtype=torch.float64)
    if c1.bias is not None:  # only for k = 1 (see _mergeable)
        inner = inner + w2.sum(dim=(2, 3)) @ c1.bias.detach().double()
    if c2.bias is not None:
        inner = inner + c2.bias.detach().double()
    bias = w3 @ inner
    if c3.bias is not None:
        bias = bias + c3.bias.detach().double()
    kh = c2.kernel_size[0]
    conv: nn.Conv2d = nn.Conv2d(w1.shape[1], w3.shape[0], 1) if kh == 1 else \
        SamePadConv(w1.shape[1], w3.shape[0], kh)  # fmt: skip
    conv.weight = nn.Parameter(weight.float(), requires_grad=False)
    conv.bias = nn.Parameter(bias.float(), requires_grad=False)
    return conv


class FusedResidualBlock(nn.Module):
    """:class:`~sxtseg.model.blocks.ResidualBlock` with its BatchNorms folded.

    ``relu(cat([bn_x(x), conv2(relu(conv1(x)))]))``: conv1 carries the first
    BatchNorm, conv2 the second one's part over the new channels; ``bn_x`` is
    the second one's part over the input channels.
    """

    def __init__(self, block: ResidualBlock) -> None:
        super().__init__()
        first = _convs(block.conv1)
        cin = first[0].in_channels
        self.conv1 = block.conv1
        self.conv2 = block.conv2
        _fold_after(first[2], _bn(block.act1))
        bn2 = _bn(block.act2)
        _fold_after(_convs(block.conv2)[2], bn2, slice(cin, None))
        bn_x = nn.BatchNorm2d(cin, eps=bn2.eps)
        state = {k: v[:cin] for k, v in bn2.state_dict().items() if k != "num_batches_tracked"}
        bn_x.load_state_dict(state, strict=False)
        self.bn_x = bn_x.eval()
        self.out_channels = block.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x), inplace=True))
        return torch.cat([self.bn_x(x), y], dim=1).relu_()


def _rewrite(module: nn.Module, merge_ratio: float) -> None:
    """Fold and merge inside ``module`` (recursively, in place)."""
    for name, child in module.named_children():
        if isinstance(child, ResidualBlock):
            fused = FusedResidualBlock(child)
            setattr(module, name, fused)
            _rewrite(fused, merge_ratio)
        else:
            _rewrite(child, merge_ratio)
    if isinstance(module, nn.Sequential) and not isinstance(module, BottleneckConv):
        _rewrite_sequence(module, merge_ratio)
    for name, child in module.named_children():
        if isinstance(child, BottleneckConv) and _mergeable(child):
            three, one = _bottleneck_macs(child)
            if one <= merge_ratio * three:
                setattr(module, name, _merge_bottleneck(child))


def _pad_inside(module: nn.Module) -> None:
    """Odd-kernel :class:`SamePadConv` -> ``nn.Conv2d`` padding inside (no separate F.pad)."""
    for name, child in module.named_children():
        if isinstance(child, SamePadConv):
            kh, kw = child.kernel_size
            if kh % 2 and kw % 2 and child.stride == (1, 1) and child.dilation == (1, 1):
                conv = nn.Conv2d(child.in_channels, child.out_channels, (kh, kw),
                                 padding=(kh // 2, kw // 2), groups=child.groups,
                                 bias=child.bias is not None)  # fmt: skip
                conv.weight = child.weight
                conv.bias = child.bias
                setattr(module, name, conv)
        else:
            _pad_inside(child)


def _rewrite_sequence(seq: nn.Sequential, merge_ratio: float) -> None:
    layers = list(seq)
    out: list[nn.Module] = []
    i = 0
    while i < len(layers):
        cur = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(cur, BottleneckConv) and isinstance(nxt, Activation):
            _fold_after(_convs(cur)[2], _bn(nxt))
            out += [cur, nn.ReLU(inplace=True)]
            i += 2
            continue
        if isinstance(cur, nn.BatchNorm2d) and isinstance(nxt, BottleneckConv) \
                and _is_1x1(_convs(nxt)[0]):  # fmt: skip
            _fold_before(cur, _convs(nxt)[0])
            i += 1
            continue
        if isinstance(cur, BottleneckConv) and isinstance(nxt, nn.Conv2d) and _is_1x1(nxt) \
                and _is_1x1(_convs(cur)[2]):  # fmt: skip
            cur[2] = _compose_1x1(_convs(cur)[2], nxt)
            out.append(cur)
            i += 2
            continue
        out.append(cur)
        i += 1
    for name in [n for n, _ in seq.named_children()]:
        delattr(seq, name)
    for j, layer in enumerate(out):
        seq.add_module(str(j), layer)


class LabelPath(nn.Module):
    """The label path of a :class:`~sxtseg.model.network.DoubleDecoderNet`, for inference.

    Same inputs and outputs as the network's ``predict_label`` /
    ``predict_proba``: (B, 1, H, W) standardised slices of any H, W (padded
    to multiples of 16 inside, like the network) to the raw label map or the
    membrane probability. ``forward`` is ``predict_proba``.

    Attributes
    ----------
    config : ModelConfig
        The network's architecture (width, padding, label output).
    """

    optimized = True

    def __init__(self, net: DoubleDecoderNet) -> None:
        super().__init__()
        self.config = net.config
        # copies: the network itself is left untouched, and its image decoder is not copied
        self.encoder = copy.deepcopy(net.encoder).eval()
        self.neck = copy.deepcopy(net.neck).eval()
        self.label_decoder = copy.deepcopy(net.label_decoder).eval()
        self.label_head = copy.deepcopy(net.label_head).eval()

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        return pad_to_divisor(x, self.config.pad_mode)

    def label_unpadded(self, x: torch.Tensor) -> torch.Tensor:
        """Raw label map of an input whose H and W are multiples of 16 (no padding)."""
        skips, bottom = self.encoder(x)
        return self.label_head(self.label_decoder(self.neck(bottom), skips))

    def predict_label(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> raw label map (logits or tanh, as ``config.label_output``)."""
        xp, h, w = self._pad(x)
        return self.label_unpadded(xp)[..., :h, :w]

    def label_probability(self, label: torch.Tensor) -> torch.Tensor:
        """Membrane probability in [0, 1] from a raw label map (float32)."""
        return label_probability(label, self.config.label_output)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> membrane probability, float32 in [0, 1]."""
        return self.label_probability(self.predict_label(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.predict_proba(x)


def optimize_for_inference(model: Any, *, merge_ratio: float = 1.0) -> LabelPath:
    """The label path of ``model`` with BatchNorm folded and linear convolutions merged.

    Parameters
    ----------
    model : DoubleDecoderNet or LabelPath
        Left untouched (the label path is copied; the image decoder is not).
        A :class:`LabelPath` is returned as it is.
    merge_ratio : float
        Merge a bottleneck into one k×k convolution when that costs at most
        this many times its multiply-adds (1.0: only when it is cheaper).

    Returns
    -------
    LabelPath
        In eval mode, on the model's device, without gradients.

    Raises
    ------
    TypeError
        ``model`` is not a DoubleDecoderNet.
    """
    if isinstance(model, LabelPath):
        return model
    if not isinstance(model, DoubleDecoderNet):
        raise TypeError(f"cannot optimise a {type(model).__name__} (needs a DoubleDecoderNet)")
    path = LabelPath(model)
    with torch.no_grad():
        _rewrite(path, float(merge_ratio))
        _pad_inside(path)
    path.eval().requires_grad_(False)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in path.modules())
    log.debug("label path optimised for inference: %d BatchNorm layers left (input parts)", n_bn)
    return path
