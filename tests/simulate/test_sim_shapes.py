"""Analytic shapes: voxelised volumes and areas match the exact formulas."""

import numpy as np
import pytest
from skimage.measure import marching_cubes, mesh_surface_area

from sxtseg.simulate import get_recipe, make_phantom
from sxtseg.simulate.phantoms import Grid, layer_fraction, local_sdf
from sxtseg.simulate.shapes import Ellipsoid, Sphere, Tube, bent_path, random_rotation

V = 10.0
GRID = Grid((80, 80, 80), V)


def _measure(shape):
    f = local_sdf(shape, GRID, margin=3 * V)
    assert f is not None
    vol = float((f.d < 0).sum()) * V**3
    d = np.pad(f.d, 1, constant_values=1e3)
    verts, faces, _, _ = marching_cubes(d, level=0.0, spacing=(V, V, V))
    return vol, mesh_surface_area(verts, faces)


@pytest.mark.parametrize(
    "shape",
    [
        Sphere(np.array([400.0, 395.0, 402.0]), 180.0),
        Tube(np.array([[300.0, 300.0, 150.0], [420.0, 500.0, 620.0]]), 70.0),
        Tube(
            bent_path(
                np.random.default_rng(3),
                np.array([200.0, 200.0, 150.0]),
                np.array([0.3, 0.5, 1.0]),
                500.0,
                step=20.0,
                bend_deg_per_um=60.0,
            ),
            60.0,
        ),
        Ellipsoid(
            np.array([400.0, 400.0, 400.0]),
            (250.0, 160.0, 120.0),
            random_rotation(np.random.default_rng(1)),
        ),
    ],
    ids=["sphere", "capsule", "bent-tube", "ellipsoid"],
)
def test_voxelised_volume_and_area_within_2_percent(shape):
    vol, area = _measure(shape)
    assert vol == pytest.approx(shape.volume, rel=0.02)
    assert area == pytest.approx(shape.area, rel=0.02)


def test_bilayer_partial_volume_integrates_to_area_times_thickness():
    s = Sphere(np.array([400.0, 400.0, 400.0]), 200.0)
    f = local_sdf(s, GRID, margin=3 * V)
    frac = layer_fraction(f.d, thickness=5.0, voxel=V)
    assert frac.max() <= 1.0 and frac.min() >= 0.0
    assert float(frac.sum()) * V**3 == pytest.approx(s.area * 5.0, rel=0.03)


def test_phantom_objects_table_matches_voxels():
    rec = get_recipe(
        "periphery",
        filopodia=(0, 0),
        vesicle_density=(0, 0),
        er_tubule_density=(0, 0),
        er_sheet_density=(0, 0),
        mitochondria_density=(0, 0),
        endosome_density=(0, 0),
        lysosome_density=(6, 6),
        lysosome_diameter_nm=(250, 400),
        lipid_droplet_density=(6, 6),
        lipid_droplet_diameter_nm=(250, 400),
        cell_fraction=(0.9, 0.9),
        gold_per_um2=(0, 0),
    )
    ph = make_phantom((80, 160, 160), voxel_size=V, seed=5, recipe=rec)
    t = ph.objects
    assert {"id", "kind", "volume_nm3", "surface_nm2", "diameter_nm", "length_nm"} <= set(t)
    assert t["id"].is_unique and ph.instances.max() <= t["id"].max()
    ok = t[
        t["volume_nm3"].notna()
        & (t["clipped"] == False)  # noqa: E712
        & t["kind"].isin(["lysosome", "lipid_droplet"])
    ]
    assert len(ok) >= 3
    np.testing.assert_allclose(ok["voxel_volume_nm3"], ok["volume_nm3"], rtol=0.02)
    # membrane truth: a thin shell, present, 0/1
    assert 0.005 < ph.membranes.mean() < 0.3
    assert set(np.unique(ph.membranes)) <= {0, 1}
    # every compartment surface carries truth: voxels just inside each droplet are marked
    for oid in ok["id"]:
        inside = ph.instances == oid
        assert ph.membranes[inside].any()
