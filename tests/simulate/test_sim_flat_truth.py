"""Flat vs visible membrane truth: normals from the signed distance, files, scenes."""

import math

import numpy as np

from sxtseg.io import read_volume
from sxtseg.simulate import make_phantom, simulate, write_simulation
from sxtseg.simulate.phantoms import Canvas, Grid, local_sdf
from sxtseg.simulate.shapes import Sphere, Tube

GRID = Grid((48, 48, 48), 10.0)
CENTER = np.array([235.0, 232.0, 238.0])


def _canvas(*shapes):
    c = Canvas(GRID, 0.11)
    for s in shapes:
        c.mark_truth(local_sdf(s, GRID, margin=30.0))
    return c


def test_sphere_flat_caps_at_poles_with_analytic_fraction():
    c = _canvas(Sphere(CENTER, 170.0))
    flat, truth = c.flat, c.truth
    assert truth.any() and not (flat & ~truth).any()
    # cap area with |n_z| >= cos 45 deg is 1 - cos 45 (~29 %) of the sphere
    assert abs(flat.sum() / truth.sum() - (1 - math.cos(math.pi / 4))) < 0.03
    z = np.nonzero(truth)[0] * GRID.voxel_size - CENTER[0]
    zf = np.nonzero(flat)[0] * GRID.voxel_size - CENTER[0]
    assert np.abs(zf).min() > 0.6 * 170.0 - 15.0  # flat voxels near the poles only
    equator = np.abs(z) < 40.0
    assert equator.any() and not flat[truth][equator].any()


def test_tube_with_inf_far_from_segments_and_overlaps():
    # a tube along X has side normals uniformly around X: about half flat; inf is guarded
    # (an L-shaped tube: its window holds +inf far from both segments)
    tube = Tube(np.array([[240.0, 100.0, 60.0], [240.0, 100.0, 420.0], [240.0, 400, 420]]), 70.0)
    assert np.isinf(local_sdf(tube, GRID, margin=30.0).d).any()
    c = _canvas(tube)
    frac = c.flat.sum() / c.truth.sum()
    assert 0.35 < frac < 0.6
    # a voxel marked by a flat and a visible surface is visible: a sphere whose
    # equator crosses the tube's flat top turns those voxels visible
    both = _canvas(tube, Sphere(np.array([240.0 + 70.0, 100.0, 240.0]), 60.0))
    assert (both.flat & c.truth).sum() < c.flat.sum()


def test_phantom_flat_subset_and_files(tmp_path):
    ph = make_phantom((24, 64, 64), voxel_size=12.0, seed=2, recipe="perinuclear")
    assert ph.flat.dtype == np.uint8 and set(np.unique(ph.flat)) <= {0, 1}
    assert ph.flat.any() and not (ph.flat.astype(bool) & ~ph.membranes.astype(bool)).any()
    assert ph.flat.sum() < ph.membranes.sum()
    sim = simulate("alba-mistral", shape=(16, 32, 32), seed=4, recipe="yeast")
    write_simulation(sim, tmp_path / "s", previews=False)
    flat = read_volume(tmp_path / "s" / "flat.mrc")
    mem = read_volume(tmp_path / "s" / "membranes.mrc")
    assert flat.dtype == np.uint8 and flat.voxel_size == mem.voxel_size
    np.testing.assert_array_equal(flat.data, sim.flat.data)
    assert not (flat.data.astype(bool) & ~mem.data.astype(bool)).any()
    assert set(np.unique(mem.data)) <= {0, 1}


def test_every_box_holds_cell_content():
    """Ice (outside every compartment, at the ice LAC) stays below half the box
    unless the recipe shows a free cell edge; a mid-height crop is all cell."""
    from sxtseg.simulate import RECIPES

    for shape, v in (((24, 64, 64), 9.8), ((24, 48, 48), 25.0)):
        for name, rec in RECIPES.items():
            for seed in range(4):
                ph = make_phantom(shape, voxel_size=v, seed=seed, recipe=name)
                ice = float(((ph.instances == 0) & (ph.lac < 0.13)).mean())
                assert ice < (0.95 if rec.open_field else 0.5), (name, seed, v, ice)
                if name == "perinuclear":
                    assert ice < 0.02, (seed, v, ice)
    for name in RECIPES:
        ph = make_phantom((32, 96, 96), voxel_size=20.0, seed=1, recipe=name)
        kinds = set(ph.objects["kind"]) - {"cell", "filopodium", "gold"}
        assert kinds, name
