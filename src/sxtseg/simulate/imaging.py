"""Image a phantom like a cryo-SXT microscope, and reconstruct it.

:func:`acquire`: tilt series about Y over the profile's range and step; zone-plate
blur growing with the distance from the focal plane (depth layers, see
:mod:`sxtseg.simulate.forward`); residual alignment jitter; Beer–Lambert
transmission ``I = I0·exp(−∫µ dl)`` with Poisson counts at the profile's dose I0
(rays also cross the profile's ``extra_ice_nm / cos θ`` of ice outside the box);
``−log(I/I0)``. :func:`reconstruct`: SIRT with the unblurred projector, as IMOD
would, over exactly the recorded angles (the missing wedge stays missing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from sxtseg.simulate.contrast import lac as material_lac
from sxtseg.simulate.forward import (
    TiltGeometry,
    blurred_projections,
    from_planes,
    layered_projector,
    to_planes,
)
from sxtseg.simulate.profiles import SimProfile
from sxtseg.simulate.reconstruct import default_threads, sirt

__all__ = ["TiltSeries", "acquire", "reconstruct"]


@dataclass
class TiltSeries:
    """A recorded tilt series.

    Attributes
    ----------
    projections : ndarray float32, shape (n_angles, X, Y)
        −log(I/I0) per detector pixel (X across the tilt axis, Y along it).
    angles_deg : ndarray, shape (n_angles,)
    geometry : TiltGeometry
    matrix : CSR
        The unblurred projector used for reconstruction.
    shape : (Z, Y, X)
        Shape of the imaged volume.
    """

    projections: np.ndarray
    angles_deg: np.ndarray
    geometry: TiltGeometry
    matrix: sp.csr_matrix
    shape: tuple[int, int, int]

    @property
    def stack(self) -> np.ndarray:
        """The projections as an image stack (n_angles, Y, X)."""
        return np.ascontiguousarray(self.projections.transpose(0, 2, 1))


def acquire(
    lac: np.ndarray,
    profile: SimProfile,
    *,
    rng: np.random.Generator,
    noise: bool = True,
    blur: bool = True,
    jitter: bool = True,
) -> TiltSeries:
    """Record a tilt series of an absorption volume.

    Parameters
    ----------
    lac : ndarray (Z, Y, X)
        Linear absorption coefficient in µm⁻¹ on the profile's voxel grid.
    profile : SimProfile
    rng : numpy Generator
        Jitter and photon noise.
    noise, blur, jitter : bool
        Switch the Poisson noise, the zone-plate blur, the alignment jitter.
    """
    nz, ny, nx = (int(s) for s in lac.shape)
    shape = (nz, ny, nx)
    v = profile.voxel_size_nm
    angles = profile.tilt_angles()
    geom = TiltGeometry(shape[0], shape[2], tuple(float(a) for a in angles), v)
    layer_nm = max(profile.depth_of_focus_nm / 5.0, 4.0 * v)
    proj = layered_projector(geom, layer_nm=layer_nm, focus_offset_nm=profile.focus_offset_nm)
    sig = profile.blur_sigma_nm(proj.defocus_nm) / v if blur else None
    p = blurred_projections(proj, to_planes(lac), sigma_px=sig, threads=default_threads())
    if jitter and profile.jitter_px > 0:
        shifts = rng.normal(0.0, profile.jitter_px, size=(len(angles), 2))
        for a in range(len(angles)):
            p[a] = ndimage.shift(p[a], shifts[a], order=1, mode="nearest")
    if noise:
        i0 = profile.dose_photons
        line = p.astype(np.float64)
        ice = None
        if profile.extra_ice_nm > 0:
            # ice outside the box: path extra_ice/cos(theta), known mean removed after -log
            path_um = profile.extra_ice_nm / 1000.0 / np.cos(np.radians(angles))
            ice = (material_lac("ice", profile.energy_ev) * path_um)[:, None, None]
            line = line + ice
        counts = rng.poisson(i0 * np.exp(-line))
        neglog = -np.log(np.maximum(counts, 0.5) / i0)
        if ice is not None:
            neglog -= ice
        p = neglog.astype(np.float32)
    matrix = proj.layers[0]
    for layer in proj.layers[1:]:
        matrix = matrix + layer
    return TiltSeries(p, angles, geom, matrix.tocsr(), shape)


def reconstruct(
    series: TiltSeries,
    *,
    iterations: int = 30,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """SIRT reconstruction, float32 (Z, Y, X) in µm⁻¹ (dense = high)."""
    g = series.geometry
    b = series.projections.reshape(g.n_rows, -1)
    planes = sirt(series.matrix, b, iterations=iterations, threads=threads, progress=progress)
    return from_planes(planes, series.shape)
