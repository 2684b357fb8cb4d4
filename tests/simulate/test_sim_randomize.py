"""Randomised instruments, XY binning, 8-bit export, extra ice, the lab-25nm profile."""

import json
from dataclasses import replace

import numpy as np
import pytest

from sxtseg.cli import main
from sxtseg.errors import InputError
from sxtseg.io import read_volume
from sxtseg.simulate import (
    PROFILE_NAMES,
    load_profile,
    randomize_profile,
    simulate,
    write_simulation,
)
from sxtseg.simulate.export import bin_mask, bin_mode, to_uint8
from sxtseg.simulate.imaging import acquire


def test_randomize_profile_ranges_and_reproducible():
    base = load_profile("bessy-u41")
    rng = np.random.default_rng(0)
    draws = [randomize_profile(base, rng) for _ in range(300)]
    again = randomize_profile(base, np.random.default_rng(0))
    assert again == draws[0]
    for p in draws:
        assert 8.0 <= p.voxel_size_nm <= 25.0 and p.xy_bin in (1, 2)
        assert 55.0 <= p.tilt_max_deg <= 70.0 and p.tilt_min_deg == -p.tilt_max_deg
        assert p.zone_plate_nm in (25.0, 40.0) and 1000 <= p.dose_photons <= 10000
        assert 0.1 <= p.jitter_px <= 0.8 and 0 <= p.extra_ice_nm <= 6000
        assert p.tilt_step_deg == base.tilt_step_deg
        if p.xy_bin == 2:
            assert p.voxel_size_nm <= 12.5
    aniso = np.mean([p.xy_bin == 2 for p in draws])
    to8 = np.mean([p.export_dtype == "uint8" for p in draws])
    assert 0.2 < aniso < 0.4 and 0.2 < to8 < 0.4
    assert len({p.voxel_size_nm for p in draws}) > 50
    assert {p.zone_plate_nm for p in draws} == {25.0, 40.0}


def test_binned_uint8_export_matches_isotropic_truth(tmp_path):
    base = replace(load_profile("bessy-u41"), tilt_step_deg=5.0, sirt_iterations=5)
    iso = simulate(base, shape=(16, 48, 64), seed=3, recipe="perinuclear")
    prof = replace(base, xy_bin=2, export_dtype="uint8", export_clip_percent=0.5)
    sim = simulate(prof, shape=(16, 24, 32), seed=3, recipe="perinuclear")
    assert sim.tomogram.shape == (16, 24, 32) and sim.tomogram.data.dtype == np.uint8
    assert sim.tomogram.voxel_size == (9.8, 19.6, 19.6)
    # same scene on the fine grid: truth binned by any, flat = membranes & ~visible
    np.testing.assert_array_equal(sim.membranes.data, bin_mask(iso.membranes.data, 2))
    vis = iso.membranes.data.astype(bool) & ~iso.flat.data.astype(bool)
    expect_flat = bin_mask(iso.membranes.data, 2) & ~bin_mask(vis, 2)
    np.testing.assert_array_equal(sim.flat.data.astype(bool), expect_flat)
    np.testing.assert_array_equal(sim.instances.data, bin_mode(iso.instances.data, 2))
    # dense = dark: the 8-bit tomogram anticorrelates with the true absorption
    corr = np.corrcoef(sim.tomogram.data.ravel().astype(float), sim.phantom.data.ravel())[0, 1]
    assert corr < -0.3
    write_simulation(sim, tmp_path / "a")
    for name in ("tomogram.mrc", "membranes.mrc", "flat.mrc", "instances.mrc"):
        vol = read_volume(tmp_path / "a" / name)
        assert vol.voxel_size == pytest.approx((9.8, 19.6, 19.6), rel=1e-5), name
    assert read_volume(tmp_path / "a" / "tomogram.mrc").dtype == np.uint8
    doc = json.loads((tmp_path / "a" / "simulation.json").read_text())
    assert doc["voxel_size_nm"] == [9.8, 19.6, 19.6] and doc["dense_high"] is False
    assert doc["simulated_shape"] == [16, 48, 64]


def test_export_helpers():
    a = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    u = to_uint8(a)
    assert u.dtype == np.uint8 and u.flat[0] == 255 and u.flat[-1] == 0
    lab = np.array([[[1, 1, 2, 2], [1, 3, 2, 0], [0, 0, 5, 5], [0, 4, 5, 6]]], np.uint16)
    np.testing.assert_array_equal(bin_mode(lab, 2), [[[1, 2], [0, 5]]])
    with pytest.raises(InputError):
        bin_mode(lab[:, :3], 2)


def test_extra_ice_adds_noise_at_high_tilt_not_bias():
    lac = np.full((6, 4, 24), 0.11, np.float32)
    base = replace(load_profile("bessy-u41"), tilt_step_deg=65.0, dose_photons=5000.0)

    def stats(prof):
        p = acquire(lac, prof, rng=np.random.default_rng(1), blur=False, jitter=False)
        return p.projections

    clean = acquire(lac, base, rng=np.random.default_rng(1), noise=False, blur=False).projections
    thin = stats(base) - clean
    thick = stats(replace(base, extra_ice_nm=6000.0)) - clean
    ratio_thin = thin[0].std() / thin[1].std()  # -65 deg vs 0 deg
    ratio_thick = thick[0].std() / thick[1].std()
    assert ratio_thick > 1.3 * ratio_thin
    assert abs(float(thick.mean())) < 0.02  # the known ice absorption is removed


def test_randomized_simulation_reproducible_and_cli(tmp_path, capsys):
    a = simulate("bessy-u41", shape=(12, 16, 16), seed=11, randomize=True)
    b = simulate("bessy-u41", shape=(12, 16, 16), seed=11, randomize=True)
    assert a.settings == b.settings and a.settings["randomized"] is True
    np.testing.assert_array_equal(a.tomogram.data, b.tomogram.data)
    assert a.profile.name == "bessy-u41-random"
    assert a.tomogram.shape == (12, 16, 16)
    v = a.profile.voxel_size_nm
    assert a.tomogram.voxel_size == (v, a.profile.xy_bin * v, a.profile.xy_bin * v)
    assert 0.8 <= a.recipe.contrast_scale <= 1.25
    others = {simulate("bessy-u41", shape=(8, 8, 8), seed=s, randomize=True).profile
              for s in (1, 2)}  # fmt: skip
    assert len(others) == 2
    out = tmp_path / "r"
    assert main(["simulate", str(out), "--shape", "12,16,16", "--seed", "11", "--randomize"]) == 0
    doc = json.loads((out / "simulation.json").read_text())
    assert doc == json.loads(json.dumps(a.settings))
    assert read_volume(out / "tomogram.mrc").voxel_size == pytest.approx(a.tomogram.voxel_size)


def test_lab_profile_is_listed_and_honest():
    assert "lab-25nm" in PROFILE_NAMES
    p = load_profile("lab-25nm")
    assert p.voxel_size_nm == 25.0 and p.zone_plate_nm == 40.0
    assert (p.tilt_min_deg, p.tilt_max_deg) == (-55.0, 55.0)
    assert p.dose_photons < min(load_profile(n).dose_photons for n in PROFILE_NAMES[:3])
    assert "not a specific instrument" in p.description
