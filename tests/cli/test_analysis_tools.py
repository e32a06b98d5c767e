"""Smoke runs of the analysis tools on tiny fixtures (evaluate, visualize, predict, classify).

predict / classify_eval build a tiny BiSeNetV2 (3 classes + background) through a PaddleSeg
config and ``import paddleseg_pssl``, as users do.
"""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from paddleseg_pssl.cli import classify_eval, evaluate_pssl, predict, visualize_pssl
from tests.analysis.tiny_pssl import CLASSES, MODELS, make_tiny_pssl
from tests.fixtures.photos import shown_upright, write_rotated_photo

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def tiny(tmp_path):
    return make_tiny_pssl(tmp_path)


def test_evaluate_writes_reports_and_counts_missing_masks(tiny, tmp_path, capsys):
    out = tmp_path / "report"
    status = evaluate_pssl.main(["--pssl_root", str(tiny["pssl"]), "--mask_root",
                                 str(tiny["masks"]), "--mask_format", "binary", "--per_model",
                                 "--thresholds", "1", "2", "--output", str(out), "--quiet"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "| consensus | 3 |" in printed and "without a mask: 1" in printed
    for name in ("label_quality.md", "label_quality.csv", "label_quality.json",
                 "label_quality.png", "label_quality_missing_masks.txt"):
        assert (out / name).is_file(), name
    with open(out / "label_quality.csv") as f:
        rows = list(csv.DictReader(f))
    sources = {r["source"] for r in rows}
    assert sources == {"consensus", "centred prior", *MODELS}
    assert len(rows) == 10 * len(sources)
    summary = json.loads((out / "label_quality.json").read_text())
    assert summary["scored"] == 3 and summary["missing_masks"] == 1
    d9 = summary["sources"]["consensus"]["by_top_k"]["1"]
    prior = summary["sources"]["centred prior"]["by_top_k"]["1"]
    # the fixture's explanations sit on the object: the labels beat the centred prior
    assert d9["micro_iou"] > prior["micro_iou"]
    assert (out / "label_quality_missing_masks.txt").read_text().strip() == \
        f"train/{CLASSES[1]}/{CLASSES[1]}_1.JPEG"


def test_evaluate_bad_inputs_name_the_problem(tiny, tmp_path, capsys):
    status = evaluate_pssl.main(["--pssl_root", str(tmp_path / "nope"), "--mask_root",
                                 str(tiny["masks"]), "--mask_format", "binary", "--quiet"])
    assert status == 2
    assert "pssl_root" in capsys.readouterr().err
    # binary masks read as ImageNet-S: the error names the file and the expected encoding
    status = evaluate_pssl.main(["--pssl_root", str(tiny["pssl"]), "--mask_root",
                                 str(tiny["masks"]), "--mask_format", "imagenet_s", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and ".png" in err and "R + 256*G" in err
    # no mask matches at all
    empty = tmp_path / "empty_masks"
    empty.mkdir()
    status = evaluate_pssl.main(["--pssl_root", str(tiny["pssl"]), "--mask_root", str(empty),
                                 "--mask_format", "binary", "--quiet"])
    assert status == 2 and "no mask found" in capsys.readouterr().err


def test_evaluate_imagenet_s_masks(tmp_path, capsys):
    tiny = make_tiny_pssl(tmp_path, missing_mask=False)
    # rewrite the binary masks as ImageNet-S RGB: object = class id 7 (G=0), some ignore
    ims = tmp_path / "imagenet_s"
    for cls in CLASSES:
        (ims / cls).mkdir(parents=True)
        for k in range(2):
            src = np.asarray(Image.open(tiny["masks"] / "train" / cls / f"{cls}_{k}.png"))
            ids = np.where(src > 0, 7, 0)
            ids[0, :] = 1000
            rgb = np.stack([ids % 256, ids // 256, np.zeros_like(ids)], -1).astype(np.uint8)
            Image.fromarray(rgb).save(ims / cls / f"{cls}_{k}.png")  # no train/ folder
    status = evaluate_pssl.main(["--pssl_root", str(tiny["pssl"]), "--mask_root", str(ims),
                                 "--mask_format", "imagenet_s", "--quiet"])
    assert status == 0
    assert "scored: 4, without a mask: 0" in capsys.readouterr().out


def test_visualize_writes_panels(tiny, tmp_path, capsys):
    out = tmp_path / "vis"
    status = visualize_pssl.main(["--pssl_root", str(tiny["pssl"]), "--image_root",
                                  str(tiny["images"]), "--images", "2", "--output", str(out)])
    assert status == 0
    pngs = sorted(p.name for p in out.iterdir())
    assert "grid.png" in pngs and len(pngs) == 3
    status = visualize_pssl.main(["--pssl_root", str(tiny["pssl"]), "--image_root",
                                  str(tiny["images"]), "--list", f"{CLASSES[0]}_1.JPEG",
                                  "--output", str(tmp_path / "vis2")])
    assert status == 0 and (tmp_path / "vis2" / f"{CLASSES[0]}__{CLASSES[0]}_1.JPEG.png").is_file()
    status = visualize_pssl.main(["--pssl_root", str(tiny["pssl"]), "--image_root",
                                  str(tmp_path / "missing"), "--output", str(out)])
    assert status == 2 and "image_root" in capsys.readouterr().err


def test_visualize_draws_the_true_mask_beside_the_label(tiny, tmp_path, capsys):
    args = ["--pssl_root", str(tiny["pssl"]), "--image_root", str(tiny["images"]), "--images",
            "4", "--output", str(tmp_path / "vis"), "--mask_root", str(tiny["masks"])]
    assert visualize_pssl.main(args) == 2
    assert "--mask_root needs --mask_format" in capsys.readouterr().err
    assert visualize_pssl.main(args + ["--mask_format", "binary"]) == 0
    out = capsys.readouterr().out
    assert out.count("no mask for") == 1   # the fixture's last image has none
    assert len(list((tmp_path / "vis").glob("*.png"))) == 5


def test_visualize_draws_a_photo_turned_by_its_exif_orientation(tiny):
    image_rel = f"train/{CLASSES[0]}/{CLASSES[0]}_0.JPEG"
    write_rotated_photo(tiny["images"] / image_rel, 48, 64)
    label_rel = f"train/{CLASSES[0]}/{CLASSES[0]}_0.JPEG.png"
    panel = visualize_pssl.load_panel(str(tiny["pssl"]), str(tiny["images"]), label_rel,
                                      image_rel, [])
    assert shown_upright(panel.image)


def test_visualize_names_the_class_from_a_names_file(tiny, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("first class\nsecond class\n")
    image_rel = f"train/{CLASSES[1]}/{CLASSES[1]}_0.JPEG"
    panel = visualize_pssl.load_panel(str(tiny["pssl"]), str(tiny["images"]), image_rel + ".png",
                                      image_rel, [],
                                      visualize_pssl.class_names(str(tiny["pssl"]), str(names)))
    assert panel.class_name == "second class"
    status = visualize_pssl.main(["--pssl_root", str(tiny["pssl"]), "--image_root",
                                  str(tiny["images"]), "--names", str(tmp_path / "nope.txt"),
                                  "--output", str(tmp_path / "vis")])
    assert status == 2


TINY_CONFIG = """
batch_size: 1
iters: 1
model:
  type: BiSeNetV2
  num_classes: 4
train_dataset:
  type: Dataset
  mode: train
  num_classes: 4
  dataset_root: {root}
  train_path: {root}/train.txt
  transforms:
    - type: Normalize
optimizer:
  type: SGD
lr_scheduler:
  type: PolynomialDecay
  learning_rate: 0.01
loss:
  types:
    - type: CrossEntropyLoss
  coef: [1, 1, 1, 1, 1]
"""


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A BiSeNetV2 with 3 classes + background, its config, weights, synsets and images."""
    import paddle
    import paddleseg_pssl  # noqa: F401
    from paddleseg.models import BiSeNetV2

    root = tmp_path_factory.mktemp("tiny_model")
    (root / "train.txt").write_text("x.png y.png\n")
    (root / "config.yml").write_text(TINY_CONFIG.format(root=root))
    paddle.seed(0)
    paddle.save(BiSeNetV2(num_classes=4).state_dict(), str(root / "model.pdparams"))
    (root / "synsets.txt").write_text("c0 zero, nought\nc1 one\nc2\n")
    rng = np.random.default_rng(0)
    for cls in ("c0", "c1", "c2", "not_a_class"):
        (root / "data" / "val" / cls).mkdir(parents=True)
        Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(
            root / "data" / "val" / cls / "0.jpg")
    return root


def test_predict_writes_overlays_with_named_legend(tiny_model, tmp_path, capsys):
    out = tmp_path / "pred"
    images = tiny_model / "data" / "val"
    status = predict.main(["--config", str(tiny_model / "config.yml"), "--model_path",
                           str(tiny_model / "model.pdparams"), "--synsets",
                           str(tiny_model / "synsets.txt"), "--images", str(images / "c0"),
                           str(images / "c1" / "0.jpg"), "--output", str(out), "--top_k", "2",
                           "--device", "cpu", "--background_index", "-1"])  # not a PSSL config
    assert status == 0, capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir())
    assert "0_prediction.png" in names and "c1_0_prediction.png" in names
    classes = np.asarray(Image.open(out / "0_classes.png"))
    assert classes.shape == (64, 64) and classes.max() <= 3
    summary = json.loads((out / "predictions.json").read_text())
    first = next(iter(summary.values()))
    legend_names = {e["name"] for e in first["legend"]}
    assert legend_names <= {"zero", "one", "c2", "background"}
    assert len(first["image_top5"]) == 3


def test_predict_names_the_legend_from_a_names_file(tiny_model, tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("".join(f"{cid} name {cid}\n" for cid in ("c0", "c1", "c2")))
    status = predict.main(["--config", str(tiny_model / "config.yml"), "--model_path",
                           str(tiny_model / "model.pdparams"), "--synsets",
                           str(tiny_model / "synsets.txt"), "--names", str(names), "--images",
                           str(tiny_model / "data" / "val" / "c0"), "--output",
                           str(tmp_path / "pred"), "--device", "cpu", "--background_index", "-1"])
    assert status == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "pred" / "predictions.json").read_text())
    shown = {e["name"] for e in next(iter(summary.values()))["image_top5"]}
    assert shown == {"name c0", "name c1", "name c2"}


def test_predict_rejects_wrong_synsets(tiny_model, tmp_path, capsys):
    bad = tmp_path / "syn.txt"
    bad.write_text("a\nb\n")
    status = predict.main(["--config", str(tiny_model / "config.yml"), "--model_path",
                           str(tiny_model / "model.pdparams"), "--synsets", str(bad),
                           "--images", str(tiny_model / "data" / "val" / "c0"),
                           "--output", str(tmp_path / "o"), "--device", "cpu"])
    assert status == 2 and "4 outputs" in capsys.readouterr().err


def test_classify_eval_reports_accuracy(tiny_model, tmp_path, capsys):
    out = tmp_path / "acc.json"
    status = classify_eval.main(["--config", str(tiny_model / "config.yml"), "--model_path",
                                 str(tiny_model / "model.pdparams"), "--synsets",
                                 str(tiny_model / "synsets.txt"), "--image_root",
                                 str(tiny_model / "data"), "--output", str(out), "--quiet",
                                 "--device", "cpu"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "top-1:" in captured.out and "not_a_class" in captured.err
    result = json.loads(out.read_text())
    assert result["images"] == 3 and 0.0 <= result["top1"] <= result["top5"] == 1.0


@pytest.mark.slow
def test_launcher_runs_help():
    proc = subprocess.run([sys.executable, os.path.join(REPO, "tools", "evaluate_pssl.py"),
                           "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--mask_format" in proc.stdout


def test_evaluate_class_index_masks_with_offset(tmp_path, capsys):
    tiny = make_tiny_pssl(tmp_path, missing_mask=False)
    ci = tmp_path / "class_index"
    for c, cls in enumerate(CLASSES):
        (ci / "train" / cls).mkdir(parents=True)
        for k in range(2):
            src = np.asarray(Image.open(tiny["masks"] / "train" / cls / f"{cls}_{k}.png"))
            # VOC-like: 0 background, class c -> c + 1, a stray pixel of the other class
            arr = np.where(src > 0, c + 1, 0).astype(np.uint8)
            arr[-1, -1] = 2 - c
            Image.fromarray(arr).save(ci / "train" / cls / f"{cls}_{k}_gt.png")
    args = ["--pssl_root", str(tiny["pssl"]), "--mask_root", str(ci), "--mask_format",
            "class_index", "--mask_suffix", "_gt", "--quiet", "--output", str(tmp_path / "o")]
    assert evaluate_pssl.main(args + ["--class_id_offset", "1"]) == 0
    with_offset = json.loads((tmp_path / "o" / "label_quality.json").read_text())
    assert with_offset["scored"] == 4
    assert with_offset["sources"]["consensus"]["by_top_k"]["1"]["micro_iou"] > 0.5
    capsys.readouterr()
