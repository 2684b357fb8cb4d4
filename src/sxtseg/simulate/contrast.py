"""Linear absorption coefficients (LAC, µm⁻¹) of cell materials in the water window.

Values computed with ``xraydb`` (``material_mu``; tables shipped with the
PyPI package) at 500, 510 and 520 eV; the 510/520 eV columns match the table
in ``shared/reference/sxt-physics.md``. Compartments are mixtures
``LAC = φ·LAC_organic + (1 − φ)·LAC_water`` with organic volume fractions φ
chosen so that the results fall in the measured ranges (Parkinson et al.,
J Struct Biol 2008; Uchida et al., PNAS 2009): vacuole 0.15–0.25, cytoplasm and
nucleus 0.2–0.3, nucleolus and mitochondria 0.3–0.4, lipid droplets 0.5–0.75 µm⁻¹.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["COMPARTMENTS", "MATERIALS", "CompartmentContrast", "lac", "mixture_lac"]

_ENERGIES = np.array([500.0, 510.0, 520.0])

#: material -> LAC (µm⁻¹) at 500, 510, 520 eV (xraydb ``material_mu``, density in brackets).
MATERIALS: dict[str, tuple[float, float, float]] = {
    "water": (0.128, 0.123, 0.118),  # H2O (1.0)
    "ice": (0.118, 0.113, 0.108),  # H2O (0.92)
    "protein": (1.452, 1.382, 1.317),  # C30H50N9O10S (1.35)
    "neutral_lipid": (0.949, 0.903, 0.859),  # tripalmitin C51H98O6 (0.91)
    "phospholipid": (1.007, 0.958, 0.912),  # POPC C42H82NO8P (1.01)
    "nucleic_acid": (1.740, 1.657, 1.580),  # C10H12N5O6P (1.7)
    "carbon": (2.703, 2.569, 2.444),  # amorphous carbon support film (2.0)
    "gold": (19.26, 18.79, 18.33),  # Au fiducials (19.3)
}


def lac(material: str, energy_ev: float) -> float:
    """LAC of a pure material in µm⁻¹ at ``energy_ev`` (log-log interpolation).

    Energies outside 500–520 eV are extrapolated with the local power law
    (LAC ∝ E⁻ⁿ, n ≈ 2.3 here); stay inside the water window.
    """
    if material not in MATERIALS:
        raise KeyError(f"unknown material {material!r}; known: {', '.join(MATERIALS)}")
    vals = np.log(np.asarray(MATERIALS[material]))
    le = np.log(_ENERGIES)
    x = float(np.log(energy_ev))
    slope = (vals[2] - vals[0]) / (le[2] - le[0])
    if le[0] <= x <= le[2]:
        return float(np.exp(np.interp(x, le, vals)))
    ref = 0 if x < le[0] else 2
    return float(np.exp(vals[ref] + slope * (x - le[ref])))


def mixture_lac(fractions: dict[str, float], energy_ev: float) -> float:
    """LAC (µm⁻¹) of an aqueous mixture: Σ φᵢ·LACᵢ + (1 − Σ φᵢ)·LAC_water."""
    total = sum(fractions.values())
    if total > 1.0 + 1e-9 or min(fractions.values(), default=0.0) < 0:
        raise ValueError(f"volume fractions must be >= 0 and sum to <= 1: {fractions}")
    out = (1.0 - total) * lac("water", energy_ev)
    for name, phi in fractions.items():
        out += phi * lac(name, energy_ev)
    return out


@dataclass(frozen=True)
class CompartmentContrast:
    """Range of organic volume fractions for one compartment kind.

    Attributes
    ----------
    material : str
        The organic component (see :data:`MATERIALS`).
    phi_range : (float, float)
        Range of its volume fraction; each object draws its own value.
    """

    material: str
    phi_range: tuple[float, float]

    def draw(self, rng: np.random.Generator, energy_ev: float, *, scale: float = 1.0) -> float:
        """A LAC (µm⁻¹) for one object, drawn uniformly in the φ range.

        ``scale`` multiplies the drawn φ (capped at 0.95): a denser or more dilute
        sample than the measured ranges' middle.
        """
        phi = float(rng.uniform(*self.phi_range))
        if scale != 1.0:
            phi = min(phi * float(scale), 0.95)
        return mixture_lac({self.material: phi}, energy_ev)


#: Compartment kind -> contrast; at 510 eV the LAC ranges are given in the comments.
COMPARTMENTS: dict[str, CompartmentContrast] = {
    "cytoplasm": CompartmentContrast("protein", (0.06, 0.13)),  # 0.20-0.29
    "filopodium": CompartmentContrast("protein", (0.08, 0.16)),  # 0.22-0.32 (actin bundle)
    "nucleus": CompartmentContrast("nucleic_acid", (0.05, 0.10)),  # 0.20-0.28
    "nucleolus": CompartmentContrast("nucleic_acid", (0.13, 0.19)),  # 0.31-0.41
    "perinuclear_space": CompartmentContrast("protein", (0.02, 0.06)),  # 0.15-0.20
    "mitochondrion": CompartmentContrast("protein", (0.14, 0.22)),  # 0.30-0.40
    "vesicle": CompartmentContrast("protein", (0.02, 0.10)),  # 0.15-0.25
    "endosome": CompartmentContrast("protein", (0.06, 0.16)),  # 0.20-0.32
    "lysosome": CompartmentContrast("protein", (0.16, 0.32)),  # 0.32-0.52 (dense content)
    "lipid_droplet": CompartmentContrast("neutral_lipid", (0.45, 0.80)),  # 0.47-0.75
    "er": CompartmentContrast("protein", (0.05, 0.12)),  # 0.19-0.28
    "vacuole": CompartmentContrast("protein", (0.02, 0.10)),  # 0.15-0.25
    "cell_wall": CompartmentContrast("protein", (0.15, 0.25)),  # 0.31-0.44 (polysaccharide)
    "membrane": CompartmentContrast("phospholipid", (0.75, 0.95)),  # pure bilayer 0.75-0.92
}
