"""Measurements of voxelised analytic shapes at anisotropic voxel sizes: exact answers."""

import math

import numpy as np
import pytest

from sxtseg.morphometry import MeasureConfig, cross_sections, measure_objects

SP = (12.0, 8.0, 8.0)  # z, y, x nm


def grid(half_extent_nm, spacing):
    """Centred coordinate grids (z, y, x) in nm covering +-half_extent plus a margin."""
    sp = np.asarray(spacing)
    shape = (np.ceil(2 * np.asarray(half_extent_nm) / sp) + 6).astype(int)
    centre = (shape - 1) / 2 * sp
    return np.meshgrid(
        *[np.arange(n) * s - c for n, s, c in zip(shape, sp, centre, strict=True)],
        indexing="ij",
    )


def ellipsoid_area(a, b, c):
    p = 1.6075  # Knud Thomsen's formula, relative error < 1.1 %; exact for spheres
    return 4 * math.pi * (((a * b) ** p + (a * c) ** p + (b * c) ** p) / 3) ** (1 / p)


def capsule(r, length):
    """Volume, area and full equal-moment ellipsoid axes of a capsule along x."""
    vc, vs = math.pi * r * r * length, 4 / 3 * math.pi * r**3
    vol = vc + vs
    area = 2 * math.pi * r * length + 4 * math.pi * r * r
    caps = 2 * math.pi * (length**2 * r**3 / 6 + length * r**4 / 4 + 2 * r**5 / 15)
    var_axial = (math.pi * r * r * length**3 / 12 + caps) / vol
    var_radial = (vc * r * r / 4 + vs * r * r / 5) / vol
    return vol, area, (2 * math.sqrt(5 * var_axial), 2 * math.sqrt(5 * var_radial))


def measure_one(mask, spacing=SP, **kw):
    table = measure_objects(mask.astype(np.uint8), spacing=spacing, **kw)
    assert len(table) == 1
    return table.iloc[0]


def check(row, volume, area, axes, *, vtol=0.02, atol=0.02, axtol=0.03):
    assert row.mesh_volume_nm3 == pytest.approx(volume, rel=vtol)
    assert row.volume_nm3 == pytest.approx(volume, rel=vtol)
    assert row.surface_nm2 == pytest.approx(area, rel=atol)
    got = [row.axis_major_nm, row.axis_second_nm, row.axis_minor_nm]
    assert got == pytest.approx(sorted(axes, reverse=True), rel=axtol)
    assert bool(row.mesh_watertight)


def test_sphere():
    r = 200.0
    z, y, x = grid((r, r, r), SP)
    row = measure_one(z**2 + y**2 + x**2 <= r * r)
    check(row, 4 / 3 * math.pi * r**3, 4 * math.pi * r * r, (2 * r,) * 3)
    assert row.sphericity == pytest.approx(1.0, abs=0.03)
    assert row.equivalent_diameter_nm == pytest.approx(2 * r, rel=0.01)
    assert row.feret_max_nm == pytest.approx(2 * r, rel=0.03)
    assert row.surface_to_volume_per_um == pytest.approx(1000 * 3 / r, rel=0.03)
    assert not row.touches_border


def test_ellipsoid_axes_along_z_y_x():
    a, b, c = 150.0, 320.0, 220.0  # z, y, x semi-axes
    z, y, x = grid((a, b, c), SP)
    row = measure_one((z / a) ** 2 + (y / b) ** 2 + (x / c) ** 2 <= 1)
    check(row, 4 / 3 * math.pi * a * b * c, ellipsoid_area(a, b, c), (2 * a, 2 * b, 2 * c))
    # the major axis (2b) points along y
    assert abs(row.axis_major_dir_y) == pytest.approx(1.0, abs=0.01)
    assert row.feret_max_nm == pytest.approx(2 * b, rel=0.03)


def test_capped_cylinder():
    r, length = 150.0, 900.0
    z, y, x = grid((r, r, length / 2 + r), SP)
    xc = np.clip(x, -length / 2, length / 2)
    row = measure_one(z**2 + y**2 + (x - xc) ** 2 <= r * r)
    vol, area, (ax_long, ax_short) = capsule(r, length)
    check(row, vol, area, (ax_long, ax_short, ax_short))
    assert row.feret_max_nm == pytest.approx(length + 2 * r, rel=0.02)
    assert abs(row.axis_major_dir_x) == pytest.approx(1.0, abs=0.01)


def test_filopodium_cylinder_surface_to_volume():
    """d = 132 nm at 9.8 nm voxels: S/V within 10 % of 4/d + 2/L (paper: 30.2 µm⁻¹)."""
    d, length, sp = 132.0, 1200.0, (9.8, 9.8, 9.8)
    z, y, x = grid((d / 2, d / 2, length / 2), sp)
    mask = (z**2 + y**2 <= (d / 2) ** 2) & (np.abs(x) <= length / 2)
    row = measure_one(mask, spacing=sp)
    expected = 1000 * (4 / d + 2 / length)  # µm⁻¹
    assert row.surface_to_volume_per_um == pytest.approx(expected, rel=0.10)
    assert row.axis_major_nm > 5 * row.axis_second_nm


def test_cross_sections_of_a_z_cylinder():
    d, h, sp = 132.0, 600.0, (9.8, 9.8, 9.8)
    z, y, x = grid((h / 2, d / 2, d / 2), sp)
    mask = (y**2 + x**2 <= (d / 2) ** 2) & (np.abs(z) <= h / 2)
    st = cross_sections(mask, spacing=sp)
    assert st.count == int(mask.any(axis=(1, 2)).sum())
    assert st.axis_first_mean_nm == pytest.approx(d, rel=0.05)
    assert st.axis_second_mean_nm == pytest.approx(d, rel=0.05)
    assert st.perimeter_mean_nm == pytest.approx(math.pi * d, rel=0.04)
    assert st.axis_first_sd_nm == pytest.approx(0.0, abs=1e-6)  # every slice is identical


def test_cross_section_of_an_anisotropic_rectangle():
    """Pixels 8 x 10 nm: a 10 x 20 pixel rectangle is 80 x 200 nm."""
    mask = np.zeros((1, 30, 40), bool)
    mask[0, 5:15, 10:30] = True
    st = cross_sections(mask, spacing=(5.0, 8.0, 10.0))
    # the equal-moment ellipse of a w x h rectangle has axes w * 4 / sqrt(12)
    assert st.axis_first_mean_nm == pytest.approx(200 * 4 / math.sqrt(12), rel=1e-6)
    assert st.axis_second_mean_nm == pytest.approx(80 * 4 / math.sqrt(12), rel=1e-6)
    assert st.perimeter_mean_nm == pytest.approx(2 * (200 + 80), rel=0.03)


def test_table_columns_units_and_origin():
    mask = np.zeros((10, 12, 14), np.uint16)
    mask[0:3, 2:5, 3:7] = 7  # touches z = 0
    mask[5:8, 6:9, 8:11] = 9
    table = measure_objects(mask, spacing=(10.0, 5.0, 4.0), origin=(1000.0, 2000.0, 3000.0))
    assert list(table.id) == [7, 9]
    assert list(table.voxels) == [36, 27]
    assert table.volume_nm3.tolist() == pytest.approx([36 * 200.0, 27 * 200.0])
    assert list(table.touches_border) == [True, False]
    assert table.centroid_z_nm.tolist() == pytest.approx([1000 + 10.0, 1000 + 60.0])
    assert table.centroid_y_nm.tolist() == pytest.approx([2000 + 15.0, 2000 + 35.0])
    assert table.centroid_x_nm.tolist() == pytest.approx([3000 + 18.0, 3000 + 36.0])
    for col in (
        "volume_nm3",
        "surface_nm2",
        "surface_to_volume_per_um",
        "feret_max_nm",
        "section_perimeter_mean_nm",
    ):
        assert col in table.columns


def test_empty_volume_gives_empty_table():
    table = measure_objects(np.zeros((4, 5, 6), np.uint8), spacing=10.0)
    assert len(table) == 0
    assert "surface_to_volume_per_um" in table.columns


def test_smoothing_off_overestimates_area():
    r = 200.0
    z, y, x = grid((r, r, r), SP)
    mask = z**2 + y**2 + x**2 <= r * r
    raw = measure_one(mask, config=MeasureConfig(smooth_iterations=0))
    assert raw.surface_nm2 > 1.05 * 4 * math.pi * r * r  # the voxel staircase


def test_write_table_csv_and_parquet(tmp_path):
    import pandas as pd

    from sxtseg.errors import InputError
    from sxtseg.morphometry import write_table

    mask = np.zeros((6, 7, 8), np.uint8)
    mask[1:4, 2:5, 2:6] = 3
    table = measure_objects(mask, spacing=10.0)
    paths = write_table(table, tmp_path / "t.csv", parquet=False)
    assert paths == [tmp_path / "t.csv"]
    back = pd.read_csv(paths[0])
    assert list(back.columns) == list(table.columns)
    assert back.volume_nm3.iloc[0] == pytest.approx(36 * 1000.0)
    with pytest.raises(InputError):
        write_table(table, tmp_path / "t.csv")  # exists
    with pytest.raises(InputError):
        write_table(table, tmp_path / "t.xlsx")
    pytest.importorskip("pyarrow")
    paths = write_table(table, tmp_path / "u.csv")
    assert [p.name for p in paths] == ["u.csv", "u.parquet"]
    pq = pd.read_parquet(tmp_path / "u.parquet")
    assert pq.id.tolist() == [3] and bool(pq.touches_border.iloc[0]) is False
