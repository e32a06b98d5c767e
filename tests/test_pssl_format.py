"""The train-list contract (pssl_format): names with spaces and non-ASCII read back exactly,
old lists still read, unrepresentable names are refused with the reason, aspect rule."""
import pytest

from paddleseg_pssl import pssl_format as fmt


@pytest.mark.parametrize("class_name, file_name", [
    ("n01440764", "n01440764_10026.JPEG"),
    ("n01440764", "with space.jpg"),
    ("n01440764", "two  spaces and trailing .jpg"),
    ("n0144_é", "ünïcödé 日本.png"),
])
def test_list_line_round_trip(class_name, file_name):
    label = fmt.label_relpath(class_name, file_name)
    image = f"train/{class_name}/{file_name}"
    assert fmt.parse_list_line(fmt.format_list_line(label, image) + "\n") == (label, image)
    assert fmt.parse_list_line(fmt.format_list_line(label) + "\r\n") == (label, image)


def test_plain_names_keep_the_one_column_line():
    label = fmt.label_relpath("n01", "a.JPEG")
    assert fmt.format_list_line(label, "train/n01/a.JPEG") == label


def test_line_with_spaces_has_both_columns_tab_separated():
    label = fmt.label_relpath("n01", "a b.jpg")
    assert fmt.format_list_line(label) == f"{label}\ttrain/n01/a b.jpg"


@pytest.mark.parametrize("line, expected", [
    ("train/n01/a.JPEG.png\n", ("train/n01/a.JPEG.png", "train/n01/a.JPEG")),
    ("train/n01/a.JPEG.png  imgs/a.JPEG\n", ("train/n01/a.JPEG.png", "imgs/a.JPEG")),
    ("train/n01/a.JPEG.png\timgs/a b.JPEG\n", ("train/n01/a.JPEG.png", "imgs/a b.JPEG")),
    ("train/n01/a b.JPEG.png\n", ("train/n01/a b.JPEG.png", "train/n01/a b.JPEG")),
    ("train/n01/a.JPEG_eiseg.npz\n", ("train/n01/a.JPEG_eiseg.npz", "train/n01/a.JPEG")),
])
def test_existing_list_lines_still_read(line, expected):
    assert fmt.parse_list_line(line) == expected


@pytest.mark.parametrize("line", ["a b c\n", "train/n01/a.png\tx\ty\n", "x.jpg y.jpg\n"])
def test_malformed_lines_raise(line):
    with pytest.raises(ValueError):
        fmt.parse_list_line(line)


@pytest.mark.parametrize("name", ["tab\there.jpg", "new\nline.jpg", "cr\r.jpg"])
def test_names_the_list_cannot_hold_are_refused_with_the_reason(name):
    assert "rename the file" in fmt.file_name_problem(name)
    with pytest.raises(ValueError, match="rename the file"):
        fmt.format_list_line(fmt.label_relpath("n01", name))


def test_class_names_with_whitespace_are_refused():
    assert fmt.class_name_problem("n01 two") is not None
    assert fmt.class_name_problem("n01_é") is None


@pytest.mark.parametrize("label, image, fits", [
    ((224, 299), (375, 500), True),       # short side 224, long side rounded
    ((299, 224), (500, 375), True),
    ((224, 224), (375, 500), False),      # a square label for a 4:3 image
    ((299, 224), (375, 500), False),      # transposed
    ((32, 32), (1, 1), True),
])
def test_aspect_rule(label, image, fits):
    assert fmt.label_fits_image(label, image) is fits


def test_capped_strip_fits_with_the_generators_resolution():
    label = (32, 128)   # a 1x10000 strip at short side 32 (long side capped at 4 x 32)
    assert not fmt.label_fits_image(label, (1, 10000))
    assert fmt.label_fits_image(label, (1, 10000), {"short_side": 32, "max_long_side": None})
