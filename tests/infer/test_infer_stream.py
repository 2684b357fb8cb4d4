"""Streamed file segmentation equals the in-memory reference; failures leave nothing behind."""

import threading
import time

import numpy as np
import pytest

from sxtseg.errors import InputError
from sxtseg.infer import SegmentConfig, segment_array, segment_file
from sxtseg.infer.stream import run_pipeline
from sxtseg.io import read_volume, write_volume
from sxtseg.postprocess import PostprocessConfig, postprocess
from sxtseg.types import Volume

VS = (12.0, 9.8, 9.8)


@pytest.fixture(scope="module")
def tomo_file(tmp_path_factory, shells):
    tomo, _ = shells((10, 48, 56), seed=7)
    path = tmp_path_factory.mktemp("tomo") / "tomo.mrc"
    write_volume(path, Volume(tomo, VS, origin=(5.0, 6.0, 7.0)))
    return path, tomo


def test_streamed_equals_in_memory(tmp_path, trained_tiny, tomo_file):
    path, tomo = tomo_file
    cfg = SegmentConfig(batch_size=3, threshold=0.6, prob_dtype="float32")
    res = segment_file(path, tmp_path / "m.mrc", prob_path=tmp_path / "p.mrc",
                       model=trained_tiny, config=cfg)  # fmt: skip
    ref = segment_array(tomo, trained_tiny, config=cfg)
    prob = read_volume(tmp_path / "p.mrc")
    mask = read_volume(tmp_path / "m.mrc")
    np.testing.assert_allclose(prob.data, ref, atol=2e-5)
    assert mask.data.dtype == np.uint8
    decided = np.abs(ref - 0.6) > 1e-4
    assert (mask.data[decided] == (ref[decided] >= 0.6)).all()
    assert 0.0 < mask.data.mean() < 0.9  # both classes present: the comparison means something
    np.testing.assert_allclose(mask.voxel_size, VS, rtol=1e-5)
    np.testing.assert_allclose(prob.origin, (5.0, 6.0, 7.0), rtol=1e-5)
    assert res.shape == tomo.shape and res.voxel_size is not None
    assert res.foreground_fraction == pytest.approx(mask.data.mean())
    assert res.model_trained and res.slices_per_second > 0


def test_streamed_axes_all_and_encodings(tmp_path, trained_tiny, tomo_file):
    path, tomo = tomo_file
    cfg = SegmentConfig(axes="all", batch_size=4, prob_dtype="uint8")
    segment_file(path, tmp_path / "m.mrc", prob_path=tmp_path / "p.mrc", model=trained_tiny,
                 config=cfg)  # fmt: skip
    ref = segment_array(tomo, trained_tiny, config=cfg)
    p8 = read_volume(tmp_path / "p.mrc").data
    assert p8.dtype == np.uint8
    assert np.abs(p8 / 255.0 - ref).max() <= 0.5 / 255 + 1e-4
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # scratch gone
    cfg16 = SegmentConfig(prob_dtype="float16")
    segment_file(path, tmp_path / "m2.mrc", prob_path=tmp_path / "p2.mrc", model=trained_tiny,
                 config=cfg16)  # fmt: skip
    p16 = read_volume(tmp_path / "p2.mrc").data
    assert p16.dtype == np.float16
    np.testing.assert_allclose(p16, segment_array(tomo, trained_tiny, config=cfg16), atol=1e-3)


def test_postprocess_inside_segment_file(tmp_path, trained_tiny, tomo_file):
    path, tomo = tomo_file
    cfg = SegmentConfig(threshold=0.6)
    pp = PostprocessConfig(min_volume_nm3=20 * 12 * 9.8 * 9.8, border_nm=20)
    res = segment_file(path, tmp_path / "m.mrc", model=trained_tiny, config=cfg,
                       postprocess_config=pp)  # fmt: skip
    ref = postprocess(segment_array(tomo, trained_tiny, config=cfg) >= 0.6, spacing=VS, config=pp)
    got = read_volume(tmp_path / "m.mrc").data.astype(bool)
    assert res.postprocessed
    assert (got != ref).mean() < 1e-3
    assert not got[:, :3].any() and not got[:, :, -3:].any()


def test_interrupted_run_leaves_no_partial_output(tmp_path, trained_tiny, tomo_file):
    path, _ = tomo_file
    calls = []

    def stop_after_first(advance, total):
        calls.append(advance)
        raise KeyboardInterrupt

    for axes in ("xy", "all"):
        out = tmp_path / axes
        out.mkdir()
        with pytest.raises(KeyboardInterrupt):
            segment_file(path, out / "m.mrc", prob_path=out / "p.zarr", model=trained_tiny,
                         config=SegmentConfig(batch_size=2, axes=axes),
                         progress=stop_after_first)  # fmt: skip
        assert list(out.iterdir()) == []
    assert calls == [2, 2]
    assert not [t for t in threading.enumerate() if t.name.startswith("sxtseg-")]


def test_nan_and_existing_outputs_are_input_errors(tmp_path, trained_tiny, shells):
    tomo, _ = shells((6, 32, 32), seed=1)
    tomo[4, 3, 3] = np.nan
    bad = tmp_path / "bad.mrc"
    write_volume(bad, Volume(tomo, VS))
    with pytest.raises(InputError, match="NaN"):
        segment_file(bad, tmp_path / "m.mrc", prob_path=tmp_path / "p.mrc", model=trained_tiny,
                     config=SegmentConfig(batch_size=2))  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mrc"]
    (tmp_path / "m.mrc").write_bytes(b"x")
    good = tmp_path / "good.mrc"
    write_volume(good, Volume(np.nan_to_num(tomo), VS))
    with pytest.raises(InputError, match="exists"):
        segment_file(good, tmp_path / "m.mrc", model=trained_tiny)
    with pytest.raises(InputError, match="voxel size"):
        nov = tmp_path / "novs.mrc"
        write_volume(nov, Volume(np.nan_to_num(tomo), None))
        segment_file(nov, tmp_path / "m3.mrc", model=trained_tiny,
                     postprocess_config=PostprocessConfig(min_volume_nm3=10))  # fmt: skip


def test_parallel_normalisation_equals_serial(shells):
    from concurrent.futures import ThreadPoolExecutor

    from sxtseg.infer.stream import normalize_parallel
    from sxtseg.preprocess import normalize_slices

    tomo, _ = shells((5, 33, 47), seed=9)
    with ThreadPoolExecutor(2) as pool:
        for invert in (False, True):
            par = normalize_parallel(tomo, invert=invert, pool=pool)
            assert np.array_equal(par, normalize_slices(tomo, invert=invert))


def test_pipeline_holds_a_bounded_number_of_slabs():
    produced, consumed, alive = [0], [0], []

    def source():
        for i in range(40):
            produced[0] += 1
            alive.append(produced[0] - consumed[0])
            yield i, np.zeros((1, 4, 4))

    def sink(i, block):
        time.sleep(0.002)
        consumed[0] += 1

    run_pipeline(source(), lambda b: b + 1, sink, depth=2)
    assert consumed[0] == 40
    assert max(alive) <= 2 * 2 + 3


def test_pipeline_errors_reach_the_caller():
    def sink(i, block):
        if i == 3:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_pipeline(((i, np.zeros(1)) for i in range(50)), lambda b: b, sink, depth=1)

    def bad_source():
        yield 0, np.zeros(1)
        raise InputError("broken slice")

    with pytest.raises(InputError, match="broken"):
        run_pipeline(bad_source(), lambda b: b, lambda i, b: None)
