"""Architecture settings of the two-headed network (one frozen dataclass).

All channel widths scale with one factor ``m``; the presets name the usual
values (``paper`` = the authors' network, m = 64, 76.5 M parameters).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sxtseg.errors import InputError

__all__ = ["LABEL_OUTPUTS", "PRESETS", "ModelConfig"]

#: What the label head can emit (see ``ModelConfig.label_output``).
LABEL_OUTPUTS = ("logits", "tanh")

#: Preset name -> width factor m.
PRESETS: dict[str, int] = {"tiny": 8, "small": 16, "base": 32, "paper": 64}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the double-decoder network.

    Attributes
    ----------
    m : int
        Width factor (even, >= 2). Encoder stage widths are m, 2m, 4m, 8m; the
        neck works at 16m channels.
    preset : str or None
        Preset name this config came from (informational).
    image_decoder : bool
        Build the image (reconstruction) decoder. ``False`` is the paper's
        supervised-only ablation: same label path, no image head.
    neck_kernels : tuple of int
        Kernel sizes of the parallel neck branches (cardinality = their number).
    neck_depth : int
        Bottleneck convs per neck branch.
    label_blocks, image_blocks : int
        Residual blocks per decoder stage.
    bn_eps, bn_momentum : float
        BatchNorm settings (PyTorch convention; Keras momentum 0.99 = 0.01 here).
    pad_mode : str
        How inputs are padded to a multiple of 16 inside the forward pass
        ("reflect", falling back to "replicate" for tiny images).
    label_output : str
        What the label head emits: "logits" (default; membrane probability
        p = sigmoid(label), trained with BCE + soft Dice) or "tanh" (the
        paper's head; p = (label + 1) / 2, trained with Huber). Model folders
        written before this option existed hold no value and load as "tanh".
    """

    m: int = 16
    preset: str | None = None
    image_decoder: bool = True
    neck_kernels: tuple[int, ...] = (1, 2, 3)
    neck_depth: int = 4
    label_blocks: int = 2
    image_blocks: int = 1
    bn_eps: float = 1e-3
    bn_momentum: float = 0.01
    pad_mode: str = "reflect"
    label_output: str = "logits"

    def __post_init__(self) -> None:
        if not isinstance(self.m, int) or self.m < 2 or self.m % 2:
            raise InputError(f"model width m must be an even integer >= 2, got {self.m!r}")
        object.__setattr__(self, "neck_kernels", tuple(int(k) for k in self.neck_kernels))
        if not self.neck_kernels or min(self.neck_kernels) < 1:
            raise InputError(f"neck_kernels must be positive, got {self.neck_kernels}")
        if self.neck_depth < 1 or self.label_blocks < 1 or self.image_blocks < 1:
            raise InputError("neck_depth, label_blocks and image_blocks must be >= 1")
        if self.pad_mode not in ("reflect", "replicate", "constant"):
            raise InputError(f"pad_mode must be reflect, replicate or constant: {self.pad_mode!r}")
        if self.label_output not in LABEL_OUTPUTS:
            raise InputError(f"label_output must be logits or tanh, got {self.label_output!r}")

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> ModelConfig:
        """The config of a named preset (``tiny``, ``small``, ``base``, ``paper``)."""
        key = str(name).lower()
        if key not in PRESETS:
            raise InputError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
        return cls(m=PRESETS[key], preset=key, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["neck_kernels"] = list(self.neck_kernels)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`.

        A dict without ``label_output`` (written before the logits head) gives "tanh".
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"unknown model setting(s): {', '.join(unknown)}")
        values = dict(data)
        values.setdefault("label_output", "tanh")  # folders from before the logits head
        if "neck_kernels" in values:
            values["neck_kernels"] = tuple(values["neck_kernels"])
        return cls(**values)
