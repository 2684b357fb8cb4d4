"""Reader, writer and manifest of the napari plugin (no viewer needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sxtseg.io import read_volume, write_volume
from sxtseg.napari._layers import layer_voxel_size
from sxtseg.napari._reader import get_reader, read_mesh_folder
from sxtseg.napari._writer import write_labels
from sxtseg.types import Volume

pytest.importorskip("dask.array")


def _volume(shape: tuple[int, int, int] = (5, 12, 16)) -> np.ndarray:
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 7.0


@pytest.mark.parametrize("name", ["tomo.mrc", "tomo.tif", "tomo.zarr", "tomo.h5"])
def test_reader_gives_nm_scale_axes_and_lazy_data(tmp_path: Path, name: str) -> None:
    data = _volume()
    vs, origin = (20.0, 10.0, 12.5), (100.0, -50.0, 30.0)
    path = write_volume(tmp_path / name, Volume(data, vs, origin))
    reader = get_reader(str(path))
    assert reader is not None
    [(layer_data, kw, kind)] = reader(str(path))
    assert kind == "image" and kw["name"] == "tomo"
    assert kw["scale"] == pytest.approx(vs, rel=1e-5)
    assert kw["units"] == ("nm", "nm", "nm") and kw["axis_labels"] == ("z", "y", "x")
    assert type(layer_data).__module__.startswith("dask")  # lazy: nothing read yet
    assert layer_data.shape == data.shape
    np.testing.assert_allclose(np.asarray(layer_data[2]), data[2], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer_data[1:4, 3:7, ::2]), data[1:4, 3:7, ::2])
    if name.endswith(".mrc"):  # MRC stores the origin (Å)
        assert kw["translate"] == pytest.approx(origin, rel=1e-5)


def test_reader_mrc_and_tiff_known_voxel_sizes(tmp_path: Path) -> None:
    import mrcfile
    import tifffile

    data = _volume((4, 8, 8))
    with mrcfile.new(tmp_path / "a.mrc") as mrc:
        mrc.set_data(data)
        mrc.voxel_size = (155.0, 155.0, 310.0)  # x, y, z in Å
    tifffile.imwrite(tmp_path / "b.tif", data, imagej=True, resolution=(1 / 12.0, 1 / 12.0),
                     metadata={"spacing": 25.0, "unit": "nm", "axes": "ZYX"})  # fmt: skip
    [(_, kw_a, _)] = get_reader(str(tmp_path / "a.mrc"))(str(tmp_path / "a.mrc"))  # type: ignore[misc]
    [(_, kw_b, _)] = get_reader(str(tmp_path / "b.tif"))(str(tmp_path / "b.tif"))  # type: ignore[misc]
    assert kw_a["scale"] == pytest.approx((31.0, 15.5, 15.5))
    assert kw_b["scale"] == pytest.approx((25.0, 12.0, 12.0), rel=1e-4)


def test_reader_unknown_voxel_size_is_pixels_not_nm(tmp_path: Path) -> None:
    path = write_volume(tmp_path / "x.mrc", Volume(_volume(), None))
    [(_, kw, _)] = get_reader(str(path))(str(path))  # type: ignore[misc]
    assert kw["scale"] == (1.0, 1.0, 1.0) and "units" not in kw
    assert kw["metadata"]["sxtseg"]["voxel_size_nm"] is None


def test_reader_declines_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path / "empty")) is None
    assert get_reader(str(tmp_path / "missing.mrc")) is None


def _results_folder(tmp_path: Path, *, with_input: bool) -> tuple[Path, list]:
    from sxtseg.mesh import mesh_objects, write_surfaces

    vs, origin = (20.0, 10.0, 10.0), (0.0, 40.0, 0.0)
    inst = np.zeros((8, 24, 24), np.uint16)
    inst[2:6, 4:10, 5:15] = 1
    inst[1:7, 14:20, 14:20] = 2
    out = tmp_path / "run"
    out.mkdir()
    tomo = tmp_path / "tomo.mrc"
    if with_input:
        write_volume(tomo, Volume(_volume((8, 24, 24)), vs, origin))
    write_volume(out / "mask.mrc", Volume((inst > 0).astype(np.uint8), vs, origin))
    write_volume(out / "probabilities.mrc", Volume((inst > 0).astype(np.float32), vs, origin))
    write_volume(out / "instances.mrc", Volume(inst, vs, origin))
    meshes = mesh_objects(inst, spacing=vs, origin=origin)
    write_surfaces(meshes, out / "surfaces", formats=("ply",))
    outputs = {"mask": "mask.mrc", "probabilities": "probabilities.mrc",
               "instances": "instances.mrc", "surfaces": "surfaces"}  # fmt: skip
    (out / "summary.json").write_text(json.dumps({"input": str(tomo), "outputs": outputs}))
    return out, meshes


@pytest.mark.parametrize("with_input", [True, False])
def test_results_folder_opens_as_layers_in_nm(tmp_path: Path, with_input: bool) -> None:
    folder, meshes = _results_folder(tmp_path, with_input=with_input)
    reader = get_reader(str(folder))
    assert reader is not None
    layers = reader(str(folder))
    names = [kw["name"] for _, kw, _ in layers]
    expected = ["probabilities", "mask", "instances", "surfaces"]
    assert names == (["tomo", *expected] if with_input else expected)
    kinds = {kw["name"]: kind for _, kw, kind in layers}
    assert kinds["mask"] == kinds["instances"] == "labels" and kinds["surfaces"] == "surface"
    for _, kw, kind in layers:
        if kind != "surface":
            assert kw["scale"] == pytest.approx((20.0, 10.0, 10.0))
            assert kw["translate"] == pytest.approx((0.0, 40.0, 0.0))
    (verts, faces, values), kw, _ = next(lay for lay in layers if lay[2] == "surface")
    assert len(verts) == sum(len(m.vertices) for m in meshes)
    assert len(faces) == sum(len(m.faces) for m in meshes)
    assert set(np.unique(values)) == {1.0, 2.0}
    one = verts[values == 1]
    # object 1 spans z 2..6, y 4..10, x 5..15 voxels: napari columns are (z, y, x) nm
    assert one[:, 0].min() > 1 * 20 and one[:, 0].max() < 6 * 20
    assert one[:, 1].min() > 40 + 3 * 10 and one[:, 1].max() < 40 + 10 * 10
    assert one[:, 2].min() > 4 * 10 and one[:, 2].max() < 15 * 10
    np.testing.assert_allclose(one, meshes[0].vertices[:, ::-1], rtol=1e-5, atol=1e-3)
    assert kw["vertex_colors"].shape == (len(verts), 4)


def test_mesh_folder_without_surfaces_is_none(tmp_path: Path) -> None:
    assert read_mesh_folder(tmp_path) is None


@pytest.mark.parametrize("name", ["labels.mrc", "labels.tif", "labels.zarr"])
def test_writer_round_trips_labels_with_voxel_size(tmp_path: Path, name: str) -> None:
    labels = np.zeros((4, 10, 12), np.int32)
    labels[1:3, 2:8, 3:9] = 1
    labels[0, 0, 0] = 2
    meta = {"name": "painted", "scale": (30.0, 15.0, 15.0), "translate": (0.0, 0.0, 0.0),
            "metadata": {"sxtseg": {"voxel_size_nm": (30.0, 15.0, 15.0)}}}  # fmt: skip
    [written] = write_labels(str(tmp_path / name), labels, meta)
    back = read_volume(written)
    assert back.voxel_size == pytest.approx((30.0, 15.0, 15.0), rel=1e-5)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back.data, labels)


def test_writer_takes_nm_scale_and_never_invents_one(tmp_path: Path) -> None:
    labels = np.ones((2, 4, 4), np.uint16)
    [a] = write_labels(str(tmp_path / "a.mrc"), labels,
                       {"scale": (8.0, 4.0, 4.0), "units": ("nanometer",) * 3})  # fmt: skip
    [b] = write_labels(str(tmp_path / "b.mrc"), labels, {"scale": (1.0, 1.0, 1.0)})
    assert read_volume(a).voxel_size == pytest.approx((8.0, 4.0, 4.0))
    assert read_volume(b).voxel_size is None
    assert layer_voxel_size(type("L", (), {"metadata": {}, "scale": (2, 2, 2)})()) is None


def test_manifest_is_valid_and_registered() -> None:
    npe2 = pytest.importorskip("npe2")
    manifest = npe2.PluginManifest.from_distribution("sxtseg")
    assert manifest.name == "sxtseg"
    manifest.validate_imports()  # every python_name imports
    commands = {c.id for c in manifest.contributions.commands or []}
    assert {"sxtseg.get_reader", "sxtseg.write_labels", "sxtseg.segment_widget",
            "sxtseg.objects_widget", "sxtseg.finetune_widget",
            "sxtseg.sample_tomogram"} <= commands  # fmt: skip
    pm = npe2.PluginManager()
    pm.discover()
    assert pm.get_manifest("sxtseg").name == "sxtseg"  # what napari lists


def test_core_does_not_import_napari_or_qt() -> None:
    code = (
        "import sys, sxtseg, sxtseg.cli, sxtseg.io\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'magicgui', 'vispy'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
