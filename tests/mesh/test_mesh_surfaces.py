"""Surfaces in nm: vertex frame, watertightness, decimation, export formats, previews."""

import math

import numpy as np
import pytest
import trimesh

from sxtseg.errors import InputError
from sxtseg.mesh import (
    MeshConfig,
    distinct_colors,
    mesh_objects,
    render_scene_png,
    slice_overlays_png,
    surface_of,
    write_surfaces,
)

SP = (12.0, 9.0, 8.0)  # z, y, x nm
ORIGIN = (100.0, 200.0, 300.0)  # z, y, x nm


def test_vertex_lies_at_voxel_index_times_voxel_size():
    labels = np.zeros((8, 9, 10), np.uint16)
    iz, iy, ix = 3, 5, 7
    labels[iz, iy, ix] = 4
    (mesh,) = mesh_objects(
        labels, spacing=SP, origin=ORIGIN, config=MeshConfig(smooth_iterations=0)
    )
    assert mesh.id == 4
    centre_xyz = np.array([ix * SP[2] + ORIGIN[2], iy * SP[1] + ORIGIN[1], iz * SP[0] + ORIGIN[0]])
    # marching cubes at 0.5 puts one vertex half a voxel out along each axis direction
    offsets = mesh.vertices - centre_xyz
    half = np.array([SP[2], SP[1], SP[0]]) / 2
    assert len(mesh.vertices) == 6
    for off in offsets:
        axis = int(np.argmax(np.abs(off)))
        assert abs(off[axis]) == pytest.approx(half[axis])
        assert np.delete(off, axis) == pytest.approx([0.0, 0.0], abs=1e-9)
    np.testing.assert_allclose(mesh.vertices.mean(axis=0), centre_xyz, atol=1e-9)
    assert mesh.volume_nm3 > 0  # outward normals


def test_box_faces_lie_half_a_voxel_outside_the_voxel_centres():
    labels = np.zeros((10, 12, 14), np.uint8)
    labels[2:6, 3:9, 4:12] = 1
    (mesh,) = mesh_objects(labels, spacing=SP, config=MeshConfig(smooth_iterations=0))
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    np.testing.assert_allclose(lo, [(4 - 0.5) * 8, (3 - 0.5) * 9, (2 - 0.5) * 12])
    np.testing.assert_allclose(hi, [(11 + 0.5) * 8, (8 + 0.5) * 9, (5 + 0.5) * 12])


def test_smoothing_keeps_the_centroid_and_closes_the_surface():
    z, y, x = np.meshgrid(*[np.arange(n) * s for n, s in zip((40, 50, 60), SP)], indexing="ij")
    ball = (z - 240) ** 2 + (y - 225) ** 2 + (x - 236) ** 2 <= 150**2
    mesh = surface_of(ball, spacing=SP, origin=ORIGIN)
    assert mesh.is_watertight
    centre = np.array([236 + ORIGIN[2], 225 + ORIGIN[1], 240 + ORIGIN[0]])
    np.testing.assert_allclose(mesh.vertices.mean(axis=0), centre, atol=2.0)
    assert mesh.area_nm2 == pytest.approx(4 * math.pi * 150**2, rel=0.02)
    assert mesh.volume_nm3 == pytest.approx(4 / 3 * math.pi * 150**3, rel=0.02)


def test_decimation_to_a_face_budget():
    pytest.importorskip("fast_simplification")
    z, y, x = np.meshgrid(*[np.arange(n) * s for n, s in zip((40, 50, 60), SP)], indexing="ij")
    ball = (z - 240) ** 2 + (y - 225) ** 2 + (x - 236) ** 2 <= 150**2
    full = surface_of(ball, spacing=SP)
    small = surface_of(ball, spacing=SP, config=MeshConfig(target_faces=1000))
    assert len(full.faces) > 5000
    assert len(small.faces) <= 1000
    assert small.area_nm2 == pytest.approx(full.area_nm2, rel=0.03)
    assert small.volume_nm3 == pytest.approx(full.volume_nm3, rel=0.03)


def test_object_cut_by_the_volume_edge_is_closed():
    labels = np.zeros((6, 7, 8), np.uint8)
    labels[0:3, 0:4, 2:8] = 1  # touches three faces
    (mesh,) = mesh_objects(labels, spacing=SP)
    assert mesh.is_watertight
    assert mesh.volume_nm3 == pytest.approx(3 * 4 * 6 * np.prod(SP), rel=0.08)


def test_distinct_colors():
    cols = distinct_colors(range(1, 41))
    assert cols.shape == (40, 4)
    assert len({tuple(c) for c in cols}) == 40
    np.testing.assert_array_equal(distinct_colors([7]), distinct_colors([7]))


def _two_objects():
    labels = np.zeros((12, 16, 20), np.uint16)
    labels[2:7, 3:9, 2:8] = 1
    labels[4:10, 8:14, 11:18] = 2
    return labels


def test_write_surfaces_all_formats_and_combined_glb(tmp_path):
    meshes = mesh_objects(_two_objects(), spacing=SP, origin=ORIGIN)
    out = tmp_path / "surf"
    files = write_surfaces(meshes, out, formats="ply,obj,stl,glb")
    assert files.out_dir == out
    assert sorted(p.name for p in files.objects) == sorted(
        f"object_0000{i}.{f}" for i in (1, 2) for f in ("ply", "obj", "stl", "glb")
    )
    for p in files.objects + files.scene + [files.manifest]:
        assert p.is_file() and p.stat().st_size > 0
    # per-object PLY round-trips in nm
    ply = trimesh.load(out / "objects" / "object_00002.ply", process=False)
    np.testing.assert_allclose(ply.vertices, meshes[1].vertices, rtol=1e-6)
    scene = trimesh.load(out / "scene.glb")
    assert isinstance(scene, trimesh.Scene)
    assert len(scene.geometry) == 2
    bounds = scene.bounds
    allv = np.vstack([m.vertices for m in meshes])
    np.testing.assert_allclose(bounds, [allv.min(0), allv.max(0)], rtol=1e-5)
    colours = {tuple(g.visual.main_color[:3]) for g in scene.geometry.values()}
    assert len(colours) == 2
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_write_surfaces_refuses_to_clobber(tmp_path):
    meshes = mesh_objects(_two_objects(), spacing=SP)
    out = tmp_path / "surf"
    write_surfaces(meshes, out, formats="ply")
    with pytest.raises(InputError):
        write_surfaces(meshes[:1], out, formats="ply")
    files = write_surfaces(meshes[:1], out, formats="stl", overwrite=True)
    assert sorted(p.name for p in (out / "objects").iterdir()) == ["object_00001.stl"]
    assert files.scene == [out / "scene.stl"]
    with pytest.raises(InputError):
        write_surfaces(meshes, tmp_path / "x", formats="ply,vrml")


def test_previews(tmp_path):
    import matplotlib.image as mpimg

    labels = _two_objects()
    meshes = mesh_objects(labels, spacing=SP)
    p = render_scene_png(meshes, tmp_path / "scene.png")
    img = mpimg.imread(p)
    assert img.ndim == 3 and img.shape[0] > 300
    assert img[..., :3].std() > 0.01  # something was drawn
    tomo = np.random.default_rng(0).normal(size=labels.shape).astype(np.float32)
    q = slice_overlays_png(tomo, labels, tmp_path / "slices.png", spacing=SP, index=(5, 10, 14))
    assert mpimg.imread(q).shape[1] > mpimg.imread(q).shape[0]
    with pytest.raises(ValueError):
        slice_overlays_png(tomo[:3], labels, tmp_path / "bad.png", spacing=SP)
