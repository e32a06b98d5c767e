"""Image decoding and model inputs: the bad-input corpus of issue 4, the resizing policy and
the normalisation."""
import numpy as np
import pytest
from PIL import Image

from paddleseg_pssl.consensus.explain.ensemble import ClassifierSpec
from paddleseg_pssl.consensus.label_maths import resize_map
from paddleseg_pssl.consensus.explain.preprocess import (ImageReadError, load_rgb,
                                                         resize_short_side, to_model_input)
from paddleseg_pssl.pssl_format.label_size import MIN_SIDE, explanation_size


def _save(img: Image.Image, path, **kw):
    img.save(str(path), **kw)
    return path


@pytest.fixture()
def rgb_array():
    return np.random.RandomState(0).randint(0, 256, (30, 40, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "1", "I;16"])
def test_any_mode_decodes_to_rgb_uint8(tmp_path, rgb_array, mode):
    img = Image.fromarray(rgb_array)
    if mode == "I;16":
        img = Image.fromarray((rgb_array[..., 0].astype(np.uint16) * 257))
        assert img.mode.startswith("I;16")
    else:
        img = img.convert(mode)
    ext = "jpg" if mode == "CMYK" else "png"
    out = load_rgb(_save(img, tmp_path / f"x.{ext}"))
    assert out.dtype == np.uint8 and out.shape == (30, 40, 3)
    if mode == "L":
        assert (out[..., 0] == out[..., 1]).all()
    if mode == "I;16":
        assert out.max() > 200  # scaled to 8 bits, not clipped to white


def test_exif_orientation_is_applied(tmp_path, rgb_array):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = _save(Image.fromarray(rgb_array), tmp_path / "rot.jpg", exif=exif)
    assert load_rgb(path).shape == (40, 30, 3)


@pytest.mark.parametrize("kind, reason", [
    ("zero", "zero-byte"),
    ("text", "not an image"),
    ("truncated", "truncated"),
    ("missing", "cannot stat"),
])
def test_bad_files_raise_image_read_error(tmp_path, rgb_array, kind, reason):
    path = tmp_path / f"{kind}.jpg"
    if kind == "zero":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a JPEG\n")
    elif kind == "truncated":
        _save(Image.fromarray(rgb_array), path, quality=95)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=reason) as info:
        load_rgb(path)
    assert info.value.path == str(path) and reason in info.value.reason


@pytest.mark.parametrize("hw, expected", [
    ((375, 500), (224, 299)),
    ((500, 375), (299, 224)),
    ((224, 224), (224, 224)),
    ((1, 1), (224, 224)),
    ((1, 10000), (MIN_SIDE, 896)),
    ((10000, 1), (896, MIN_SIDE)),
    ((224, 2000), (100, 896)),  # past 4:1 the long side is capped, aspect still kept
])
def test_explanation_size_policy(hw, expected):
    assert explanation_size(*hw, short_side=224) == expected


def test_tiny_and_extreme_images_resize_to_valid_maps(tmp_path):
    for hw in [(1, 1), (1, 10000), (10000, 1)]:
        path = _save(Image.new("RGB", hw[::-1], (10, 20, 30)), tmp_path / f"{hw[0]}x{hw[1]}.png")
        img = resize_short_side(load_rgb(path), 224)
        assert img.dtype == np.uint8 and min(img.shape[:2]) >= MIN_SIDE
        assert max(img.shape[:2]) <= 896 and (img == [10, 20, 30]).all()
    with pytest.raises(ValueError, match="short_side"):
        explanation_size(10, 10, short_side=8)


def test_to_model_input_normalises_and_squares():
    img = np.zeros((4, 6, 3), np.uint8)
    img[..., 0] = 255
    spec = ClassifierSpec(name="m", arch="resnet18", mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.5))
    x = to_model_input(img, spec)
    assert x.shape == (1, 3, 4, 6) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_allclose(x[0, :, 0, 0], [1.0, -2.0, -1.0])
    square = ClassifierSpec(name="m", arch="resnet18", resize="square", input_size=32)
    assert to_model_input(img, square).shape == (1, 3, 32, 32)


def test_resize_map_back():
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert resize_map(m, (3, 4)) is not None and resize_map(m, (6, 8)).shape == (6, 8)
    assert resize_map(np.ones((32, 32), np.float32), (20, 30)).dtype == np.float32
