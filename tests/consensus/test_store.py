"""PSSLStore: atomic label files, resumable per-rank lists, deterministic merge."""
import json
import os

import cv2
import numpy as np
import pytest

from paddleseg_pssl import pssl_format
from paddleseg_pssl.consensus.store import atomic_files
from paddleseg_pssl.consensus.store.pssl_store import PSSLStore
from tests.consensus import generate_fixtures as gf


def _label(seed=0, shape=(5, 7)):
    return np.random.default_rng(seed).integers(0, 10, size=shape).astype(np.uint8)


def test_write_publishes_png_and_lists_it(tmp_path):
    store = PSSLStore(tmp_path, fsync=False)
    lab = _label()
    store.write("train/a/x.jpg.png", "train/a/x.jpg", lab)
    back = cv2.imread(str(tmp_path / "train/a/x.jpg.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back, lab)
    assert back.dtype == np.uint8 and back.ndim == 2
    assert store.is_done("train/a/x.jpg.png")
    lines = (tmp_path / ".pssl_work/train.rank0.txt").read_text().splitlines()
    assert lines == ["train/a/x.jpg.png"]
    # no temporary file left behind
    assert sorted(os.listdir(tmp_path / "train/a")) == ["x.jpg.png"]


def test_write_rejects_non_decile_maps(tmp_path):
    store = PSSLStore(tmp_path, fsync=False)
    with pytest.raises(ValueError, match="uint8"):
        store.write("train/a/x.png", "train/a/x", np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="0..9"):
        store.write("train/a/x.png", "train/a/x", np.full((2, 2), 10, np.uint8))


def test_optional_float_and_model_maps(tmp_path):
    store = PSSLStore(tmp_path, keep_float=True, keep_model_maps=True, fsync=False)
    cons = np.linspace(0, 1, 35, dtype=np.float32).reshape(5, 7)
    maps = {"m1": np.full((4, 4), 1e-9, np.float32), "m0": np.ones((5, 7), np.float32)}
    store.write("train/a/x.jpg.png", "train/a/x.jpg", _label(), consensus=cons, model_maps=maps)
    kept = np.load(tmp_path / "train/a/x.jpg.npy")
    assert kept.dtype == np.float16
    np.testing.assert_allclose(kept, cons, atol=1e-3)
    npz_path = tmp_path / pssl_format.model_maps_relpath("train/a/x.jpg.png")
    assert npz_path == tmp_path / "model_maps/a/x.jpg.npz"
    with np.load(npz_path) as npz:
        assert sorted(npz.files) == ["m0", "m1"]
        assert npz["m1"].dtype == np.float32 and npz["m1"][0, 0] == np.float32(1e-9)
    # byte-reproducible (fixed zip timestamps), unlike np.savez
    assert atomic_files.encode_npz(maps) == npz_path.read_bytes()


def test_extras_not_written_unless_asked(tmp_path):
    store = PSSLStore(tmp_path, fsync=False)
    store.write("train/a/x.png", "train/a/x", _label(), consensus=np.zeros((5, 7)),
                model_maps={"m": np.zeros((5, 7))})
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "train.rank0.txt", "x.png"]


def test_resume_needs_listing_and_file(tmp_path):
    store = PSSLStore(tmp_path, fsync=False)
    store.write("train/a/1.png", "train/a/1", _label())
    store.write("train/a/2.png", "train/a/2", _label())
    os.remove(tmp_path / "train/a/2.png")                      # listed, file gone
    atomic_files.atomic_write_bytes(str(tmp_path / "train/a/3.png"), b"x")  # file, not listed
    store.close()
    again = PSSLStore(tmp_path, fsync=False)
    assert again.load_done() == 1
    assert again.is_done("train/a/1.png")
    assert not again.is_done("train/a/2.png")
    assert not again.is_done("train/a/3.png")


def test_line_cut_by_a_kill_is_dropped_and_not_glued(tmp_path):
    work = tmp_path / ".pssl_work"
    work.mkdir()
    (work / "train.rank0.txt").write_text("train/a/1.png\ntrain/a/2.p")  # killed mid-line
    atomic_files.atomic_write_bytes(str(tmp_path / "train/a/1.png"),
                                    pssl_format.encode_decile_png(_label()))
    store = PSSLStore(tmp_path, fsync=False)
    assert store.load_done() == 1
    store.write("train/a/2.png", "train/a/2", _label())
    assert (work / "train.rank0.txt").read_text().splitlines() == [
        "train/a/1.png", "train/a/2.p", "train/a/2.png"]
    counts = store.merge(["a"], {})
    assert counts == {"labels": 2, "failures": 0}
    assert (tmp_path / "train.txt").read_text() == "train/a/1.png\ntrain/a/2.png\n"


def test_merge_unions_ranks_sorts_and_cleans(tmp_path):
    r1 = PSSLStore(tmp_path, rank=1, world_size=2, fsync=False)
    r0 = PSSLStore(tmp_path, rank=0, world_size=2, fsync=False)
    r1.write("train/b/z.png", "train/b/z", _label(1))
    r0.write("train/a/y.png", "train/a/y", _label(2))
    r1.write("train/a/x.png", "imgs/x", _label(3))            # list input: image column
    r0.record_failure("train/b/bad.jpg", "zero-byte file")
    r1.record_failure("train/a/tab\tname.jpg", "multi\nline\treason")
    r1.record_failure("train/a/y", "transient")                # later succeeded on rank 0
    r1.mark_rank_done({"world_size": 2})
    # stray temporary file of a killed writer
    (tmp_path / "train/a/.w.png.tmp.123").write_bytes(b"partial")
    counts = r0.merge(["a", "b"], {"counts": {"images": 6}, "x": 1})
    assert counts == {"labels": 3, "failures": 2}
    assert (tmp_path / "train.txt").read_text() == (
        "train/a/x.png\timgs/x\ntrain/a/y.png\ntrain/b/z.png\n")
    assert (tmp_path / "failures.txt").read_text() == (
        "train/a/tab name.jpg\tmulti line reason\ntrain/b/bad.jpg\tzero-byte file\n")
    assert (tmp_path / "synsets.txt").read_text() == "a\nb\n"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["counts"] == {"images": 6, "labels": 3, "failures": 2,
                                  "failure_fraction": round(2 / 6, 6)}
    assert manifest["x"] == 1
    assert not (tmp_path / ".pssl_work").exists()
    assert not (tmp_path / "train/a/.w.png.tmp.123").exists()
    assert gf.failure_lines(tmp_path)[1] == ("train/b/bad.jpg", "zero-byte file")


#: Temporary files kills leave: in the merge, beside the fingerprint, in .pssl_work, a label.
STALE_TMP = (".manifest.json.tmp.4242", ".train.txt.tmp.4242", ".pssl_settings.json.tmp.77",
             ".pssl_work/.rank0.done.json.tmp.9", "train/a/.w.png.tmp.123")


def test_merge_removes_temporary_files_anywhere_in_the_root(tmp_path):
    store = PSSLStore(tmp_path, fsync=False)
    store.write("train/a/1.png", "train/a/1", _label())
    for rel in STALE_TMP:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    store.merge(["a"], {})
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "failures.txt", "manifest.json", "synsets.txt", "train", "train.txt", "train/a",
        "train/a/1.png"]


def test_merge_keeps_earlier_train_txt(tmp_path):
    first = PSSLStore(tmp_path, fsync=False)
    first.write("train/a/1.png", "train/a/1", _label())
    first.merge(["a"], {})
    second = PSSLStore(tmp_path, fsync=False)
    assert second.is_done("train/a/1.png")
    second.write("train/a/0.png", "train/a/0", _label())
    second.merge(["a"], {})
    assert (tmp_path / "train.txt").read_text() == "train/a/0.png\ntrain/a/1.png\n"


def test_wait_for_ranks_ignores_stale_markers(tmp_path):
    r0 = PSSLStore(tmp_path, rank=0, world_size=2, fsync=False)
    r1 = PSSLStore(tmp_path, rank=1, world_size=2, fsync=False)
    r1.mark_rank_done({"world_size": 2, "settings_digest": "old"})
    r0.mark_rank_done({"world_size": 2, "settings_digest": "new"})
    expected = {0: {"settings_digest": "new"}, 1: {"settings_digest": "new"}}
    with pytest.raises(TimeoutError, match=r"ranks \[1\].*merge_only=True"):
        r0.wait_for_ranks(expected, poll_s=0.01, timeout_s=0.05)
    r1.mark_rank_done({"world_size": 2, "settings_digest": "new", "counts": {"labelled": 4}})
    markers = r0.wait_for_ranks(expected, poll_s=0.01, timeout_s=1)
    assert markers[1]["counts"] == {"labelled": 4} and markers[1]["rank"] == 1


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    path = tmp_path / "f.bin"
    atomic_files.atomic_write_bytes(str(path), b"old")

    with pytest.raises(TypeError):
        atomic_files.atomic_write_bytes(str(path), None)  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_png_is_deterministic_and_small():
    lab = np.kron(_label(0, (4, 4)), np.ones((8, 8), np.uint8))
    assert pssl_format.encode_decile_png(lab) == pssl_format.encode_decile_png(lab.copy())
    assert len(pssl_format.encode_decile_png(lab, 9)) <= len(pssl_format.encode_decile_png(lab, 0))
