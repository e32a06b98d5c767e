"""Reading a PSSL folder the generator wrote (paddleseg_pssl.analysis.pssl_io)."""
import numpy as np
import pytest
from PIL import Image

from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.errors import PSSLConfigError
from tests.analysis.tiny_pssl import CLASSES, LABEL_HW, MODELS, make_tiny_pssl


def test_reads_labels_lists_and_kept_maps(tmp_path):
    tiny = make_tiny_pssl(tmp_path)
    samples = pssl_io.read_sample_list(str(tiny["pssl"]))
    assert len(samples) == 4
    assert pssl_io.read_synsets(str(tiny["pssl"])) == list(CLASSES)
    assert pssl_io.kept_model_names(str(tiny["pssl"]), samples) == sorted(MODELS)
    label_rel = samples[0][0]
    dec = pssl_io.read_decile_label(str(tiny["pssl"] / label_rel))
    assert dec.shape == LABEL_HW and dec.max() == 9
    maps = pssl_io.load_model_maps(str(tiny["pssl"]), label_rel, LABEL_HW)
    assert sorted(maps) == sorted(MODELS)
    for m in maps.values():  # raw maps come back min-max normalised, resized to label size
        assert m.shape == LABEL_HW and 0.0 <= m.min() < 0.05 and 0.9 < m.max() <= 1.0
    cons = pssl_io.load_consensus_map(str(tiny["pssl"]), label_rel)
    assert cons.shape == LABEL_HW and cons.dtype == np.float32
    # the kept float consensus is the mean of the normalised maps (Eq. 1)
    np.testing.assert_allclose(cons, np.mean(list(maps.values()), axis=0), atol=2e-3)


def test_not_kept_and_bad_labels(tmp_path):
    tiny = make_tiny_pssl(tmp_path)
    assert pssl_io.load_model_maps(str(tiny["pssl"]), "train/x/none.JPEG.png", (2, 2)) is None
    assert pssl_io.load_consensus_map(str(tiny["pssl"]), "train/x/none.JPEG.png") is None
    bad = tmp_path / "bad.png"
    Image.fromarray(np.full((2, 2), 12, np.uint8)).save(bad)
    with pytest.raises(PSSLConfigError, match=r"bad.png: values \[12\]; expected 0..9"):
        pssl_io.read_decile_label(str(bad))
    with pytest.raises(PSSLConfigError, match="train.txt"):
        pssl_io.read_sample_list(str(tmp_path))


def test_class_names_with_readable_names(tmp_path):
    f = tmp_path / "syn.txt"
    f.write_text("n01440764 tench, Tinca tinca\nn01443537\n")
    assert pssl_io.read_class_names(str(f)) == (["n01440764", "n01443537"],
                                                ["tench", "n01443537"])


def test_release_labels_read_as_top_decile(tmp_path):
    path = tmp_path / "x.JPEG_eiseg.npz"
    np.savez_compressed(str(path), np.array([[1, 0], [0, 1]], np.uint8))
    assert pssl_io.read_decile_label(str(path)).tolist() == [[9, 0], [0, 9]]


def test_kept_maps_are_prepared_as_the_folder_records(tmp_path):
    """Single-model scores and Figure-2 panels must see each model's map as the generator used
    it: the smoothing and normalisation recorded in the folder's manifest."""
    import json

    from paddleseg_pssl.consensus import label_maths

    tiny = make_tiny_pssl(tmp_path)
    root = str(tiny["pssl"])
    label_rel = pssl_io.read_sample_list(root)[0][0]
    assert pssl_io.consensus_settings(root) == {"normalisation": "minmax", "smoothing": 0.0}
    plain = pssl_io.load_model_maps(root, label_rel, LABEL_HW)
    (tiny["pssl"] / "manifest.json").write_text(json.dumps(
        {"settings": {"consensus": {"normalisation": "clip_p99", "smoothing": 0.1}}}))
    prepared = pssl_io.load_model_maps(root, label_rel, LABEL_HW)
    raw = np.load(tiny["pssl"] / "model_maps" / (label_rel[len("train/"):-len(".png")] + ".npz"))
    name = MODELS[0]
    expected = label_maths.resize_map(
        label_maths.prepare_model_map(raw[name], "clip_p99", 0.1), LABEL_HW)
    np.testing.assert_allclose(prepared[name], expected, atol=1e-6)
    assert not np.allclose(prepared[name], plain[name], atol=1e-3)
    (tiny["pssl"] / "manifest.json").write_text(json.dumps(
        {"settings": {"consensus": {"normalisation": "zscore"}}}))
    with pytest.raises(PSSLConfigError, match="cannot reproduce"):
        pssl_io.consensus_settings(root)
