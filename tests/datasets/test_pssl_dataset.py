"""PSSLDataset: registry, both label formats, decile mapping, resizing, validation, bad samples."""
import numpy as np
import pytest
import yaml

import paddleseg_pssl  # noqa: F401  (registration)
import paddleseg.datasets.pssl as builtin_pssl
import paddleseg.transforms as T
from paddleseg.cvlibs import Config, SegBuilder, manager

from paddleseg_pssl import pssl_format
from paddleseg_pssl.datasets import PSSLDataset, PSSLSampleError
from paddleseg_pssl.datasets.pssl_dataset import replace_component
from paddleseg_pssl.errors import PSSLConfigError
from tests.datasets.pssl_fixtures import CLASSES, build_tree, imagenet_like_synsets

# Deciles 0..9 over an 8 x 12 map, rows of distinct values.
DECILES = np.arange(96, dtype=np.uint8).reshape(8, 12) % 10


def make(tree, transforms=None, **kwargs):
    return PSSLDataset(transforms=[] if transforms is None else transforms, **tree, **kwargs)


# ---------------------------------------------------------------- registry
def test_registered_class_is_ours():
    assert manager.DATASETS["PSSLDataset"] is PSSLDataset
    assert builtin_pssl.PSSLDataset is not PSSLDataset


def test_replacement_logs_one_debug_line(monkeypatch):
    registry = manager.ComponentManager(name="DATASETS")
    registry.add_component(builtin_pssl.PSSLDataset)
    lines = []
    monkeypatch.setattr("paddleseg_pssl.datasets.pssl_dataset.logger.debug", lines.append)
    replace_component(registry, PSSLDataset)
    assert registry["PSSLDataset"] is PSSLDataset
    assert len(lines) == 1 and "replacing paddleseg.datasets.pssl.PSSLDataset" in lines[0]


# ---------------------------------------------------------------- label mapping
def test_decile_mapping_paper_default(tmp_path):
    name = f"{CLASSES[1]}_7.JPEG"
    ds = make(build_tree(tmp_path, {name: DECILES}))
    assert (ds.num_classes, ds.background_id, ds.ignore_index) == (4, 3, 255)
    sample = ds[0]
    label = sample["label"]
    assert label.dtype == np.uint8 and label.shape == (8, 12)
    np.testing.assert_array_equal(label, np.where(DECILES == 9, 1, 3))
    assert sample["img"].shape == (3, 8, 12) and sample["gt_fields"] == ["label"]
    assert sample["trans_info"] == []


def test_decile_mapping_ignore_and_extra_foreground(tmp_path):
    name = f"{CLASSES[2]}_1.JPEG"
    ds = make(build_tree(tmp_path, {name: DECILES}), foreground_deciles=[7, 9],
              ignore_deciles=[8])
    expected = np.full(DECILES.shape, 3)
    expected[np.isin(DECILES, [7, 9])] = 2
    expected[DECILES == 8] = 255
    np.testing.assert_array_equal(ds[0]["label"], expected)


def test_class_id_follows_synsets_order(tmp_path):
    synsets = [CLASSES[2], CLASSES[0], CLASSES[1], "n00000001"]
    labels = {f"{c}_0.JPEG": np.full((8, 12), 9, np.uint8) for c in CLASSES}
    ds = make(build_tree(tmp_path, labels, synsets=synsets))
    by_class = {pssl_format.class_name_of_label(lbl): int(ds[i]["label"][0, 0])
                for i, (_, lbl) in enumerate(ds.file_list)}
    assert by_class == {CLASSES[2]: 0, CLASSES[0]: 1, CLASSES[1]: 2}
    assert ds.background_id == 4


def test_label_resized_to_image_by_nearest(tmp_path):
    small = np.array([[9, 0, 9], [0, 9, 0]], dtype=np.uint8)     # 2 x 3 at explanation res.
    ds = make(build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": small}, image_size=(8, 12)))
    expected = np.kron(np.where(small == 9, 0, 3), np.ones((4, 4), int))
    np.testing.assert_array_equal(ds[0]["label"], expected)


def test_second_column_gives_image_path(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES})
    moved = tmp_path / "imagenet" / "elsewhere" / "img0.JPEG"
    moved.parent.mkdir()
    (tmp_path / "imagenet" / "train" / CLASSES[0] / f"{CLASSES[0]}_0.JPEG").rename(moved)
    label_rel = pssl_format.label_relpath(CLASSES[0], f"{CLASSES[0]}_0.JPEG")
    (tmp_path / "pssl" / "train.txt").write_text(
        pssl_format.format_list_line(label_rel, "elsewhere/img0.JPEG") + "\n")
    ds = make(tree)
    assert ds.file_list[0][0] == str(moved)
    assert ds[0]["label"].shape == (8, 12)


@pytest.mark.parametrize("num_object_classes, num_classes, ignore, dtype", [
    (3, 4, 255, np.uint8), (254, 255, 255, np.uint8), (255, 256, 256, np.int32),
    (1000, 1001, 1001, np.int32)])
def test_ignore_index_never_collides(tmp_path, num_object_classes, num_classes, ignore, dtype):
    ds = make(build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES},
                         synsets=imagenet_like_synsets(num_object_classes)),
              ignore_deciles=[8])
    assert (ds.num_classes, ds.ignore_index, ds.label_dtype) == (num_classes, ignore, dtype)
    assert ds.background_id == num_classes - 1 < ds.ignore_index
    assert set(np.unique(ds[0]["label"])) == {0, num_classes - 1, ignore}


# ---------------------------------------------------------------- release format
def test_release_format_matches_paddleseg_builtin(tmp_path):
    binary = (DECILES == 9).astype(np.uint8)
    tree = build_tree(tmp_path, {f"{CLASSES[1]}_45912.JPEG": binary}, release=True,
                      synsets=imagenet_like_synsets(1000))
    ours = make(tree)
    theirs = builtin_pssl.PSSLDataset(transforms=[], **tree)
    assert (ours.num_classes, ours.ignore_index) == (theirs.num_classes, theirs.ignore_index)
    assert ours.file_list == theirs.file_list
    np.testing.assert_array_equal(ours[0]["label"], theirs[0]["label"])
    np.testing.assert_array_equal(ours[0]["img"], theirs[0]["img"])


def test_release_format_rejects_decile_options(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": (DECILES == 9).astype(np.uint8)},
                      release=True)
    with pytest.raises(ValueError, match="need decile PNG labels"):
        make(tree, ignore_deciles=[8])


def test_paddleseg_transforms_pad_with_ignore(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES}, image_size=(20, 30),
                      synsets=imagenet_like_synsets(1000))
    transforms = [T.ResizeStepScaling(0.5, 0.5, 0),
                  T.RandomPaddingCrop(crop_size=(24, 24), label_padding_value=1001),
                  T.RandomHorizontalFlip(), T.RandomRotation(15, label_padding_value=1001),
                  T.Normalize()]
    sample = make(tree, transforms=transforms, edge=True)[0]
    assert sample["img"].shape[0] == 3 and sample["label"].shape == sample["img"].shape[1:]
    assert set(np.unique(sample["label"])) <= {0, 1000, 1001}
    assert 1001 in sample["label"]           # padding
    assert sample["edge"].shape == (1, *sample["label"].shape)   # PaddleSeg: (1, H, W)


def test_paddleseg_builder_reads_pssl_config(tmp_path):
    """The keys of PaddleSeg's configs/pssl/*.yml build our class, and the loss gets 1001."""
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": (DECILES == 9).astype(np.uint8)},
                      release=True, synsets=imagenet_like_synsets(1000))
    cfg = {
        "batch_size": 1, "iters": 1,
        "train_dataset": {"type": "PSSLDataset", **tree, "mode": "train", "transforms": [
            {"type": "RandomPaddingCrop", "crop_size": [16, 16], "label_padding_value": 1001},
            {"type": "Normalize"}]},
        "optimizer": {"type": "SGD"}, "lr_scheduler": {"type": "PolynomialDecay",
                                                       "learning_rate": 0.01},
        "model": {"type": "FCN", "num_classes": 1001, "backbone": {"type": "HRNet_W18_Small_V1"}},
        "loss": {"types": [{"type": "WeightedCrossEntropyLoss"}], "coef": [1]},
    }
    path = tmp_path / "pssl.yml"
    path.write_text(yaml.safe_dump(cfg))
    builder = SegBuilder(Config(str(path)))
    dataset = builder.train_dataset
    assert type(dataset) is PSSLDataset and len(dataset) == 1
    assert builder.loss["types"][0].ignore_index == dataset.ignore_index == 1001
    assert dataset[0]["label"].shape == (16, 16)


# ---------------------------------------------------------------- validation at construction
def test_missing_files_reported_with_count_and_paths(tmp_path):
    labels = {f"{CLASSES[0]}_{i}.JPEG": DECILES for i in range(8)}
    tree = build_tree(tmp_path, labels)
    for i in range(7):
        (tmp_path / "imagenet" / "train" / CLASSES[0] / f"{CLASSES[0]}_{i}.JPEG").unlink()
    with pytest.raises(ValueError) as err:
        make(tree)
    message = str(err.value)
    assert "7 samples have missing files" in message and f"{CLASSES[0]}_0.JPEG" in message
    assert "(2 more)" in message and "skip_missing" in message
    ds = make(tree, skip_missing=True)
    assert len(ds) == 1 and ds.file_list[0][0].endswith(f"{CLASSES[0]}_7.JPEG")


def test_missing_label_reported(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES, f"{CLASSES[0]}_1.JPEG": DECILES})
    (tmp_path / "pssl" / pssl_format.label_relpath(CLASSES[0], f"{CLASSES[0]}_1.JPEG")).unlink()
    with pytest.raises(ValueError, match=r"1 samples have missing files .*_1\.JPEG\.png"):
        make(tree)


def test_malformed_lines_reported_with_line_numbers(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES},
                      extra_lines=["", "train/n01440764/x.JPEG.jpg", "a\tb\tc"])
    with pytest.raises(ValueError) as err:
        make(tree)
    assert "2 malformed lines" in str(err.value)
    assert "line 3:" in str(err.value) and "line 4:" in str(err.value)


def test_unknown_classes_reported_by_name(tmp_path):
    tree = build_tree(tmp_path, {f"{c}_0.JPEG": DECILES for c in CLASSES}, synsets=CLASSES[:1])
    with pytest.raises(ValueError) as err:
        make(tree)
    assert "2 class folders are absent" in str(err.value)
    assert CLASSES[1] in str(err.value) and CLASSES[2] in str(err.value)


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "val"}, "mode must be 'train'"),
    ({"foreground_deciles": [10]}, "foreground_deciles must hold decile values"),
    ({"foreground_deciles": []}, "foreground_deciles is empty"),
    ({"ignore_deciles": [9]}, r"deciles \[9\] are in both"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES})
    with pytest.raises(ValueError, match=match):
        make(tree, **kwargs)


def test_bad_roots_and_missing_synsets(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES})
    with pytest.raises(ValueError, match="imagenet_root .* is not a directory"):
        PSSLDataset(transforms=[], imagenet_root=str(tmp_path / "nope"),
                    pssl_root=tree["pssl_root"])
    (tmp_path / "pssl" / pssl_format.SYNSETS_FILE).unlink()
    with pytest.raises(ValueError, match="holds neither 'synsets.txt'"):
        make(tree)


def test_duplicate_synsets_reported(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES},
                      synsets=[CLASSES[0], CLASSES[1], CLASSES[0]])
    with pytest.raises(ValueError, match="duplicate class names 'n01440764' .lines 1 and 3."):
        make(tree)


# ---------------------------------------------------------------- bad samples at __getitem__
def _one_sample_tree(tmp_path, **kwargs):
    name = f"{CLASSES[0]}_0.JPEG"
    tree = build_tree(tmp_path, {name: kwargs.pop("label", DECILES)}, **kwargs)
    return tree, name


def test_label_value_out_of_range_names_file(tmp_path):
    bad = DECILES.copy()
    bad[0, 0] = 12
    tree, name = _one_sample_tree(tmp_path, label=bad)
    ds = make(tree)
    with pytest.raises(PSSLSampleError,
                       match=rf"label .*{name}\.png: values \[12\]; expected 0..9"):
        ds[0]


def test_label_not_single_channel_names_file(tmp_path):
    tree, name = _one_sample_tree(tmp_path, label=np.dstack([DECILES] * 3))
    with pytest.raises(PSSLSampleError,
                       match=rf"{name}\.png: shape \(8, 12, 3\); expected a single"):
        make(tree)[0]


def test_unreadable_image_names_file(tmp_path):
    tree, name = _one_sample_tree(tmp_path)
    (tmp_path / "imagenet" / "train" / CLASSES[0] / name).write_bytes(b"not an image")
    with pytest.raises(PSSLSampleError, match=rf"image .*{name} cannot be read"):
        make(tree)[0]


def test_release_label_values_and_key_checked(tmp_path):
    tree, name = _one_sample_tree(tmp_path, label=(DECILES % 3).astype(np.uint8), release=True)
    ds = make(tree)
    with pytest.raises(PSSLSampleError, match=r"_eiseg\.npz: values \[2\]; expected 0..1"):
        ds[0]
    np.savez(ds.file_list[0][1], other=np.zeros((2, 2)))
    with pytest.raises(PSSLSampleError, match="cannot read key 'arr_0'"):
        ds[0]


def test_transform_failure_names_sample(tmp_path):
    tree, name = _one_sample_tree(tmp_path)

    def broken(data):
        raise RuntimeError("boom")

    with pytest.raises(PSSLSampleError, match=rf"transforms failed on sample 0 \(image .*{name}"):
        make(tree, transforms=[broken])[0]


# ---------------------------------------------------------------- label padding
def test_default_label_padding_switched_to_ignore_index(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES}, image_size=(20, 30),
                      synsets=imagenet_like_synsets(1000))
    crop = T.RandomPaddingCrop(crop_size=(40, 40))          # PaddleSeg default: pads with 255
    rotation = T.RandomRotation(15)
    sample = make(tree, transforms=[crop, rotation])[0]
    assert crop.label_padding_value == crop.ignore_index == rotation.label_padding_value == 1001
    assert 255 not in sample["label"] and 1001 in sample["label"]


def test_conflicting_label_padding_is_an_error(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES})
    with pytest.raises(PSSLConfigError, match="RandomPaddingCrop.label_padding_value is 0, but"):
        make(tree, transforms=[T.RandomPaddingCrop(crop_size=(4, 4), label_padding_value=0)])
    crop = T.RandomPaddingCrop(crop_size=(4, 4))            # 255 is already the ignore index
    make(tree, transforms=[crop])
    assert crop.label_padding_value == 255


@pytest.mark.parametrize("num_object_classes, expected", [(3, (4, 255)), (1000, (1001, 1001))])
def test_label_space_hook_reads_synsets(tmp_path, num_object_classes, expected):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": DECILES},
                      synsets=imagenet_like_synsets(num_object_classes))
    assert PSSLDataset.label_space_for_config(tree) == expected
    ds = make(tree)
    assert (ds.num_classes, ds.ignore_index) == expected
    with pytest.raises(PSSLConfigError, match="train_dataset.pssl_root None is not a directory"):
        PSSLDataset.label_space_for_config({})


def test_label_of_another_aspect_is_refused_naming_both_files(tmp_path):
    square = np.zeros((8, 8), dtype=np.uint8)                    # image is 8 x 12
    ds = make(build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": square}))
    with pytest.raises(PSSLSampleError, match=r"size 8x8 does not keep the aspect of image "
                                              r".*_0\.JPEG \(12x8\)"):
        ds[0]


# ---------------------------------------------------------------- skip_bad_samples
def _two_samples_first_bad(tmp_path):
    """Sample 0 has a square label for its 8 x 12 image (refused); sample 1 is sound."""
    return build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": np.zeros((8, 8), np.uint8),
                                 f"{CLASSES[0]}_1.JPEG": DECILES})


def test_a_bad_sample_stops_unless_skipping_is_asked(tmp_path):
    with pytest.raises(PSSLSampleError):
        make(_two_samples_first_bad(tmp_path))[0]


def test_skip_bad_samples_logs_one_line_and_substitutes_the_next(tmp_path, capsys):
    ds = make(_two_samples_first_bad(tmp_path), skip_bad_samples=True)
    np.testing.assert_array_equal(ds[0]["label"], ds.load_sample(1)["label"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "[WARNING]" in ln]
    assert len(lines) == 1, lines
    assert "skipped sample 0 (skip_bad_samples): label " in lines[0]
    assert f"{ds.file_list[0][1]}: size 8x8 does not keep the aspect" in lines[0]


def test_skip_bad_samples_still_stops_on_broken_data(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_{i}.JPEG": np.zeros((8, 8), np.uint8)
                                 for i in range(2)})
    with pytest.raises(PSSLSampleError, match="the data look broken"):
        make(tree, skip_bad_samples=True)[0]
