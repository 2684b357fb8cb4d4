"""Projector / back-projector and SIRT: adjointness, missing wedge."""

import numpy as np
import pytest

from sxtseg.simulate.forward import (
    TiltGeometry,
    from_planes,
    layered_projector,
    projection_matrix,
    to_planes,
)
from sxtseg.simulate.reconstruct import sirt


def test_projector_and_backprojector_are_adjoint():
    geom = TiltGeometry(20, 36, tuple(np.arange(-65.0, 66.0, 5.0)), 10.0)
    a = projection_matrix(geom)
    rng = np.random.default_rng(0)
    x = rng.random((20 * 36, 3), dtype=np.float32)
    y = rng.random((geom.n_rows, 3), dtype=np.float32)
    lhs = float(np.sum((a @ x).astype(np.float64) * y))
    rhs = float(np.sum(x.astype(np.float64) * (a.T @ y)))
    assert lhs == pytest.approx(rhs, rel=1e-5)


def test_line_integrals_in_physical_units_and_layers_sum_to_projector():
    geom = TiltGeometry(30, 40, (0.0, 30.0), 10.0)
    a = projection_matrix(geom)
    ones = np.ones((30 * 40, 1), dtype=np.float32) * 0.2  # 0.2 per µm
    p = (a @ ones).reshape(2, 40)
    # at 0°, each ray crosses 30 voxels of 10 nm = 0.3 µm
    np.testing.assert_allclose(p[0], 0.2 * 0.3, rtol=1e-5)
    lp = layered_projector(geom, layer_nm=60.0)
    total = sum(lp.layers[1:], lp.layers[0])
    assert abs(total - a).max() < 1e-7
    assert len(lp.layers) > 2


def _phantom(n=48):
    z, x = np.mgrid[0:n, 0:n] - (n - 1) / 2
    img = np.zeros((n, n), np.float32)
    img[(z / 12) ** 2 + (x / 18) ** 2 < 1] = 0.3
    img[(z - 4) ** 2 + (x + 6) ** 2 < 16] = 0.8
    img[(np.abs(z + 8) < 1.5) & (np.abs(x) < 14)] += 0.4  # a horizontal sheet
    return img


def _recon(img, lo, hi, iterations=150):
    n = img.shape[0]
    geom = TiltGeometry(n, n, tuple(np.arange(lo, hi + 0.1, 2.0)), 10.0)
    a = projection_matrix(geom)
    vol = img[:, None, :]
    b = a @ to_planes(vol)
    return from_planes(sirt(a, b, iterations=iterations, threads=1), vol.shape)[:, 0, :]


def _wedge_fraction(img):
    f = np.abs(np.fft.fftshift(np.fft.fft2(img - img.mean()))) ** 2
    n = img.shape[0]
    kz, kx = np.mgrid[0:n, 0:n] - n // 2
    ang = np.degrees(np.arctan2(np.abs(kz), np.abs(kx)))  # 90° = along the beam (kz)
    r = np.hypot(kz, kx)
    ring = (r > 2) & (r < n // 2)
    return f[ring & (ang > 72)].sum() / f[ring].sum()


def test_full_range_recovers_phantom_and_limited_range_shows_the_wedge():
    img = _phantom()
    full = _recon(img, -90.0, 88.0)
    lim = _recon(img, -60.0, 60.0)
    err_full = np.abs(full - img).mean() / img.mean()
    err_lim = np.abs(lim - img).mean() / img.mean()
    assert err_full < 0.15
    assert err_lim > 1.5 * err_full
    # the Fourier transform of the limited-range XZ slice has an empty wedge around kz
    assert _wedge_fraction(lim) < 0.3 * _wedge_fraction(img)
    assert _wedge_fraction(full) > 0.5 * _wedge_fraction(img)
    # elongation along Z: the small dense disc spreads further in z than in x
    prof_z = lim[:, 24 - 6]
    prof_x = lim[24 + 4, :]
    wz = (prof_z > 0.5 * prof_z.max()).sum()
    wx = (prof_x > 0.5 * prof_x.max()).sum()
    assert wz > wx
