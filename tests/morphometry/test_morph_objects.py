"""Objects from masks: outlines -> compartments, filled masks, watershed splits, size filters."""

import numpy as np
import pytest

from sxtseg.errors import InputError
from sxtseg.morphometry import (
    ObjectsConfig,
    enclosed_regions,
    filter_by_volume,
    objects_from_mask,
)

SP = (12.0, 8.0, 8.0)
SHAPE = (56, 90, 150)


def coords(shape=SHAPE, spacing=SP):
    return np.meshgrid(
        *[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)], indexing="ij"
    )


Z, Y, X = coords()


def ball(c, r):
    return (Z - c[0]) ** 2 + (Y - c[1]) ** 2 + (X - c[2]) ** 2 <= r * r


def shell(c, r, t=16.0):
    """A membrane of thickness t centred on the sphere of radius r."""
    return ball(c, r + t / 2) & ~ball(c, r - t / 2)


def sizes(labels):
    return np.bincount(labels.ravel())[1:]


def test_touching_filled_spheres_become_two():
    a, b = ball((330, 360, 300), 190), ball((330, 360, 660), 190)  # touching at one point
    labels = objects_from_mask(a | b, spacing=SP)
    assert labels.dtype == np.uint32
    assert labels.max() == 2
    # each object is (almost exactly) one ball
    for obj in (1, 2):
        part = labels == obj
        best = max((part & a).sum(), (part & b).sum())
        assert best / a.sum() == pytest.approx(1.0, abs=0.02)


def test_overlapping_spheres_split_at_the_neck_but_a_rod_stays_whole():
    a, b = ball((330, 360, 330), 190), ball((330, 360, 610), 190)  # 280 nm apart: a neck
    assert objects_from_mask(a | b, spacing=SP).max() == 2
    assert objects_from_mask(a | b, spacing=SP, config=ObjectsConfig(split=False)).max() == 1
    rod = (np.abs(Z - 330) <= 70) & (np.abs(Y - 360) <= 70) & (np.abs(X - 600) <= 450)
    assert objects_from_mask(rod, spacing=SP).max() == 1


def test_touching_outlined_spheres_become_two_filled_compartments():
    c1, c2 = (330, 360, 300), (330, 360, 660)
    labels = objects_from_mask(shell(c1, 190) | shell(c2, 190), spacing=SP)
    assert labels.max() == 2
    got = sorted(sizes(labels))
    want = sorted([ball(c1, 190).sum(), ball(c2, 190).sum()])
    assert got == pytest.approx(want, rel=0.02)


def test_nested_outlines_give_cell_and_organelles():
    def ellipsoid(a, b, c):
        return (Z - 330) ** 2 / a**2 + (Y - 360) ** 2 / b**2 + (X - 600) ** 2 / c**2 <= 1

    cell = ellipsoid(302, 332, 552)  # the membrane's mid-surface
    outer, inner = ellipsoid(310, 340, 560), ellipsoid(294, 324, 544)
    org1, org2 = (330, 360, 380), (330, 360, 820)
    mask = (outer & ~inner) | shell(org1, 120) | shell(org2, 100)
    labels = objects_from_mask(mask, spacing=SP, config=ObjectsConfig(mode="outlines"))
    assert labels.max() == 3
    vols = sorted(sizes(labels))
    assert vols[0] == pytest.approx(ball(org2, 100).sum(), rel=0.03)
    assert vols[1] == pytest.approx(ball(org1, 120).sum(), rel=0.03)
    # the cytoplasm: the whole cell minus the organelles
    cyto = cell.sum() - ball(org1, 120).sum() - ball(org2, 100).sum()
    assert vols[2] == pytest.approx(cyto, rel=0.03)


def test_tube_open_in_z_is_filled_per_slice():
    r_out, r_in = 180.0, 160.0
    ring = (Y - 360) ** 2 + (X - 600) ** 2
    tube = (ring <= r_out**2) & (ring > r_in**2)  # open at z = 0 and z = Z-1
    enclosed = enclosed_regions(tube, fill_slices=False)
    assert not enclosed.any()
    labels = objects_from_mask(tube, spacing=SP)
    assert labels.max() == 1
    assert sizes(labels)[0] == pytest.approx((ring <= 170.0**2).sum(), rel=0.02)  # mid-surface


def test_filled_mask_is_kept_as_is():
    blob = ball((330, 360, 600), 250)
    labels = objects_from_mask(blob, spacing=SP)
    np.testing.assert_array_equal(labels > 0, blob)
    # an internal hole is filled
    holed = blob & ~ball((330, 360, 600), 20)
    assert np.array_equal(objects_from_mask(holed, spacing=SP) > 0, blob)


def test_connectivity_ranks_and_neighbour_counts():
    mask = np.zeros((5, 5, 5), bool)
    mask[0, 0, 0] = mask[1, 1, 1] = True  # corner neighbours
    mask[3, 3, 3] = mask[4, 4, 3] = True  # edge neighbours
    counts = {}
    for c in (1, 2, 3, 6, 18, 26):
        cfg = ObjectsConfig(mode="filled", connectivity=c)
        assert cfg.connectivity in (1, 2, 3)
        counts[c] = objects_from_mask(mask, spacing=10.0, config=cfg).max()
    assert counts == {1: 4, 6: 4, 2: 3, 18: 3, 3: 2, 26: 2}
    assert ObjectsConfig().connectivity == 1
    assert ObjectsConfig(connectivity=26) == ObjectsConfig(connectivity=3)
    # auto mode: two specks are thinner than a membrane, so not solid objects
    assert objects_from_mask(mask, spacing=10.0).max() == 0


def test_volume_filters_in_nm3():
    small, big = ball((330, 360, 300), 60), ball((330, 360, 700), 150)
    mask = small | big
    vox = SP[0] * SP[1] * SP[2]
    v_small, v_big = small.sum() * vox, big.sum() * vox
    cfg = ObjectsConfig(min_volume_nm3=(v_small + v_big) / 2)
    labels = objects_from_mask(mask, spacing=SP, config=cfg)
    assert labels.max() == 1
    assert np.array_equal(labels > 0, big)
    cfg = ObjectsConfig(max_volume_nm3=(v_small + v_big) / 2)
    assert np.array_equal(objects_from_mask(mask, spacing=SP, config=cfg) > 0, small)
    inst = np.where(small, 3, np.where(big, 8, 0)).astype(np.uint16)
    filter_by_volume(inst, spacing=SP, min_volume_nm3=v_small + 1)
    assert set(np.unique(inst)) == {0, 8}


def test_empty_mask_and_bad_config():
    assert objects_from_mask(np.zeros((3, 4, 5)), spacing=1.0).max() == 0
    for bad in (0, 4, 8, True, 1.5):
        with pytest.raises(InputError, match="connectivity"):
            ObjectsConfig(connectivity=bad)
    with pytest.raises(ValueError):
        ObjectsConfig(mode="membranes")
    with pytest.raises(ValueError):
        objects_from_mask(np.zeros((4, 5)), spacing=1.0)


def test_filopodia_are_cut_off_the_cell_body():
    """A body with three 130 nm protrusions: opening by a 110 nm ball separates them."""
    sp = (10.0, 10.0, 10.0)
    z, y, x = coords((60, 120, 120), sp)
    body = (z - 300) ** 2 + (y - 600) ** 2 + (x - 600) ** 2 <= 330**2
    r = 65.0
    tubes = [
        ((y - 600) ** 2 + (z - 300) ** 2 <= r * r) & (x > 600) & (x < 1150),  # along +x
        ((x - 600) ** 2 + (z - 300) ** 2 <= r * r) & (y > 600) & (y < 1150),  # along +y
        ((y - 520) ** 2 + (z - 300) ** 2 <= r * r) & (x < 600) & (x > 40),  # along -x
    ]
    mask = body | tubes[0] | tubes[1] | tubes[2]
    whole = objects_from_mask(mask, spacing=sp, config=ObjectsConfig(mode="filled"))
    assert whole.max() == 1  # one object without the option
    cfg = ObjectsConfig(mode="filled", protrusion_radius_nm=110.0)
    labels = objects_from_mask(mask, spacing=sp, config=cfg)
    assert labels.max() == 4
    body_id = int(np.argmax(sizes(labels))) + 1
    assert sizes(labels)[body_id - 1] == pytest.approx(body.sum(), rel=0.05)
    found = set()
    for tube in tubes:
        free = tube & ~body
        ids = set(np.unique(labels[free]).tolist()) - {0, body_id}
        assert len(ids) == 1  # each protrusion is one object (its base stays with the body)
        (obj,) = ids
        found.add(obj)
        assert (labels == obj).sum() == pytest.approx(free.sum(), rel=0.15)
    assert len(found) == 3


def test_a_shell_without_its_flat_caps_is_an_object_closed_in_slices() -> None:
    """The missing wedge hides an organelle's caps: closed in XY slices, open in 3D."""
    from sxtseg.morphometry import objects_from_mask
    from sxtseg.morphometry.config import ObjectsConfig

    z, y, x = np.mgrid[:40, :64, :64].astype(float)
    dz, dy, dx = z - 20, y - 32, x - 32
    r = np.sqrt(dz**2 + dy**2 + dx**2)
    shell = (r > 12) & (r < 14.5)
    visible = shell & (np.abs(dz) < 0.7071 * r)  # normal more than 45 degrees from Z
    lumen = r < 12
    open_3d = objects_from_mask(visible, spacing=10.0, config=ObjectsConfig(in_slices=False))
    assert open_3d.max() == 0  # the lumen leaks through the missing caps
    labels = objects_from_mask(visible, spacing=10.0, config=ObjectsConfig(in_slices=True))
    assert labels.max() == 1
    # the object holds the lumen of every slice whose contour is closed (not the cap slices)
    inside = labels > 0
    middle = np.abs(z - 20) <= 7
    assert inside[lumen & middle].mean() > 0.99
    assert not inside[np.abs(z - 20) > 12].any()
