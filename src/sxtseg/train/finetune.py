"""Starting a run from a trained model (``TrainConfig.init``): fine-tuning.

:func:`resolve_init` loads the model named by ``config.init`` ("default", the
bundled model, or a model folder) and works out what the run takes over:

- its architecture (``ModelConfig``): the preset follows the model; an
  explicit ``preset`` of another width is an :class:`InputError`;
- its weights, with two adaptations:

  * a tanh head (the paper's, and every folder written before the logits
    head) trained on with ``loss="bce_dice"`` is converted to logits: the last
    1×1 conv's weight and bias are doubled, which gives exactly the same
    probabilities, since (tanh(z) + 1) / 2 = sigmoid(2z). A logits model
    cannot go back to ``loss="paper"`` (refused);
  * ``supervised_only`` drops the image decoder of a two-headed model (the
    shared encoder, neck and label path are kept); a model without an image
    decoder trained semisupervised gets a freshly initialised one (warning);

- its normalisation record (the run standardises inputs the same way);
- its pixel size (unless ``config.pixel_size_nm`` is given: then a warning
  when the two differ).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sxtseg.errors import InputError
from sxtseg.model import PRESETS, ModelConfig
from sxtseg.model.checkpoint import load_model, resolve_model_dir
from sxtseg.train.config import TrainConfig

__all__ = ["InitModel", "resolve_init"]

log = logging.getLogger(__name__)

#: The label head's last conv (1×1, m -> 1): scaled by 2 to turn tanh into logits.
HEAD_CONV = "label_head.2"
_IMAGE_PREFIXES = ("image_decoder.", "image_head.")


@dataclass
class InitModel:
    """What a run takes over from its ``init`` model.

    Attributes
    ----------
    model_config : ModelConfig
        Architecture of the network to train (head and image decoder as the run needs).
    state : dict of str to Tensor
        Weights to load (non-strict: a fresh image decoder keeps its init).
    normalization : dict
        The init model's ``meta["normalization"]``.
    pixel_size_nm : float or None
        The init model's ``meta["pixel_size_nm"]``.
    record : dict
        ``meta["init"]`` of the new model: ``source``, ``path``, ``sha256``
        (the weights' checksum from its config.json, or None), ``preset``,
        ``label_output`` (as loaded) and ``head_converted``.
    """

    model_config: ModelConfig
    state: dict[str, torch.Tensor]
    normalization: dict[str, Any]
    pixel_size_nm: float | None
    record: dict[str, Any] = field(default_factory=dict)

    def load_into(self, model: torch.nn.Module) -> None:
        """Copy the weights into ``model`` (built from :attr:`model_config`)."""
        missing, unexpected = model.load_state_dict(self.state, strict=False)
        bad = [k for k in missing if not k.startswith(_IMAGE_PREFIXES)] + list(unexpected)
        if bad:  # pragma: no cover - resolve_init builds matching states
            raise InputError(f"init weights do not fit the network (e.g. {bad[0]})")


def _preset_of(m: int) -> str | None:
    return next((name for name, width in PRESETS.items() if width == m), None)


def resolve_init(config: TrainConfig) -> tuple[TrainConfig, InitModel | None]:
    """Load ``config.init`` and return the run's config and what it takes over.

    Parameters
    ----------
    config : TrainConfig

    Returns
    -------
    (TrainConfig, InitModel or None)
        Without ``init``: the config with ``preset`` resolved ("small" when
        None) and None. With ``init``: the config with ``preset`` and
        ``pixel_size_nm`` taken from the model where not given, and the
        :class:`InitModel`.

    Raises
    ------
    InputError
        A model that cannot be loaded, a ``preset`` of another width, a
        logits model with ``loss="paper"``, or a normalisation the training
        data pipeline does not apply.
    """
    if config.init is None:
        return dataclasses.replace(config, preset=config.preset or "small"), None
    loaded = load_model(config.init, device="cpu")
    folder = resolve_model_dir(config.init)
    mc = loaded.config
    preset = mc.preset if mc.preset in PRESETS and PRESETS[mc.preset] == mc.m else _preset_of(mc.m)
    if config.preset is not None and PRESETS[config.preset] != mc.m:
        raise InputError(
            f"--init {config.init}: that model is {preset or 'custom'} (m={mc.m}), not "
            f"--preset {config.preset}; leave --preset out (it follows the model)"
        )
    if mc.label_output == "logits" and config.loss == "paper":
        raise InputError(
            f"--init {config.init}: its label head emits logits; --loss paper needs a tanh "
            "head (train from scratch for the paper's loss, or use --loss bce_dice)"
        )
    state = dict(loaded.model.state_dict())
    converted = mc.label_output == "tanh" and config.label_output == "logits"
    if converted:
        log.warning(
            "--init %s: converting its tanh label head to logits for --loss %s (last conv "
            "weights x2: same probabilities, sigmoid(2z) = (tanh(z) + 1) / 2)",
            config.init, config.loss,
        )  # fmt: skip
        for name in (f"{HEAD_CONV}.weight", f"{HEAD_CONV}.bias"):
            state[name] = state[name] * 2.0
    if config.supervised_only and mc.image_decoder:
        log.info("--init %s with --supervised-only: its image decoder is dropped", config.init)
        state = {k: v for k, v in state.items() if not k.startswith(_IMAGE_PREFIXES)}
    elif not config.supervised_only and not mc.image_decoder:
        log.warning("--init %s has no image decoder: a fresh one is trained", config.init)
    overrides: dict[str, Any] = {
        "image_decoder": not config.supervised_only,
        "label_output": config.label_output,
    }
    if config.bn_momentum is not None:
        overrides["bn_momentum"] = config.bn_momentum
    norm = dict(loaded.meta["normalization"])
    if norm.get("function") != "sxtseg.preprocess.normalize_slices" or norm.get("invert"):
        raise InputError(
            f"--init {config.init}: its inputs are standardised differently "
            f"({norm.get('function')}, invert={norm.get('invert')}); training cannot match that"
        )
    init_px = loaded.meta.get("pixel_size_nm")
    pixel = config.pixel_size_nm if config.pixel_size_nm is not None else init_px
    given = config.pixel_size_nm
    if given is not None and init_px and abs(given / init_px - 1) > 0.01:
        log.warning(
            "--pixel-size %g nm differs from the %g nm the init model works at; "
            "training at %g nm", config.pixel_size_nm, init_px, config.pixel_size_nm,
        )  # fmt: skip
    sha = None
    doc_path = Path(folder) / "config.json"
    if doc_path.is_file():
        sha = json.loads(doc_path.read_text()).get("weights_sha256")
    record = {
        "source": config.init if config.init == "default" else str(Path(folder).resolve()),
        "sha256": sha,
        "preset": preset,
        "label_output": mc.label_output,
        "head_converted": converted,
    }
    init = InitModel(dataclasses.replace(mc, **overrides), state, norm, init_px, record)
    new_config = dataclasses.replace(config, preset=config.preset or preset or "small",
                                     pixel_size_nm=pixel)  # fmt: skip
    return new_config, init
