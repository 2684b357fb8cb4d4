"""Imaging physics: noise falls with dose, profiles differ in blur and noise."""

import numpy as np
import pytest

from sxtseg.simulate import load_profile
from sxtseg.simulate.imaging import acquire, reconstruct


def _edge_volume(voxel_nm, width_nm=900.0, depth_nm=300.0):
    nx = round(width_nm / voxel_nm)
    nz = round(depth_nm / voxel_nm)
    lac = np.full((nz, 6, nx), 0.11, np.float32)
    lac[:, :, nx // 2 :] = 0.35
    return lac


def _noise_std(profile, seed=0):
    lac = _edge_volume(profile.voxel_size_nm)
    clean = reconstruct(
        acquire(lac, profile, rng=np.random.default_rng(seed), noise=False),
        iterations=30,
        threads=1,
    )
    noisy = reconstruct(
        acquire(lac, profile, rng=np.random.default_rng(seed)), iterations=30, threads=1
    )
    return float((noisy - clean).std())


def test_noise_falls_with_dose():
    stds = [_noise_std(load_profile("bessy-u41", dose_photons=d)) for d in (300.0, 3000.0, 30000.0)]
    assert stds[0] > 2.0 * stds[1] > 4.0 * stds[2]


def _edge_width_nm(profile, blur=True):
    lac = _edge_volume(profile.voxel_size_nm)
    vol = reconstruct(
        acquire(lac, profile, rng=np.random.default_rng(0), noise=False, jitter=False, blur=blur),
        iterations=30,
        threads=1,
    )
    prof = vol[vol.shape[0] // 2, 3, :].astype(np.float64)
    n = prof.size
    lo, hi = prof[: n // 4].mean(), prof[-n // 4 :].mean()
    x = np.arange(n) * profile.voxel_size_nm
    core = slice(n // 4, 3 * n // 4)
    xs, ys = x[core], (prof[core] - lo) / (hi - lo)
    x10 = np.interp(0.1, np.maximum.accumulate(ys), xs)
    x90 = np.interp(0.9, np.maximum.accumulate(ys), xs)
    return x90 - x10


def test_profiles_differ_in_edge_spread_and_noise():
    bessy, alba, diamond = (load_profile(p) for p in ("bessy-u41", "alba-mistral", "diamond-b24"))
    w_bessy, w_alba = _edge_width_nm(bessy), _edge_width_nm(alba)
    assert w_alba > 1.3 * w_bessy
    assert w_bessy > 1.2 * _edge_width_nm(bessy, blur=False)
    # the low-dose profile is noisier than the BESSY profile
    assert _noise_std(diamond) > 1.5 * _noise_std(bessy)


def test_profile_optics_numbers_match_the_physics_page():
    p = load_profile("bessy-u41")
    assert p.wavelength_nm == pytest.approx(2.431, abs=0.002)
    assert p.resolution_nm == pytest.approx(30.5)
    assert p.depth_of_focus_nm == pytest.approx(1028, rel=0.01)
    a = load_profile("alba-mistral")
    assert a.depth_of_focus_nm == pytest.approx(2685, rel=0.02)
    assert len(p.tilt_angles()) == 131 and p.tilt_angles()[0] == -65.0
    # blur grows with defocus
    assert p.blur_sigma_nm(2000.0) > 1.5 * p.blur_sigma_nm(0.0)
