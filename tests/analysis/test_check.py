"""tools/check_pssl.py and its library: every problem of a PSSL root at once, with file names."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from paddleseg_pssl.analysis import check
from paddleseg_pssl.cli import check_pssl
from paddleseg_pssl.datasets.pssl_dataset import PSSLDataset, PSSLSampleError
from tests.datasets.pssl_fixtures import CLASSES, build_tree

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

GOOD = np.arange(96, dtype=np.uint8).reshape(8, 12) % 10       # the image size, 8 x 12
SMALL = np.zeros((4, 6), np.uint8)                               # same aspect, half size


def _tree(tmp_path):
    labels = {f"{CLASSES[0]}_{i}.JPEG": GOOD for i in range(5)}
    labels[f"{CLASSES[1]}_0.JPEG"] = SMALL
    labels[f"{CLASSES[1]}_1.JPEG"] = np.zeros((8, 8), np.uint8)           # another aspect
    labels[f"{CLASSES[1]}_2.JPEG"] = np.full((8, 12), 12, np.uint8)       # out of range
    tree = build_tree(tmp_path, labels, extra_lines=[
        "train/n0000_unknown/a.JPEG.png", "a b c"])
    pssl, imagenet = tree["pssl_root"], tree["imagenet_root"]
    with open(os.path.join(pssl, "train", CLASSES[0], f"{CLASSES[0]}_1.JPEG.png"), "wb") as f:
        f.write(b"\x89PNG truncated")
    os.remove(os.path.join(imagenet, "train", CLASSES[0], f"{CLASSES[0]}_2.JPEG"))
    return tree


EXPECTED = {
    f"{CLASSES[0]}_1.JPEG.png": "cannot be read as an image",
    f"{CLASSES[0]}_2.JPEG": "image file is missing",
    f"{CLASSES[1]}_1.JPEG.png": "does not fit its image",
    f"{CLASSES[1]}_2.JPEG.png": "values [12]; expected 0..9",
    "a.JPEG.png": "not in the synsets file",
    "train.txt:10": "expected '<label> [<image>]'",
}


@pytest.mark.parametrize("workers", [0, 2])
def test_every_problem_is_reported_with_its_file(tmp_path, workers):
    tree = _tree(tmp_path)
    report = check.check_pssl_root(tree["pssl_root"], tree["imagenet_root"], workers=workers,
                                   progress=False)
    assert report.samples == 8 and not report.ok
    found = {os.path.basename(p.where): p.reason for p in report.problems}
    assert sorted(found) == sorted(EXPECTED)
    for name, needle in EXPECTED.items():
        assert needle in found[name], found[name]


def test_clean_root_passes_and_exif_rotation_counts(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": GOOD.T.copy()})    # 12 x 8 label
    image = os.path.join(tree["imagenet_root"], "train", CLASSES[0], f"{CLASSES[0]}_0.JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6                                                     # rotated 90 degrees
    Image.fromarray(np.zeros((8, 12, 3), np.uint8)).save(image, format="JPEG", exif=exif)
    report = check.check_pssl_root(tree["pssl_root"], tree["imagenet_root"], progress=False)
    assert report.ok, report.problems


def test_a_label_at_another_resolution_than_recorded_is_a_problem(tmp_path):
    """Short side 32 recorded: a 32 x 48 label fits the 8 x 12 image, one at twice that short
    side (same aspect) does not."""
    short_side = 32
    scale = short_side // GOOD.shape[0]
    tree = build_tree(tmp_path, {
        f"{CLASSES[0]}_0.JPEG": np.kron(GOOD, np.ones((scale, scale), np.uint8)),
        f"{CLASSES[0]}_1.JPEG": np.kron(GOOD, np.ones((2 * scale, 2 * scale), np.uint8))})
    with open(os.path.join(tree["pssl_root"], "manifest.json"), "w") as f:
        json.dump({"settings": {"resolution": {"short_side": short_side}}}, f)
    report = check.check_pssl_root(tree["pssl_root"], tree["imagenet_root"], workers=0,
                                   progress=False)
    assert [os.path.basename(p.where) for p in report.problems] == [f"{CLASSES[0]}_1.JPEG.png"]
    assert "size 96x64 is not the 48x32 the recorded resolution" in report.problems[0].reason


def test_command_line_lists_problems_and_exits_1(tmp_path, capsys):
    tree = _tree(tmp_path)
    status = check_pssl.main(["--pssl_root", tree["pssl_root"], "--imagenet_root",
                              tree["imagenet_root"], "--quiet"])
    out, err = capsys.readouterr()
    assert status == 1 and len(out.splitlines()) == len(EXPECTED)
    assert "8 samples checked" in err and f"{len(EXPECTED)} problems" in err


def test_command_line_bad_root_exits_2(tmp_path, capsys):
    assert check_pssl.main(["--pssl_root", str(tmp_path / "none"), "--imagenet_root",
                            str(tmp_path), "--quiet"]) == 2
    assert "pssl_root" in capsys.readouterr().err


def test_an_image_the_dataset_cannot_read_is_a_problem(tmp_path):
    """A palette GIF under a .JPEG name: PIL reads it, the dataset's reader does not."""
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": GOOD})
    image = os.path.join(tree["imagenet_root"], "train", CLASSES[0], f"{CLASSES[0]}_0.JPEG")
    Image.fromarray(np.zeros((8, 12, 3), np.uint8)).convert("P").save(image, format="GIF")
    report = check.check_pssl_root(tree["pssl_root"], tree["imagenet_root"], workers=0,
                                   progress=False)
    assert [p.where for p in report.problems] == [image]
    with pytest.raises(PSSLSampleError) as refused:
        PSSLDataset(transforms=[{"type": "Normalize"}], **tree)[0]
    assert str(refused.value) == report.problems[0].reason


def test_an_empty_train_list_exits_2(tmp_path, capsys):
    tree = build_tree(tmp_path, {})
    os.makedirs(tree["imagenet_root"])
    assert check_pssl.main(["--pssl_root", tree["pssl_root"], "--imagenet_root",
                            tree["imagenet_root"], "--quiet"]) == 2
    assert "lists no samples" in capsys.readouterr().err


@pytest.mark.slow
def test_stdout_holds_the_problem_lines_alone(tmp_path):
    tree = _tree(tmp_path)
    proc = subprocess.run([sys.executable, "tools/check_pssl.py", "--pssl_root",
                           tree["pssl_root"], "--imagenet_root", tree["imagenet_root"],
                           "--quiet", "--num_workers", "0"], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len(EXPECTED), proc.stdout
    assert all(any(name in line for name in EXPECTED) for line in lines), proc.stdout
