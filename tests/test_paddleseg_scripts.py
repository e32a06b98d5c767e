"""PaddleSeg's own scripts with the plugin: the start-up hook, the runner, under launch.

Most scripts are stand-ins written here that do what PaddleSeg 2.8's ``tools/train.py`` does
(``Config`` -> ``SegBuilder`` -> ``paddleseg.core.train``); PaddleSeg's files are not part of
this repository. The deployment path (train -> predict -> export -> ``deploy/python/infer.py``)
runs PaddleSeg's own scripts from a v2.8.0 checkout (``$PADDLESEG_ROOT``, default
``../PaddleSeg``) and skips without one. The installed ``.pth`` is emulated by a ``sitecustomize`` that processes a
copy of it at start-up (``site.addsitedir``, what start-up does with site-packages), so every
process, launch workers included, starts as in an environment with the package installed.
"""
import os
import pathlib
import subprocess
import sys
from typing import Dict, List

import numpy as np
import paddle
import pytest
import yaml
from PIL import Image

import paddleseg_pssl  # noqa: F401  (registers PSSLDataset, as the scripts' processes do)
from paddleseg.cvlibs import Config

from paddleseg_pssl import plugin
from paddleseg_pssl.errors import EXIT_BAD_INPUT
from paddleseg_pssl.training.builder import PSSLSegBuilder
from paddleseg_pssl_autoload import CCACHE_WARNING
from tests.fixtures.tiny_pssl_config import MINIATURE_MODEL, write_config

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
PTH = REPO_ROOT / "paddleseg_pssl_autoload.pth"

#: Does what PaddleSeg 2.8's tools/train.py does, with a subset of its flags.
STOCK_STYLE_TRAIN = '''
import argparse
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.core import train
from paddleseg.utils import utils

parser = argparse.ArgumentParser()
parser.add_argument("--config")
parser.add_argument("--save_dir")
parser.add_argument("--opts", nargs="+")
args = parser.parse_args()
cfg = Config(args.config, opts=args.opts)
builder = SegBuilder(cfg)
utils.show_cfg_info(cfg)
utils.set_device("cpu")
model = utils.convert_sync_batchnorm(builder.model, "cpu")
train(model, builder.train_dataset, optimizer=builder.optimizer, losses=builder.loss,
      save_dir=args.save_dir, iters=cfg.iters, batch_size=cfg.batch_size, save_interval=1,
      log_iters=1, to_static_training=cfg.to_static_training)
'''

#: Reports what start-up left in the interpreter.
STARTUP_PROBE = ("import sys; print(sorted(m for m in ('paddle', 'paddleseg', 'paddleseg_pssl') "
                 "if m in sys.modules), any(type(f).__name__ == 'AfterPaddleSegFinder' "
                 "for f in sys.meta_path))")


def hooked_env(tmp_path: pathlib.Path, **extra: str) -> Dict[str, str]:
    """Environment whose interpreters start with the autoload .pth processed."""
    site_dir = tmp_path / "site"
    site_dir.mkdir(exist_ok=True)
    (site_dir / PTH.name).write_text(PTH.read_text())
    (site_dir / "sitecustomize.py").write_text(
        "import os, site\nsite.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n")
    return dict(os.environ, PYTHONPATH=f"{site_dir}{os.pathsep}{REPO_ROOT}",
                OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)


def run(args: List[str], env: Dict[str, str], cwd: pathlib.Path
        ) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def details(proc: subprocess.CompletedProcess) -> str:
    return f"rc={proc.returncode}\nSTDOUT:\n{proc.stdout[-3000:]}\nSTDERR:\n{proc.stderr[-3000:]}"


def output_classes(checkpoint: pathlib.Path) -> int:
    """Output channels of the classifier of a saved miniature DeepLabV3."""
    state = paddle.load(str(checkpoint))
    return [v.shape[0] for k, v in state.items() if k.startswith("head.cls")][0]


@pytest.fixture
def stock_train(tmp_path: pathlib.Path) -> pathlib.Path:
    script = tmp_path / "paddleseg_tools" / "train.py"
    script.parent.mkdir()
    script.write_text(STOCK_STYLE_TRAIN)
    return script


def test_startup_hook_loads_nothing_until_paddleseg_is_imported(tmp_path):
    proc = run([sys.executable, "-c", STARTUP_PROBE], hooked_env(tmp_path), tmp_path)
    assert proc.stdout.split() == ["[]", "True"], details(proc)
    proc = run([sys.executable, "-c", STARTUP_PROBE],
               hooked_env(tmp_path, PADDLESEG_PSSL_AUTOLOAD="0"), tmp_path)
    assert proc.stdout.split() == ["[]", "False"], details(proc)


@pytest.mark.slow
def test_stock_style_train_script_runs_with_the_hook(stock_train, tmp_path):
    config = write_config(tmp_path / "data", 10)
    out = tmp_path / "out"
    proc = run([sys.executable, str(stock_train), "--config", config, "--save_dir", str(out),
                "--opts", "model.pretrained=null"], hooked_env(tmp_path), tmp_path)
    assert proc.returncode == 0, details(proc)
    assert plugin.summary() in proc.stdout and CCACHE_WARNING not in proc.stderr
    assert output_classes(out / "iter_1" / "model.pdparams") == 11  # 10 classes + background


#: How each way of loading the plugin starts a stock script: the hook, the runner.
LOADERS = pytest.mark.parametrize("autoload, runner",
                                  [("1", []), ("0", ["-m", "paddleseg_pssl.run"])],
                                  ids=["hook", "runner"])


def run_stock_train(stock_train: pathlib.Path, config: str, tmp_path: pathlib.Path,
                    autoload: str, runner: List[str], *opts: str
                    ) -> subprocess.CompletedProcess:
    """The stand-in train.py on ``config`` with the plugin loaded by the hook or the runner."""
    return run([sys.executable, *runner, str(stock_train), "--config", config, "--save_dir",
                str(tmp_path / "out"), *(["--opts", *opts] if opts else [])],
               hooked_env(tmp_path, PADDLESEG_PSSL_AUTOLOAD=autoload), tmp_path)


def assert_config_error(proc: subprocess.CompletedProcess, message_end: str) -> None:
    """One stderr line ending in ``message_end``, exit status 2, before the config dump."""
    assert proc.returncode == EXIT_BAD_INPUT and "Traceback" not in proc.stderr, details(proc)
    assert proc.stderr.strip().splitlines()[-1].endswith(message_end), details(proc)
    assert "Config Information" not in proc.stdout + proc.stderr, details(proc)


@pytest.mark.slow
@LOADERS
def test_disagreeing_config_ends_in_one_line(autoload, runner, stock_train, tmp_path):
    config = write_config(tmp_path / "data", 10, model={"num_classes": 1001})
    proc = run_stock_train(stock_train, config, tmp_path, autoload, runner)
    assert_config_error(
        proc, "model.num_classes is 1001 but the train dataset has 11 classes (10 object "
        "classes + background 10, ignore index 255); remove model.num_classes from the config "
        "(it is read from the data)")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@LOADERS
def test_misspelt_dataset_key_is_named_before_any_folder_is_read(autoload, runner, stock_train,
                                                                 tmp_path):
    config = write_config(tmp_path / "data", 10)
    proc = run_stock_train(stock_train, config, tmp_path, autoload, runner,
                           "train_dataset.pssl_rot=/elsewhere")
    assert_config_error(proc, "train_dataset.pssl_rot: PSSLDataset takes no argument 'pssl_rot' "
                              "(close match: pssl_root); expected one of transforms, "
                              "imagenet_root, pssl_root, mode, edge, foreground_deciles, "
                              "ignore_deciles, skip_missing, verify_files, subset, subset_seed, "
                              "skip_bad_samples")


@pytest.mark.slow
@LOADERS
def test_missing_image_root_is_named_with_its_section(autoload, runner, stock_train, tmp_path):
    config = write_config(tmp_path / "data", 10)
    proc = run_stock_train(stock_train, config, tmp_path, autoload, runner,
                           f"train_dataset.imagenet_root={tmp_path / 'none'}")
    assert_config_error(proc, "Fix the path, or override it with --opts "
                              "train_dataset.imagenet_root=<dir>")
    assert f"train_dataset.imagenet_root '{tmp_path / 'none'}' does not exist" in proc.stderr


def test_runner_refuses_a_missing_script(tmp_path, capsys):
    from paddleseg_pssl import run as runner

    assert runner.main([str(tmp_path / "nope.py")]) == 2
    assert "is not a file" in capsys.readouterr().err
    assert runner.main([]) == 2


@pytest.mark.slow
def test_stock_style_script_under_distributed_launch(stock_train, tmp_path):
    config = write_config(tmp_path / "data", 10)
    out, logs = tmp_path / "out", tmp_path / "logs"
    proc = run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                "--log_dir", str(logs), str(stock_train), "--config", config,
                "--save_dir", str(out)], hooked_env(tmp_path), tmp_path)
    worker_logs = "".join(p.read_text(errors="replace")[-2000:]
                          for p in sorted(logs.glob("workerlog.*")))
    assert proc.returncode == 0, details(proc) + worker_logs
    # PaddleSeg logs on rank 0 only; rank 1 could not have built the model without the plugin.
    assert plugin.summary() in (logs / "workerlog.0").read_text(errors="replace")
    assert output_classes(out / "iter_1" / "model.pdparams") == 11


@pytest.mark.slow
def test_runner_without_arguments_prints_usage_without_loading_paddle(tmp_path):
    proc = run([sys.executable, "-X", "importtime", "-m", "paddleseg_pssl.run"],
               dict(os.environ, PYTHONPATH=str(REPO_ROOT), PADDLESEG_PSSL_AUTOLOAD="0"), tmp_path)
    assert proc.returncode == 2 and "usage: python -m paddleseg_pssl.run" in proc.stderr, \
        details(proc)
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")]
    assert "paddleseg_pssl" in imported and "paddle" not in imported, details(proc)


def finetune_config(tmp_path: pathlib.Path) -> pathlib.Path:
    """A tiny fine-tuning config (miniature DeepLabV3, the 3-class tiny data) started from a
    10-class PSSL checkpoint; paths relative to the repository root, as the fixture configs."""
    pssl_config = write_config(tmp_path / "pssl", 10)
    checkpoint = tmp_path / "pssl_model.pdparams"
    paddle.save(PSSLSegBuilder(Config(pssl_config)).model.state_dict(), str(checkpoint))
    model = yaml.safe_load(MINIATURE_MODEL.read_text())["model"]
    path = tmp_path / "finetune.yml"
    path.write_text(yaml.safe_dump({
        "_base_": str(REPO_ROOT / "tests" / "fixtures" / "configs" / "_base_" /
                      "tiny_dataset.yml"),
        "model": {**model, "pretrained": str(checkpoint)}}))
    return path


def class_map(png: pathlib.Path) -> np.ndarray:
    """The class ids of a palette PNG as PaddleSeg's scripts write them."""
    with Image.open(png) as image:
        assert image.mode == "P", png
        return np.array(image)


@pytest.mark.slow
def test_stock_scripts_train_export_infer_as_predict(paddleseg_root, tmp_path):
    config, out = str(finetune_config(tmp_path)), tmp_path / "out"
    image = REPO_ROOT / "tests" / "fixtures" / "data" / "tiny" / "images" / "val" / "000.png"
    env = hooked_env(tmp_path)

    def stock(script: str, *args) -> subprocess.CompletedProcess:
        proc = run([sys.executable, str(paddleseg_root / script), *map(str, args)], env,
                   REPO_ROOT)
        assert proc.returncode == 0, script + "\n" + details(proc)
        return proc

    stock("tools/train.py", "--config", config, "--save_dir", out, "--iters", 2,
          "--save_interval", 2)
    weights = out / "iter_2" / "model.pdparams"
    stock("tools/predict.py", "--config", config, "--model_path", weights, "--image_path",
          image, "--save_dir", tmp_path / "predict")
    stock("tools/export.py", "--config", config, "--model_path", weights, "--save_dir",
          tmp_path / "inference_model")
    infer = stock("deploy/python/infer.py", "--config", tmp_path / "inference_model" /
                  "deploy.yaml", "--image_path", image, "--save_dir", tmp_path / "infer",
                  "--device", "cpu")
    inferred = tmp_path / "infer" / image.name
    assert inferred.is_file(), details(infer)  # infer.py exits 0 when its predictor fails
    np.testing.assert_array_equal(
        class_map(inferred), class_map(tmp_path / "predict" / "pseudo_color_prediction" /
                                       image.name))
