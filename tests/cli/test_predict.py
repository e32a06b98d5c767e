"""tools/predict.py: PSSL models (classes + background) and fine-tuned ones (dataset classes)."""
import json
import pathlib

import numpy as np
import paddle
import pytest
from PIL import Image

import paddleseg_pssl  # noqa: F401
from paddleseg.cvlibs import Config

from paddleseg_pssl.training.builder import PSSLSegBuilder
from paddleseg_pssl.cli import predict as predict_cli
from paddleseg_pssl.datasets.camvid import CamVid
from tests.fixtures.photos import shown_upright, write_rotated_photo
from tests.fixtures.tiny_finetune_config import write_camvid_style_config
from tests.fixtures.tiny_pssl_config import write_config

IMAGE_SIZE = 32


def save_weights(config: str, path: pathlib.Path) -> pathlib.Path:
    paddle.seed(0)
    paddle.save(PSSLSegBuilder(Config(config)).model.state_dict(), str(path))
    return path


@pytest.fixture
def image(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)).save(path)
    return path


def predict(config: str, weights: pathlib.Path, image: pathlib.Path, out: pathlib.Path,
            *extra: str) -> int:
    return predict_cli.main(["--config", config, "--model_path", str(weights), "--image_path",
                             str(image), "--save_dir", str(out), *extra])


def legend_classes(out: pathlib.Path) -> list:
    summary = json.loads((out / "predictions.json").read_text())
    (entry,) = summary.values()
    return [item["class"] for item in entry["legend"]] + \
        [item["class"] for item in entry["image_top5"]]


def test_fine_tuned_model_predicts_its_dataset_classes_without_names(tmp_path, image):
    config = write_camvid_style_config(tmp_path)
    weights = save_weights(config, tmp_path / "model.pdparams")
    out = tmp_path / "out"
    assert predict(config, weights, image, out) == 0
    classes = legend_classes(out)
    assert classes and set(classes) <= {str(i) for i in range(CamVid.NUM_CLASSES)}
    assert np.asarray(Image.open(out / "photo_classes.png")).max() < CamVid.NUM_CLASSES


def test_fine_tuned_model_takes_one_name_per_output(tmp_path, image, capsys):
    config = write_camvid_style_config(tmp_path)
    weights = save_weights(config, tmp_path / "model.pdparams")
    names = tmp_path / "names.txt"
    names.write_text("\n".join(f"class{i}" for i in range(CamVid.NUM_CLASSES)))
    out = tmp_path / "out"
    assert predict(config, weights, image, out, "--synsets", str(names), "--aug_pred",
                   "--flip_horizontal", "--scales", "0.75", "1.0") == 0
    assert "background" not in legend_classes(out)
    names.write_text("\n".join(f"class{i}" for i in range(CamVid.NUM_CLASSES - 1)))
    assert predict(config, weights, image, tmp_path / "o2", "--synsets", str(names)) == 2
    assert f"the model has {CamVid.NUM_CLASSES} outputs" in capsys.readouterr().err


def test_pssl_model_keeps_its_background_output(tmp_path, image):
    config = write_config(tmp_path / "data", 3)
    weights = save_weights(config, tmp_path / "model.pdparams")
    synsets = Config(config).train_dataset_cfg["pssl_root"] + "/synsets.txt"
    out = tmp_path / "out"
    assert predict(config, weights, image, out, "--synsets", synsets) == 0
    summary = json.loads((out / "predictions.json").read_text())
    (entry,) = summary.values()
    assert all(item["class"] != "background" for item in entry["image_top5"])
    assert all(item["channel"] == 3 for item in entry["legend"] if item["class"] == "background")


@pytest.mark.parametrize("flags, message", [
    (["--flip_vertical"], "--flip_vertical works only with --aug_pred"),
    (["--is_slide"], "--is_slide needs --crop_size W H and --stride W H"),
    (["--stride", "8", "8"], "--crop_size/--stride work only with --is_slide"),
    (["--custom_color", "1", "2"], "--custom_color takes R G B triples")])
def test_paddleseg_flags_without_effect_are_refused_in_one_line(flags, message, tmp_path,
                                                                 capsys):
    assert predict_cli.main(["--config", "c.yml", "--model_path", str(tmp_path), "--image_path",
                             "a.png", "--save_dir", str(tmp_path / "o"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_custom_color_replaces_the_first_class_colours():
    palette = np.zeros((4, 3), np.uint8)
    coloured = predict_cli.apply_custom_color(palette, [1, 2, 3, 4, 5, 6])
    assert coloured[:2].tolist() == [[1, 2, 3], [4, 5, 6]] and coloured[2:].max() == 0


def test_missing_images_name_paths_in_the_library_and_images_on_the_command_line(tmp_path,
                                                                                capsys):
    from paddleseg_pssl.analysis.prediction import list_images
    from paddleseg_pssl.cli import common
    from paddleseg_pssl.errors import PSSLConfigError

    gone = str(tmp_path / "gone.jpg")
    with pytest.raises(PSSLConfigError, match=r"^paths '.*gone\.jpg' is neither"):
        list_images([gone])
    assert common.run_guarded("t", lambda: list_images([gone])) == 2
    assert capsys.readouterr().err.startswith(f"t: error: --images {gone!r} is neither")


def test_overlay_photo_is_turned_by_its_exif_orientation_as_the_prediction(tmp_path,
                                                                           monkeypatch):
    config = write_camvid_style_config(tmp_path)
    weights = save_weights(config, tmp_path / "model.pdparams")
    photo = write_rotated_photo(tmp_path / "phone.jpg", IMAGE_SIZE * 2, IMAGE_SIZE)
    drawn = {}
    monkeypatch.setattr(predict_cli, "save_prediction_figure",
                        lambda image, pred, *_, **__: drawn.update(image=image, pred=pred) or "")
    assert predict(config, weights, photo, tmp_path / "out") == 0
    assert drawn["image"].shape[:2] == drawn["pred"].shape == (IMAGE_SIZE * 2, IMAGE_SIZE)
    assert shown_upright(drawn["image"])
