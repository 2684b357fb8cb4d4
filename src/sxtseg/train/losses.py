"""Losses of the semisupervised protocol: BCE + soft Dice, masked Huber and SSIM.

All inputs are (B, 1, H, W) tensors; weights/masks of the same shape select
the pixels that count (0 = ignored, e.g. unlabelled pixels, flat membranes or
padding): they contribute neither loss nor gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "bce_dice",
    "gaussian_window",
    "huber",
    "image_loss",
    "labeled_loss",
    "ssim",
]


def huber(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    delta: float = 0.1,
) -> torch.Tensor:
    """Mean Huber loss (Keras definition) over pixels with ``weight`` > 0.

    0.5·d² for |d| <= delta, delta·(|d| − delta/2) beyond. With weights, the
    weighted mean; pixels of weight 0 contribute neither loss nor gradient.
    A batch without any weighted pixel gives 0 (with a gradient of 0).
    """
    loss = F.huber_loss(pred.float(), target.float(), reduction="none", delta=delta)
    if weight is None:
        return loss.mean()
    w = weight.float()
    return (loss * w).sum() / w.sum().clamp_min(1.0)


def bce_dice(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    *,
    pos_weight: float = 1.0,
    dice_weight: float = 1.0,
    smooth: float = 1.0,
) -> torch.Tensor:
    """Weighted BCE-with-logits + ``dice_weight``·(1 − soft Dice) over counted pixels.

    Parameters
    ----------
    logits : Tensor, (B, 1, H, W)
        Raw label map (p = sigmoid(logits)).
    target : Tensor, (B, 1, H, W)
        Membrane where > 0 (the -1/1 labels of a batch work as they are).
    weight : Tensor, (B, 1, H, W)
        Pixel weights; 0 = not counted (no loss, no gradient).
    pos_weight : float
        Multiplies the BCE weight of membrane pixels (1.0 = plain BCE).
    dice_weight : float
        Weight of the soft-Dice term (0 = BCE only).
    smooth : float
        Added to numerator and denominator of the Dice ratio, so a batch
        without membrane pixels gives a finite, small loss.

    Returns
    -------
    Tensor, scalar
        The BCE term is the weighted mean over counted pixels; the Dice term is
        computed over the whole batch. A batch without counted pixels gives 0.
    """
    z = logits.float()
    t = (target > 0).to(z.dtype)
    w = weight.float()
    bce_w = w * (1.0 + (pos_weight - 1.0) * t) if pos_weight != 1.0 else w
    bce = F.binary_cross_entropy_with_logits(z, t, reduction="none")
    loss = (bce * bce_w).sum() / bce_w.sum().clamp_min(1e-6)
    if dice_weight > 0:
        p = torch.sigmoid(z) * w
        tw = t * w
        dice = (2 * (p * tw).sum() + smooth) / (p.sum() + tw.sum() + smooth)
        loss = loss + dice_weight * (1 - dice)
    return loss


def gaussian_window(size: int = 11, sigma: float = 1.5, *, device: torch.device | None = None
                    ) -> torch.Tensor:  # fmt: skip
    """Normalised 1D Gaussian, shape (size,)."""
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_range: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean structural similarity of two (B, 1, H, W) images.

    Gaussian window (11 px, σ 1.5), k1 0.01, k2 0.03, computed over the
    "valid" region (windows entirely inside the image). ``data_range`` defaults
    to max − min of each target image. With ``mask`` the SSIM map is averaged
    over windows centred on masked pixels.
    """
    p, t = pred.float(), target.float()
    if data_range is None:
        flat = t.flatten(1)
        rng = (flat.amax(1) - flat.amin(1)).clamp_min(1e-6).view(-1, 1, 1, 1)
    else:
        rng = torch.as_tensor(data_range, dtype=torch.float32, device=t.device)
    c1, c2 = (k1 * rng) ** 2, (k2 * rng) ** 2
    g = gaussian_window(window, sigma, device=t.device)
    gy, gx = g.view(1, 1, -1, 1), g.view(1, 1, 1, -1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(x, gy), gx)

    mu_p, mu_t = blur(p), blur(t)
    var_p = blur(p * p) - mu_p**2
    var_t = blur(t * t) - mu_t**2
    cov = blur(p * t) - mu_p * mu_t
    num = (2 * mu_p * mu_t + c1) * (2 * cov + c2)
    den = (mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2)
    smap = num / den
    if mask is None:
        return smap.mean()
    h = window // 2
    m = mask.float()[..., h : h + smap.shape[-2], h : h + smap.shape[-1]]
    return (smap * m).sum() / m.sum().clamp_min(1.0)


def labeled_loss(
    label: torch.Tensor,
    image: torch.Tensor | None,
    batch: dict[str, torch.Tensor],
    *,
    label_weight: float = 0.99,
    image_weight: float = 0.01,
    delta: float = 0.1,
    pos_weight: float = 1.0,
    loss: str = "bce_dice",
    dice_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labelled-step loss and its label term.

    ``label_weight``·(label term) over counted pixels (``batch["weight"]`` > 0)
    + ``image_weight``·Huber(image, target image) over real pixels (the image
    term is absent without an image decoder).

    The label term is :func:`bce_dice` on logits (``loss="bce_dice"``) or, for
    ``loss="paper"``, the reference's Huber(tanh output, labels in [-1, 1]).
    ``pos_weight`` multiplies the weight of membrane pixels (target > 0) in
    either: membranes are ~10 % of the voxels, and with a Huber (nearly L1)
    loss an unweighted network learns to say "background" wherever it is
    unsure. 1.0 is the reference.

    Returns
    -------
    (total, label_term)
    """
    weight = batch["weight"]
    if loss == "bce_dice":
        label_term = bce_dice(label, batch["label"], weight, pos_weight=pos_weight,
                              dice_weight=dice_weight)  # fmt: skip
    elif loss == "paper":
        if pos_weight != 1.0:
            weight = weight * (1.0 + (pos_weight - 1.0) * (batch["label"] > 0).to(weight.dtype))
        label_term = huber(label, batch["label"], weight, delta=delta)
    else:
        raise ValueError(f"unknown label loss {loss!r} (bce_dice or paper)")
    total = label_weight * label_term
    if image is not None and image_weight > 0:
        total = total + image_weight * huber(image, batch["target"], batch["valid"], delta=delta)
    return total, label_term


def image_loss(
    image: torch.Tensor,
    batch: dict[str, torch.Tensor],
    *,
    ssim_weight: float = 0.5,
    delta: float = 0.1,
) -> torch.Tensor:
    """Unlabelled-step loss: ssim_weight·(1 − SSIM) + (1 − ssim_weight)·Huber on the image."""
    loss = (1 - ssim_weight) * huber(image, batch["target"], batch["valid"], delta=delta)
    if ssim_weight > 0:
        loss = loss + ssim_weight * (1 - ssim(image, batch["target"], batch["valid"]))
    return loss
