"""Oracle PSSL: the true masks written as labels the dataset reads like generated ones."""
import numpy as np
import pytest
from PIL import Image

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.analysis.masks import MaskSpec
from paddleseg_pssl.analysis.oracle_labels import write_oracle_labels
from paddleseg_pssl.constants import TOP_DECILE
from paddleseg_pssl.errors import PSSLConfigError


def _pssl_root(tmp_path):
    root = tmp_path / "pssl"
    (root / "train" / "ring").mkdir(parents=True)
    (root / "train" / "ring" / "a.jpg.png").write_bytes(
        fmt.encode_decile_png(np.arange(24, dtype=np.uint8).reshape(4, 6) % 10))
    (root / "train.txt").write_text("train/ring/a.jpg.png\n")
    (root / "synsets.txt").write_text("ring\n")
    return root


def test_the_object_is_the_top_decile_at_the_labels_size(tmp_path):
    masks = tmp_path / "masks" / "train" / "ring"
    masks.mkdir(parents=True)
    mask = np.zeros((8, 12), np.uint8)
    mask[:, :6] = 255  # the left half is the object
    Image.fromarray(mask).save(masks / "a.png")

    written = write_oracle_labels(_pssl_root(tmp_path), tmp_path / "masks", tmp_path / "oracle",
                                  MaskSpec("binary"))
    assert written == 1
    label = fmt.read_decile_png(str(tmp_path / "oracle" / "train" / "ring" / "a.jpg.png"))
    expected = np.zeros((4, 6), np.uint8)
    expected[:, :3] = TOP_DECILE
    assert np.array_equal(label, expected)
    assert (tmp_path / "oracle" / "train.txt").read_text() == "train/ring/a.jpg.png\n"
    assert (tmp_path / "oracle" / "synsets.txt").read_text() == "ring\n"


def test_an_image_without_a_mask_is_named(tmp_path):
    (tmp_path / "masks").mkdir()
    with pytest.raises(PSSLConfigError, match="no mask for 'train/ring/a.jpg'"):
        write_oracle_labels(_pssl_root(tmp_path), tmp_path / "masks", tmp_path / "oracle",
                            MaskSpec("binary"))
