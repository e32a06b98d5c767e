"""Ground-truth mask decoders and mask matching (paddleseg_pssl.analysis.masks)."""
import numpy as np
import pytest
from PIL import Image

from paddleseg_pssl.analysis import masks
from paddleseg_pssl.errors import PSSLConfigError


def _rgb_ids(ids):
    ids = np.asarray(ids)
    return np.stack([ids % 256, ids // 256, np.zeros_like(ids)], axis=-1).astype(np.uint8)


def test_imagenet_s_encoding():
    # README of LUSSeg/ImageNet-S: id = R + 256*G; 0 = other category, 1000 = ignore
    ids = np.array([[0, 1, 300], [1000, 919, 300]])
    arr = _rgb_ids(ids)
    assert arr[0, 2].tolist() == [44, 1, 0]  # 300 = 44 + 256
    np.testing.assert_array_equal(masks.imagenet_s_ids(arr), ids)
    fg, valid = masks.decode_imagenet_s(arr)
    assert fg.tolist() == [[False, True, True], [False, True, True]]
    assert valid.tolist() == [[True, True, True], [False, True, True]]
    fg, valid = masks.decode_imagenet_s(arr, class_id=300)
    assert fg.tolist() == [[False, False, True], [False, False, True]]
    rgba = np.concatenate([arr, np.full(arr.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    np.testing.assert_array_equal(masks.imagenet_s_ids(rgba), ids)
    with pytest.raises(masks.MaskFormatError, match="R \\+ 256\\*G"):
        masks.decode_imagenet_s(np.zeros((2, 2), np.uint8))


def test_imagenet_s_class_ids_sorted_one_based_with_merges(tmp_path):
    cats = tmp_path / "cats.txt"
    cats.write_text("n04355933\nn01440764\nn02808440\n")  # deliberately unsorted
    ids = masks.imagenet_s_class_ids(str(cats))
    assert ids["n01440764"] == 1 and ids["n02808440"] == 2 and ids["n04355933"] == 3
    assert ids["n04356056"] == ids["n04355933"]  # merged class (ImageNet-S-919)
    assert ids["n04493381"] == ids["n02808440"]
    with pytest.raises(PSSLConfigError, match="not a file"):
        masks.imagenet_s_class_ids(str(tmp_path / "missing.txt"))


def test_binary_decoder_variants():
    fg, valid = masks.decode_binary(np.array([[0, 1]], np.uint8))
    assert fg.tolist() == [[False, True]] and valid.all()
    fg, valid = masks.decode_binary(np.array([[0, 255]], np.uint8))
    assert fg.tolist() == [[False, True]] and valid.all()
    fg, valid = masks.decode_binary(np.array([[0, 1, 255]], np.uint8))
    assert fg.tolist() == [[False, True, False]] and valid.tolist() == [[True, True, False]]
    grey_rgb = np.repeat(np.array([[0, 255]], np.uint8)[..., None], 3, axis=-1)
    assert masks.decode_binary(grey_rgb)[0].tolist() == [[False, True]]
    with pytest.raises(masks.MaskFormatError, match="class_index"):
        masks.decode_binary(np.array([[0, 3, 7]], np.uint8))
    with pytest.raises(masks.MaskFormatError, match="imagenet_s"):
        masks.decode_binary(_rgb_ids([[1, 300]]))


def test_class_index_decoder():
    arr = np.array([[0, 2, 2], [255, 1, 2]], np.uint8)
    fg, valid = masks.decode_class_index(arr, class_id=2, ignore_value=255)
    assert fg.tolist() == [[False, True, True], [False, False, True]]
    assert valid.tolist() == [[True, True, True], [False, True, True]]
    spec = masks.MaskSpec("class_index", masks.class_index_ids(["a", "b", "c"], offset=0))
    fg, _ = masks.decode_mask(arr, spec, "c")
    assert fg.sum() == 3
    with pytest.raises(ValueError, match="class_ids"):
        masks.MaskSpec("class_index")
    with pytest.raises(ValueError, match="mask_format"):
        masks.MaskSpec("polygons")


def test_load_mask_resizes_nearest_and_names_the_file(tmp_path):
    big = np.zeros((8, 8), np.uint8)
    big[:4, :4] = 255
    path = tmp_path / "m.png"
    Image.fromarray(big).save(path)
    fg, valid = masks.load_mask(str(path), masks.MaskSpec("binary"), "x", out_hw=(4, 4))
    assert fg.shape == (4, 4) and fg[:2, :2].all() and fg.sum() == 4 and valid.all()
    bad = tmp_path / "bad.png"
    Image.fromarray(np.array([[0, 3]], np.uint8)).save(bad)
    with pytest.raises(masks.MaskFormatError, match="bad.png.*binary"):
        masks.load_mask(str(bad), masks.MaskSpec("binary"), "x")


def test_a_bad_mask_names_mask_format_and_the_command_line_its_flag(tmp_path, capsys):
    """load_mask keeps the decoder's {mask_format} field when it adds the file's name."""
    from paddleseg_pssl.cli import common

    bad = tmp_path / "b{0}.png"
    Image.fromarray(np.array([[0, 3]], np.uint8)).save(bad)
    load = lambda: masks.load_mask(str(bad), masks.MaskSpec("binary"), "x")  # noqa: E731
    with pytest.raises(masks.MaskFormatError, match=r"^mask '.*b\{0\}\.png' \(binary format\): "
                                                    r".*need mask_format class_index"):
        load()
    assert common.run_guarded("t", load) == 2
    err = capsys.readouterr().err
    assert "b{0}.png" in err and err.endswith("need --mask_format class_index\n")


def test_palette_png_reads_as_indices(tmp_path):
    img = Image.fromarray(np.array([[0, 5], [5, 255]], np.uint8), mode="P")
    img.putpalette([v for i in range(256) for v in (i, 255 - i, 0)])
    path = tmp_path / "p.png"
    img.save(path)
    spec = masks.MaskSpec("class_index", {"five": 5})
    fg, valid = masks.load_mask(str(path), spec, "five")
    assert fg.tolist() == [[False, True], [True, False]]
    assert valid.tolist() == [[True, True], [True, False]]


def test_mask_matching_order(tmp_path):
    cands = masks.mask_relpath_candidates("train/n01/n01_1.JPEG")
    assert cands == ["train/n01/n01_1.png", "train/n01/n01_1.JPEG.png", "n01/n01_1.png",
                     "n01/n01_1.JPEG.png"]
    assert masks.mask_relpath_candidates("train/a/x.jpg", ".bmp", "_mask")[0] == \
        "train/a/x_mask.bmp"
    (tmp_path / "n01").mkdir()
    (tmp_path / "n01" / "n01_1.png").write_bytes(b"")
    assert masks.find_mask(str(tmp_path), "train/n01/n01_1.JPEG").endswith(
        "n01/n01_1.png")
    assert masks.find_mask(str(tmp_path), "train/n01/n01_2.JPEG") is None


def test_binary_ignore_value_marks_unannotated_pixels_whatever_else_is_there():
    from paddleseg_pssl.analysis.masks import MaskFormatError, MaskSpec, decode_mask

    border_only = np.array([[0, 255], [0, 0]], np.uint8)   # no object pixel, a border
    fg, valid = decode_mask(border_only, MaskSpec("binary", binary_ignore=255), "c")
    assert not fg.any() and valid.tolist() == [[True, False], [True, True]]
    # without it, a 0/255 mask reads 255 as the object (the documented default)
    fg, valid = decode_mask(border_only, MaskSpec("binary"), "c")
    assert fg.tolist() == [[False, True], [False, False]] and valid.all()
    with pytest.raises(MaskFormatError, match="ignore value 255"):
        decode_mask(np.array([[1, 2, 255]], np.uint8), MaskSpec("binary", binary_ignore=255),
                    "c")
