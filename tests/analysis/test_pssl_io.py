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
    with pytest.raises(PSSLConfigError, match="bad.png.*deciles 0..9"):
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
