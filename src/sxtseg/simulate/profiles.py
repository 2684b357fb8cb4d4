"""Instrument profiles: beamline settings as data (``profiles/*.yaml``).

A profile says how a tilt series is recorded: photon energy, zone-plate
outermost zone width, voxel (detector pixel) size, tilt range and step, dose
and alignment error. The optics numbers follow
``shared/reference/sxt-physics.md``: wavelength λ = hc/E, numerical aperture
NA = λ/(2Δr), Rayleigh resolution 1.22·Δr, depth of focus DOF = 4Δr²/λ.

Built-in profiles: ``bessy-u41``, ``alba-mistral``, ``diamond-b24`` (the
beamlines of the paper's data) and ``lab-25nm`` (a generic lab-source-like
setting kept out of every training recipe, for fine-tuning tests); any other
YAML file with the same keys is a custom instrument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.config import from_mapping, load_yaml
from sxtseg.errors import InputError

__all__ = ["PROFILE_NAMES", "SimProfile", "load_profile"]

#: Names of the profiles shipped in ``sxtseg/simulate/profiles/``.
PROFILE_NAMES = ("bessy-u41", "alba-mistral", "diamond-b24", "lab-25nm")

#: Values of :attr:`SimProfile.export_dtype`.
EXPORT_DTYPES = ("float32", "uint8")

#: h·c in eV·nm.
_HC_EV_NM = 1239.84198


@dataclass(frozen=True)
class SimProfile:
    """One cryo-SXT instrument setting.

    Attributes
    ----------
    name, description : str
    energy_ev : float
        Photon energy in eV (water window, 284–543 eV).
    zone_plate_nm : float
        Outermost zone width Δr of the objective zone plate, nm.
    voxel_size_nm : float
        Voxel size of the simulation (= detector pixel in the sample plane), nm;
        the Z voxel size of the written volumes.
    tilt_min_deg, tilt_max_deg, tilt_step_deg : float
        Tilt range about Y, degrees.
    dose_photons : float
        Mean photons per detector pixel per projection in the flat field (I0).
    jitter_px : float
        Standard deviation of the residual alignment error per projection, pixels.
    sirt_iterations : int
        SIRT iterations of the reconstruction (30 as in the paper's IMOD processing).
    focus_offset_nm : float
        Position of the focal plane along the beam, relative to the rotation axis, nm.
    xy_bin : int
        Integer binning of the written volumes in Y and X (1 = isotropic). With
        b > 1 the scene is simulated at ``voxel_size_nm`` on (Z, b·Y, b·X) voxels
        and binned to the requested (Z, Y, X); the written voxel size is
        (v, b·v, b·v) (z, y, x), as in exports with XY coarser than Z.
    extra_ice_nm : float
        Ice (water-equivalent material) outside the simulated box along the beam at
        0° tilt, nm; it lengthens every ray by ``extra_ice_nm / cos θ`` and so only
        lowers the transmitted counts (more noise at high tilt); its known mean
        absorption is removed before reconstruction.
    export_dtype : {"float32", "uint8"}
        ``uint8``: the tomogram is written as 8 bits with dense = dark (inverted),
        scaled between the ``export_clip_percent`` and ``100 − export_clip_percent``
        percentiles (0 = min–max). Truth volumes are unchanged.
    export_clip_percent : float
        Percentile clip of the 8-bit export (0-10).
    """

    name: str = "custom"
    description: str = ""
    energy_ev: float = 510.0
    zone_plate_nm: float = 25.0
    voxel_size_nm: float = 9.8
    tilt_min_deg: float = -65.0
    tilt_max_deg: float = 65.0
    tilt_step_deg: float = 1.0
    dose_photons: float = 3000.0
    jitter_px: float = 0.3
    sirt_iterations: int = 30
    focus_offset_nm: float = 0.0
    xy_bin: int = 1
    extra_ice_nm: float = 0.0
    export_dtype: str = "float32"
    export_clip_percent: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "energy_ev": 100.0 <= self.energy_ev <= 2000.0,
            "zone_plate_nm": self.zone_plate_nm > 0,
            "voxel_size_nm": self.voxel_size_nm > 0,
            "tilt range": -90.0 <= self.tilt_min_deg < self.tilt_max_deg <= 90.0,
            "tilt_step_deg": self.tilt_step_deg > 0,
            "dose_photons": self.dose_photons > 0,
            "jitter_px": self.jitter_px >= 0,
            "sirt_iterations": self.sirt_iterations >= 1,
            "xy_bin": int(self.xy_bin) == self.xy_bin and 1 <= self.xy_bin <= 8,
            "extra_ice_nm": 0.0 <= self.extra_ice_nm <= 50000.0,
            "export_dtype": self.export_dtype in EXPORT_DTYPES,
            "export_clip_percent": 0.0 <= self.export_clip_percent <= 10.0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise InputError(f"profile {self.name!r}: invalid {', '.join(bad)}")

    @property
    def output_voxel_size(self) -> tuple[float, float, float]:
        """Voxel size (z, y, x) in nm of the written volumes."""
        v, b = float(self.voxel_size_nm), int(self.xy_bin)
        return (v, b * v, b * v)

    @property
    def wavelength_nm(self) -> float:
        """λ = hc/E in nm (510 eV: 2.431 nm)."""
        return _HC_EV_NM / self.energy_ev

    @property
    def numerical_aperture(self) -> float:
        """NA = λ/(2Δr)."""
        return self.wavelength_nm / (2.0 * self.zone_plate_nm)

    @property
    def resolution_nm(self) -> float:
        """Rayleigh lateral resolution 1.22·Δr in nm."""
        return 1.22 * self.zone_plate_nm

    @property
    def depth_of_focus_nm(self) -> float:
        """Depth of focus 4Δr²/λ in nm (25 nm zone plate at 510 eV: ≈1.03 µm)."""
        return 4.0 * self.zone_plate_nm**2 / self.wavelength_nm

    @property
    def psf_sigma_nm(self) -> float:
        """Gaussian σ (nm) of the in-focus PSF: Airy FWHM ≈ 1.03·Δr, σ = FWHM/2.355."""
        return 1.029 * self.zone_plate_nm / 2.3548

    def blur_sigma_nm(self, defocus_nm: Any) -> Any:
        """Gaussian σ (nm) of the PSF at a distance ``defocus_nm`` from the focal plane.

        In-focus σ₀ combined in quadrature with the geometric defocus disc
        (radius NA·|Δz|, σ = radius/2); at Δz = DOF/2 the blur has grown by ≈1.5×.
        """
        dz = np.abs(np.asarray(defocus_nm, dtype=np.float64))
        return np.sqrt(self.psf_sigma_nm**2 + (0.5 * self.numerical_aperture * dz) ** 2)

    def tilt_angles(self) -> np.ndarray:
        """Tilt angles in degrees, shape (n_angles,), from min to max inclusive."""
        n = math.floor((self.tilt_max_deg - self.tilt_min_deg) / self.tilt_step_deg + 1e-6)
        return self.tilt_min_deg + self.tilt_step_deg * np.arange(n + 1, dtype=np.float64)


def load_profile(profile: str | Path | SimProfile, **overrides: Any) -> SimProfile:
    """Load a built-in profile by name, a YAML file, or pass a SimProfile through.

    Parameters
    ----------
    profile : str, Path or SimProfile
        A name of :data:`PROFILE_NAMES` or a path to a YAML file.
    **overrides
        Settings replacing the profile's (``None`` values are ignored).

    Raises
    ------
    InputError
        Unknown name, unreadable file or invalid settings.
    """
    if isinstance(profile, SimProfile):
        if not overrides:
            return profile
        values: dict[str, Any] = dict(profile.__dict__)
    elif str(profile) in PROFILE_NAMES:
        text = resources.files("sxtseg.simulate").joinpath(f"profiles/{profile}.yaml")
        values = load_yaml(Path(str(text)))
    else:
        p = Path(profile)
        if p.suffix.lower() not in (".yaml", ".yml"):
            known = ", ".join(PROFILE_NAMES)
            raise InputError(f"unknown profile {str(profile)!r} (known: {known}, or a YAML file)")
        values = load_yaml(p)
        values.setdefault("name", p.stem)
    try:
        return from_mapping(SimProfile, values, **overrides)
    except TypeError as exc:
        raise InputError(f"profile {profile}: {exc}") from None
