"""The on-disk contract (pssl_format): every writer's output reads back exactly (class lists,
train lists with spaces and non-ASCII names, decile PNGs), old lists and release labels still
read, unusable files and names are refused naming the file, the aspect rule."""
import os

import cv2
import numpy as np
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


# ---- class list ---------------------------------------------------------------------------

def test_class_list_round_trip_keeps_the_id_order(tmp_path):
    names = ["n02", "n01", "n0144_é"]
    fmt.write_class_list(tmp_path / "synsets.txt", names)
    classes = fmt.read_class_list(tmp_path / "synsets.txt")
    assert classes.ids == names and classes.names == names


def test_class_list_reads_readable_names_comments_and_blank_lines(tmp_path):
    path = tmp_path / "LOC_synset_mapping.txt"
    path.write_text("# ImageNet\nn01440764 tench, Tinca tinca\n\nn01443537\n")
    classes = fmt.read_class_list(path)
    assert classes.ids == ["n01440764", "n01443537"]
    assert classes.names == ["tench", "n01443537"]


@pytest.mark.parametrize("text, match", [
    ("a\nb\na\n", r"syn.txt: duplicate class names 'a' \(lines 1 and 3\)"),
    ("\n# nothing\n", r"syn.txt holds no class names"),
])
def test_unusable_class_lists_are_refused_naming_the_file(tmp_path, text, match):
    (tmp_path / "syn.txt").write_text(text)
    with pytest.raises(fmt.PSSLFormatError, match=match) as info:
        fmt.read_class_list(tmp_path / "syn.txt")
    assert info.value.path == str(tmp_path / "syn.txt")


def test_missing_class_list_is_a_config_error_naming_the_file(tmp_path):
    from paddleseg_pssl.errors import PSSLConfigError

    with pytest.raises(PSSLConfigError, match="class list .*nope.txt.* is not a file"):
        fmt.read_class_list(tmp_path / "nope.txt")


def test_class_names_the_list_cannot_hold_are_not_written(tmp_path):
    with pytest.raises(ValueError, match="rename the folder"):
        fmt.format_class_list(["n01", "two words"])


@pytest.mark.parametrize("text", [
    "n02391049 zebra\n# ImageNet\nn01440764 tench, Tinca tinca\nn09999999 other\n",  # by id
    "tench\n\nzebra\n",                                                            # in order
])
def test_names_file_names_the_classes_by_id_or_in_order(tmp_path, text):
    (tmp_path / "names.txt").write_text(text)
    assert fmt.read_names(tmp_path / "names.txt", ["n01440764", "n02391049"]) == ["tench",
                                                                                  "zebra"]


def test_names_file_that_fits_neither_way_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("n01440764 tench\n")
    with pytest.raises(fmt.PSSLFormatError, match=r"no '<id> <name>' line for 'n02391049'.*"
                                                  r"1 names for 2 classes") as info:
        fmt.read_names(path, ["n01440764", "n02391049"])
    assert info.value.path == str(path)
    with pytest.raises(fmt.PSSLFormatError, match="names file .*nope.txt.* is not a file"):
        fmt.read_names(tmp_path / "nope.txt", ["n01440764"])


def test_find_class_list_prefers_synsets_txt_over_the_release_file(tmp_path):
    with pytest.raises(fmt.PSSLFormatError, match="holds neither 'synsets.txt'"):
        fmt.find_class_list(tmp_path)
    (tmp_path / fmt.RELEASE_SYNSETS_FILE).write_text("n01\n")
    assert fmt.find_class_list(tmp_path) == str(tmp_path / fmt.RELEASE_SYNSETS_FILE)
    (tmp_path / fmt.SYNSETS_FILE).write_text("n01\n")
    assert fmt.find_class_list(tmp_path) == str(tmp_path / fmt.SYNSETS_FILE)


# ---- train list file ------------------------------------------------------------------------

def test_train_list_file_round_trip_with_spaces_and_list_inputs(tmp_path):
    entries = [(fmt.label_relpath("n01", "a.JPEG"), None),
               (fmt.label_relpath("n01", "with space.jpg"), None),
               (fmt.label_relpath("n02", "b.jpg"), "imgs/elsewhere/b.jpg")]
    fmt.write_train_list(tmp_path / "train.txt", entries)
    assert fmt.read_train_list(tmp_path / "train.txt") == [
        ("train/n01/a.JPEG.png", "train/n01/a.JPEG"),
        ("train/n01/with space.jpg.png", "train/n01/with space.jpg"),
        ("train/n02/b.jpg.png", "imgs/elsewhere/b.jpg")]


def test_malformed_train_list_line_is_refused_with_file_and_line(tmp_path):
    (tmp_path / "train.txt").write_text("train/n01/a.JPEG.png\n\na b c\n")
    with pytest.raises(fmt.PSSLFormatError, match=r"train.txt' line 3: expected"):
        fmt.read_train_list(tmp_path / "train.txt")
    lines = list(fmt.iter_train_list(tmp_path / "train.txt"))
    assert [n for n, _ in lines] == [1, 3] and isinstance(lines[1][1], ValueError)


# ---- labels -------------------------------------------------------------------------------

def test_decile_png_round_trip_is_byte_stable(tmp_path):
    deciles = (np.arange(35, dtype=np.uint8).reshape(5, 7) % 10)
    data = fmt.encode_decile_png(deciles)
    assert data == fmt.encode_decile_png(deciles.copy())
    path = tmp_path / "x.JPEG.png"
    path.write_bytes(data)
    decoded = fmt.read_decile_png(str(path))
    assert decoded.dtype == np.uint8 and np.array_equal(decoded, deciles)


@pytest.mark.parametrize("bad", [np.full((2, 2), 10, np.uint8), np.zeros((2, 2), np.int32),
                                 np.zeros((2, 2, 3), np.uint8)])
def test_only_decile_maps_are_encoded(bad):
    with pytest.raises(ValueError, match="decile label"):
        fmt.encode_decile_png(bad)


def test_bad_decile_png_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(fmt.encode_decile_png(np.zeros((2, 2), np.uint8)))[:20])
    with pytest.raises(fmt.PSSLFormatError, match="bad.png: cannot be read as an image"):
        fmt.read_decile_png(str(path))
    cv2.imwrite(str(path), np.full((2, 3), 12, np.uint8))
    with pytest.raises(fmt.PSSLFormatError, match=r"bad.png: values \[12\]; expected 0..9"):
        fmt.read_decile_png(str(path))


def test_release_npz_decodes_to_its_binary_map(tmp_path):
    path = tmp_path / "x.JPEG_eiseg.npz"
    np.savez_compressed(str(path), np.array([[1, 0], [0, 1]], np.uint8))
    assert fmt.read_release_npz(str(path)).tolist() == [[1, 0], [0, 1]]
    np.savez_compressed(str(path), np.array([[2, 0]], np.uint8))
    with pytest.raises(fmt.PSSLFormatError, match=r"eiseg.npz: values \[2\]; expected 0..1"):
        fmt.read_release_npz(str(path))
    np.savez_compressed(str(path), other=np.zeros((2, 2), np.uint8))
    with pytest.raises(fmt.PSSLFormatError, match="eiseg.npz: cannot read key 'arr_0'"):
        fmt.read_release_npz(str(path))


# ---- paths ----------------------------------------------------------------------------------

def test_relative_paths_join_to_the_root_with_the_systems_separator(tmp_path):
    assert fmt.join_relpath(str(tmp_path), "train/n01/a b.JPEG.png") == \
        os.path.join(str(tmp_path), "train", "n01", "a b.JPEG.png")


def test_label_paths_name_their_class_and_image():
    label = fmt.label_relpath("n01", "a.JPEG")
    assert fmt.class_name_of_label(label) == "n01"
    assert fmt.image_relpath_from_label(label) == "train/n01/a.JPEG"
    assert fmt.image_relpath_from_label("train/n01/a.JPEG_eiseg.npz") == "train/n01/a.JPEG"
    assert fmt.is_release_label("train/n01/a.JPEG_eiseg.npz") and not fmt.is_release_label(label)
    assert fmt.consensus_relpath(label) == "train/n01/a.JPEG.npy"
    assert fmt.model_maps_relpath(label) == "model_maps/n01/a.JPEG.npz"
