"""Classical baselines for the comparison: Otsu threshold and an ilastik-like random forest.

Both work slice by slice on (Z, Y, X) volumes, like the network.

- :func:`otsu_segment` — one global Otsu threshold
  (:func:`skimage.filters.threshold_otsu`) on the volume; the polarity (is
  the membrane the bright or the dark class?) is given, chosen from labelled
  slices by F1, or (``"auto"`` without labels) the minority class.
- :func:`random_forest_segment` — the pixel classifier of ilastik's pixel
  classification workflow, built from scikit-image:
  :func:`skimage.feature.multiscale_basic_features` (intensity, edges,
  texture at Gaussian scales) per slice and
  :func:`skimage.future.fit_segmenter` with a scikit-learn random forest,
  trained on the labelled slices. Slices are standardised first with
  :func:`sxtseg.preprocess.normalize_slices`, as for the network. Needs
  scikit-learn.

Both accept an ``ignore`` mask on the labelled slices (the simulator's flat
membranes): those pixels are left unlabelled (neither membrane nor
background), so a baseline can be trained on visible labels only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from sxtseg.evaluate.metrics import Counts, truth_mask

__all__ = [
    "ForestConfig",
    "ForestModel",
    "RandomForestResult",
    "ThresholdResult",
    "fit_random_forest",
    "otsu_segment",
    "predict_random_forest",
    "random_forest_segment",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThresholdResult:
    """Result of :func:`otsu_segment`.

    Attributes
    ----------
    mask : ndarray of bool, shape (Z, Y, X)
    threshold : float
        Otsu threshold in the units of the input.
    polarity : str
        ``"bright"`` (foreground = values above the threshold) or ``"dark"``.
    """

    mask: np.ndarray
    threshold: float
    polarity: str


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    return Counts.of(pred, truth).scores()["f1"]


def otsu_segment(
    data: Any,
    *,
    polarity: str = "auto",
    labelled_images: Any = None,
    labelled_masks: Any = None,
    labelled_ignore: Any = None,
) -> ThresholdResult:
    """Segment by one global Otsu threshold.

    Parameters
    ----------
    data : array-like, shape (Z, Y, X) or (Y, X)
        The tomogram (any real dtype).
    polarity : {"auto", "bright", "dark"}
        Which side of the threshold is foreground. ``"auto"``: chosen by F1 on
        ``labelled_images``/``labelled_masks`` when given (each image gets its
        own Otsu threshold there), else the minority side of ``data``.
    labelled_images, labelled_masks : array-like, shape (N, Y, X), optional
        Labelled slices used only to choose the polarity.
    labelled_ignore : array-like, same shape, optional
        Unlabelled pixels of those slices (non-zero), left out of the F1.

    Returns
    -------
    ThresholdResult
    """
    from skimage.filters import threshold_otsu

    if polarity not in ("auto", "bright", "dark"):
        raise ValueError(f"polarity must be 'auto', 'bright' or 'dark', got {polarity!r}")
    arr = np.asarray(data, dtype=np.float32)
    t = float(threshold_otsu(arr))
    if polarity == "auto":
        if labelled_images is not None and labelled_masks is not None:
            imgs = np.asarray(labelled_images, dtype=np.float32)
            truth = truth_mask(labelled_masks)
            keep = np.ones(truth.shape, dtype=bool)
            if labelled_ignore is not None:
                keep = ~_ignore(labelled_ignore, truth.shape)
            tl = float(threshold_otsu(imgs))
            bright = _f1((imgs > tl)[keep], truth[keep]) >= _f1((imgs <= tl)[keep], truth[keep])
        else:
            bright = bool(np.count_nonzero(arr > t) <= arr.size / 2)
        polarity = "bright" if bright else "dark"
    mask = arr > t if polarity == "bright" else arr <= t
    return ThresholdResult(mask=mask, threshold=t, polarity=polarity)


@dataclass(frozen=True)
class ForestConfig:
    """Settings of the random-forest baseline (ilastik-like defaults).

    Attributes
    ----------
    sigma_min, sigma_max : float
        Smallest and largest Gaussian scale of the features, in pixels.
    n_estimators, max_depth : int
        Random forest size.
    max_samples_per_class : int
        Labelled pixels drawn at random per class for training (ilastik users
        label sparsely; this also bounds the training time).
    seed : int
        Seed for pixel sampling and the forest.
    n_jobs : int
        Threads for the forest.
    """

    sigma_min: float = 1.0
    sigma_max: float = 16.0
    n_estimators: int = 50
    max_depth: int | None = 12
    max_samples_per_class: int = 20_000
    seed: int = 0
    n_jobs: int = 1


@dataclass(frozen=True)
class ForestModel:
    """A trained random-forest pixel classifier and its feature settings."""

    classifier: Any
    config: ForestConfig


@dataclass(frozen=True)
class RandomForestResult:
    """Result of :func:`predict_random_forest`.

    Attributes
    ----------
    probabilities : ndarray of float32, shape (Z, Y, X)
        Probability of the membrane class.
    mask : ndarray of bool, shape (Z, Y, X)
        The forest's class decision (probability > 0.5).
    """

    probabilities: np.ndarray
    mask: np.ndarray


def _features(image: np.ndarray, config: ForestConfig) -> np.ndarray:
    from skimage.feature import multiscale_basic_features

    return multiscale_basic_features(
        image, intensity=True, edges=True, texture=True,
        sigma_min=config.sigma_min, sigma_max=config.sigma_max,
    ).astype(np.float32)  # fmt: skip


def _as_stack(a: Any) -> np.ndarray:
    arr = np.asarray(a)
    return arr[None] if arr.ndim == 2 else arr


def _ignore(ignore: Any, shape: tuple[int, ...]) -> np.ndarray:
    """An ignore mask as bool (non-zero = unlabelled), stacked like the labels."""
    arr = _as_stack(np.asarray(ignore) != 0)
    if arr.shape != tuple(shape):
        raise ValueError(f"ignore mask {arr.shape} and masks {tuple(shape)} differ in shape")
    return arr


def fit_random_forest(
    images: Any,
    masks: Any,
    *,
    config: ForestConfig = ForestConfig(),
    ignore: Any = None,
) -> ForestModel:
    """Train the random-forest pixel classifier on labelled slices.

    Parameters
    ----------
    images : array-like, shape (N, Y, X) or (Y, X)
        Labelled slices (raw intensities; standardised per slice here).
    masks : array-like, same shape
        Their membrane masks (non-zero = membrane).
    config : ForestConfig
    ignore : array-like, same shape, optional
        Unlabelled pixels (non-zero), e.g. flat membranes: drawn as neither
        membrane nor background.

    Returns
    -------
    ForestModel
    """
    try:
        from sklearn.ensemble import RandomForestClassifier
    except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("the random-forest baseline needs scikit-learn") from exc
    from skimage.future import fit_segmenter

    from sxtseg.preprocess import normalize_slices

    imgs = normalize_slices(_as_stack(images))
    truth = _as_stack(truth_mask(masks))
    if imgs.shape != truth.shape:
        raise ValueError(f"images {imgs.shape} and masks {truth.shape} differ in shape")
    labelled = np.ones(truth.shape, dtype=bool) if ignore is None else ~_ignore(ignore, truth.shape)
    rng = np.random.default_rng(config.seed)
    # sparse "scribbles": 1 = background, 2 = membrane, 0 = not used for training
    sparse = np.zeros(truth.shape, dtype=np.uint8)
    for cls, sel in ((1, ~truth & labelled), (2, truth & labelled)):
        idx = np.flatnonzero(sel)
        if idx.size == 0:
            raise ValueError("the labelled slices need both membrane and background pixels")
        take = rng.choice(idx, size=min(idx.size, config.max_samples_per_class), replace=False)
        sparse.flat[take] = cls
    feats = np.stack([_features(im, config) for im in imgs])  # (N, Y, X, F)
    clf = RandomForestClassifier(
        n_estimators=config.n_estimators, max_depth=config.max_depth,
        random_state=config.seed, n_jobs=config.n_jobs,
    )  # fmt: skip
    fit_segmenter(sparse, feats, clf)
    log.debug("random forest trained on %d pixels", int(np.count_nonzero(sparse)))
    return ForestModel(classifier=clf, config=config)


def predict_random_forest(model: ForestModel, data: Any) -> RandomForestResult:
    """Apply a trained forest to every slice of a volume.

    Parameters
    ----------
    model : ForestModel
    data : array-like, shape (Z, Y, X) or (Y, X)

    Returns
    -------
    RandomForestResult
    """
    from sxtseg.preprocess import normalize_slices

    vol = normalize_slices(_as_stack(data))
    classes = list(model.classifier.classes_)
    col = classes.index(2)
    prob = np.empty(vol.shape, dtype=np.float32)
    for z, im in enumerate(vol):
        f = _features(im, model.config)
        prob[z] = model.classifier.predict_proba(f.reshape(-1, f.shape[-1]))[:, col].reshape(
            im.shape
        )
    if np.asarray(data).ndim == 2:
        prob = prob[0]
    return RandomForestResult(probabilities=prob, mask=prob > 0.5)


def random_forest_segment(
    images: Any,
    masks: Any,
    data: Any,
    *,
    config: ForestConfig = ForestConfig(),
    ignore: Any = None,
) -> RandomForestResult:
    """Train on labelled slices, then segment ``data`` (see :func:`fit_random_forest`).

    ``ignore`` (same shape as ``masks``, non-zero = unlabelled) leaves pixels
    out of the training labels.
    """
    model = fit_random_forest(images, masks, config=config, ignore=ignore)
    return predict_random_forest(model, data)
