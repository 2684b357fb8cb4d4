"""Defaults of the surface stage: one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass

from sxtseg.errors import InputError

__all__ = ["MeshConfig"]


@dataclass(frozen=True)
class MeshConfig:
    """How object surfaces are made (:func:`sxtseg.mesh.mesh_objects`).

    Attributes
    ----------
    smooth_iterations : int
        Taubin smoothing (λ, μ) pairs; 0 = the raw marching-cubes staircase.
        Taubin smoothing is volume-preserving to first order (< 1 % volume
        change on the shapes in the tests) and brings areas within ~2 % of the
        smooth shape the voxels sample.
    smooth_lambda, smooth_mu : float
        The Taubin shrink and inflate factors (μ is applied as −μ).
    target_faces : int or None
        Decimate each object to at most this many faces (quadric decimation,
        needs the ``fast-simplification`` package); None keeps every face.
    step_size : int
        Marching-cubes step in voxels (> 1: coarser, faster meshes for huge
        objects).
    pad : int
        Zero voxels added around each object's bounding box, so surfaces of
        objects cut by the volume edge close.
    repair : bool
        Merge duplicate vertices, drop degenerate faces, fix winding and fill
        holes where the mesh is not watertight.
    """

    smooth_iterations: int = 15
    smooth_lambda: float = 0.5
    smooth_mu: float = 0.53
    target_faces: int | None = None
    step_size: int = 1
    pad: int = 1
    repair: bool = True

    def __post_init__(self) -> None:
        """Check every value; a bad one is an :class:`~sxtseg.errors.InputError` (exit 2)."""
        checks = [
            (self.smooth_iterations >= 0, "smooth_iterations must be >= 0"),
            (0 < self.smooth_lambda < 1, "smooth_lambda must lie in (0, 1)"),
            (0 < self.smooth_mu < 1, "smooth_mu must lie in (0, 1)"),
            (self.target_faces is None or self.target_faces >= 4, "target_faces must be >= 4"),
            (self.step_size >= 1, "step_size must be >= 1"),
            (self.pad >= 1, "pad must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                name = message.split()[0]
                raise InputError(f"mesh setting: {message}, got {getattr(self, name)!r}")
