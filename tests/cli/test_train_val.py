"""Tests for tools/train.py and tools/val.py (paddleseg_pssl.cli.train / .val).

Bad input is checked in-process (fast) and once through a real subprocess; the smoke runs are
real subprocesses on CPU: 2 iterations on 64x64 images, 3 classes.
"""
import os
import pathlib
import subprocess
import sys
from typing import List

import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import Config

from paddleseg_pssl import pssl_format
from paddleseg_pssl.cli import train as train_cli
from paddleseg_pssl.cli import val as val_cli
from paddleseg_pssl.errors import EXIT_BAD_SAMPLE
from paddleseg_pssl.training.builder import PSSLSegBuilder
from tests.datasets.pssl_fixtures import CLASSES
from tests.fixtures.tiny_dataset import write_tiny_dataset
from tests.fixtures.tiny_pssl_config import write_config

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = REPO_ROOT / "tests" / "fixtures" / "configs"
FAST_CONFIG = CONFIGS / "bisenetv2_tiny.yml"
PAPER_CONFIGS = ["pspnet_resnet50_vd", "deeplabv3_resnet50_vd", "ocrnet_hrnetw18"]
#: Bound on a run that meets a bad sample: a hang fails the test instead of blocking the suite.
BAD_SAMPLE_TIMEOUT_S = 180


def run_tool(args: List[str], tmp_path: pathlib.Path, timeout: int = 600
             ) -> subprocess.CompletedProcess:
    """Run a command from the repository root with one OpenMP thread, capturing output."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def details(proc: subprocess.CompletedProcess) -> str:
    return f"rc={proc.returncode}\nSTDOUT:\n{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-4000:]}"


@pytest.fixture
def tiny_config(tmp_path: pathlib.Path) -> pathlib.Path:
    """The fast fixture config, re-pointed at a dataset written into tmp_path."""
    data = write_tiny_dataset(tmp_path / "data")
    config = tmp_path / "tiny.yml"
    config.write_text(
        f"_base_: {FAST_CONFIG}\n"
        f"train_dataset:\n  dataset_root: {data}\n  train_path: {data / 'train.txt'}\n"
        f"val_dataset:\n  dataset_root: {data}\n  val_path: {data / 'val.txt'}\n",
        encoding="utf-8")
    return config


# ------------------------------------------------------------------ flags and bad input

def test_parsers_accept_paddleseg_flags():
    args = train_cli.build_parser().parse_args(
        "--config c.yml --device cpu --save_dir out --iters 3 --batch_size 2 --learning_rate "
        "0.1 --num_workers 1 --do_eval --use_vdl --seed 5 --precision fp16 --amp_level O2 "
        "--resume_model out/iter_2 --save_interval 2 --log_iters 1 --keep_checkpoint_max 2 "
        "--opts batch_size=1 iters=2".split())
    assert (args.iters, args.precision, args.amp_level, args.opts) == (
        3, "fp16", "O2", ["batch_size=1", "iters=2"])
    args = val_cli.build_parser().parse_args(
        "--config c.yml --model_path m.pdparams --aug_eval --scales 0.75 1.0 --flip_horizontal "
        "--flip_vertical --is_slide --crop_size 32 32 --stride 16 16 --precision fp16 --device "
        "cpu --num_workers 0 --opts batch_size=1".split())
    assert (args.scales, args.crop_size, args.stride) == ([0.75, 1.0], [32, 32], [16, 16])


def test_device_defaults_to_what_paddle_was_built_for(monkeypatch):
    monkeypatch.setattr(paddle, "is_compiled_with_cuda", lambda: False)
    assert train_cli.build_parser().parse_args(["--config", "c.yml"]).device == "cpu"
    monkeypatch.setattr(paddle, "is_compiled_with_cuda", lambda: True)
    assert val_cli.build_parser().parse_args(["--config", "c.yml"]).device == "gpu"


@pytest.mark.parametrize("argv", [["--iters", "0"], ["--batch_size", "-1"], ["--device", "tpu"]])
def test_bad_flag_values_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main(["--config", str(FAST_CONFIG)] + argv)
    assert exit_info.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def write(tmp_path: pathlib.Path, text: str) -> str:
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("tool", [train_cli, val_cli], ids=["train", "val"])
@pytest.mark.parametrize("case,expected", [
    ("missing", "config '{tmp}/missing.yml' does not exist; expected a PaddleSeg YAML"),
    ("broken", "config '{tmp}/bad.yml' is not valid YAML at line 3, column 4"),
    ("model_typo", "model.type: unknown component 'BiSeNetV3'; expected a name registered in "
                   "paddleseg.cvlibs.manager.MODELS (close matches: BiSeNetV2"),
    ("no_root", "val_dataset.dataset_root '/no/such/root' does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(tool, case, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    texts = {
        "broken": "iters: 2\nmodel: [a\n  b: c\n",
        "model_typo": f"_base_: {FAST_CONFIG}\nmodel:\n  type: BiSeNetV3\n",
        "no_root": f"_base_: {FAST_CONFIG}\nval_dataset:\n  dataset_root: /no/such/root\n",
    }
    config = write(tmp_path, texts[case]) if case in texts else str(tmp_path / "missing.yml")
    argv = ["--config", config, "--device", "cpu"]
    if tool is train_cli:
        argv.append("--do_eval")  # so val_dataset is read by both tools
    assert tool.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{tool.PROG}: error: ")
    assert expected.format(tmp=tmp_path) in err


@pytest.mark.parametrize("argument, value, expected", [
    ("background_weight", -1, "background_weight must be >= 0"),
    ("data_format", "NCWH", "data_format must be 'NCHW' or 'NHWC'"),
    ("background_weight", "heavy", "background_weight must be >= 0, got 'heavy'")])
def test_a_bad_loss_value_is_one_line_and_exit_2(argument, value, expected, tmp_path, capsys):
    loss = {"types": [{"type": "WeightedCrossEntropyLoss", argument: value}], "coef": [1]}
    config = write_config(tmp_path, len(CLASSES), loss=loss)
    assert train_cli.main(["--config", config, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err

def test_val_specific_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    base = ["--config", str(FAST_CONFIG), "--device", "cpu"]
    assert val_cli.main(base + ["--model_path", str(tmp_path / "none.pdparams")]) == 2
    assert "--model_path" in capsys.readouterr().err
    assert val_cli.main(base + ["--is_slide", "--stride", "8", "8"]) == 2
    assert "--is_slide needs --crop_size" in capsys.readouterr().err


def test_val_refuses_weights_of_another_model_in_one_line(tiny_config, tmp_path, capsys):
    weights = tmp_path / "other_model.pdparams"
    paddle.save({"stem.weight": paddle.zeros([1])}, str(weights))
    assert val_cli.main(["--config", str(tiny_config), "--device", "cpu",
                         "--model_path", str(weights)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "other_model.pdparams' do not fit" in err


def test_val_evaluates_every_weight_of_the_checkpoint(tiny_config, tmp_path, monkeypatch):
    paddle.seed(1)
    saved = PSSLSegBuilder(Config(str(tiny_config))).model.state_dict()
    paddle.save(saved, str(tmp_path / "model.pdparams"))
    evaluated = {}
    monkeypatch.setattr(val_cli, "evaluate", lambda model, *_, **__: evaluated.update(
        model.state_dict()))
    assert val_cli.main(["--config", str(tiny_config), "--device", "cpu",
                         "--model_path", str(tmp_path)]) == 0
    assert evaluated.keys() == saved.keys()
    assert all(np.array_equal(evaluated[k].numpy(), saved[k].numpy()) for k in saved)

def test_unsupported_precision_is_refused(capsys):
    assert train_cli.main(["--config", str(FAST_CONFIG), "--precision", "bf16"]) == 2
    assert "would run bf16 as fp32" in capsys.readouterr().err


@pytest.mark.slow
def test_bad_input_through_the_launcher(tmp_path):
    proc = run_tool([sys.executable, "tools/train.py", "--config",
                     write(tmp_path, f"_base_: {FAST_CONFIG}\nmodel:\n  type: PSPNett\n")],
                    tmp_path)
    assert proc.returncode == 2, details(proc)
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tools/train.py: error: ") and "'PSPNett'" in last, details(proc)
    assert "close matches: PSPNet" in last


# ------------------------------------------------------------------ real runs

@pytest.mark.slow
def test_train_then_val(tiny_config, tmp_path):
    out = tmp_path / "out"
    proc = run_tool([sys.executable, "tools/train.py", "--config", str(tiny_config), "--device",
                     "cpu", "--iters", "2", "--save_interval", "2", "--log_iters", "1",
                     "--save_dir", str(out), "--seed", "0"], tmp_path)
    assert proc.returncode == 0, details(proc)
    assert (out / "iter_2" / "model.pdparams").is_file(), details(proc)
    assert (out / "iter_2" / "model.pdopt").is_file()
    assert "iter: 2/2" in proc.stdout + proc.stderr

    proc = run_tool([sys.executable, "tools/val.py", "--config", str(tiny_config), "--device",
                     "cpu", "--model_path", str(out / "iter_2")], tmp_path)
    assert proc.returncode == 0, details(proc)
    assert "mIoU" in proc.stdout + proc.stderr, details(proc)


@pytest.mark.slow
def test_two_process_training_saves_a_checkpoint(tiny_config, tmp_path):
    out, logs = tmp_path / "out", tmp_path / "launch_logs"
    proc = run_tool([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                     "--log_dir", str(logs), "tools/train.py", "--config", str(tiny_config),
                     "--device", "cpu", "--iters", "2", "--save_interval", "2",
                     "--log_iters", "1", "--save_dir", str(out)], tmp_path)
    worker_logs = "".join(p.read_text(errors="replace")[-3000:]
                          for p in sorted(logs.glob("workerlog.*")))
    assert proc.returncode == 0, details(proc) + worker_logs
    assert (logs / "workerlog.0").is_file() and (logs / "workerlog.1").is_file()
    assert (out / "iter_2" / "model.pdparams").is_file(), details(proc) + worker_logs
    # 4 images, 2 per batch, 2 ranks: each rank sees one batch per epoch.
    assert "epoch: 2, iter: 2/2" in (logs / "workerlog.0").read_text(errors="replace")


#: Train then evaluate in one interpreter: saves a Paddle start-up per architecture.
_TRAIN_THEN_VAL = (
    "import sys\n"
    "from paddleseg_pssl.cli import train, val\n"
    "config, out = sys.argv[1:3]\n"
    "rc = train.main(['--config', config, '--iters', '2', '--save_interval', '2',\n"
    "                 '--save_dir', out])\n"
    "rc = rc or val.main(['--config', config, '--model_path', out + '/iter_2/model.pdparams'])\n"
    "sys.exit(rc)\n")


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_CONFIGS)
def test_paper_architectures_train_then_val(name, tmp_path):
    """tools/train.py then tools/val.py for each paper architecture (their mains, one process)."""
    out = tmp_path / "out"
    proc = run_tool([sys.executable, "-c", _TRAIN_THEN_VAL,
                     f"tests/fixtures/configs/{name}_tiny.yml", str(out)], tmp_path)
    assert proc.returncode == 0, details(proc)
    assert (out / "iter_2" / "model.pdparams").is_file(), details(proc)
    assert "mIoU" in proc.stdout + proc.stderr, details(proc)


# ------------------------------------------------------------------ a bad training sample

@pytest.fixture
def bad_sample_config(tmp_path: pathlib.Path):
    """(config, label path): 4 PSSL samples, batch 2; the last sample's label is a 12x4 strip
    for its 12x12 image, which PSSLDataset refuses. Paddle's seeded sampler gives it to rank 0
    of 2 in the first epoch."""
    labels = {f"{CLASSES[0]}_{index}.JPEG": np.full((8, 8), 9, np.uint8) for index in range(3)}
    bad_name = f"{CLASSES[1]}_0.JPEG"
    labels[bad_name] = np.full((4, 12), 9, np.uint8)
    config = write_config(tmp_path / "data", len(CLASSES), labels=labels, batch_size=2)
    return config, tmp_path / "data" / "pssl" / pssl_format.label_relpath(CLASSES[1], bad_name)


def assert_one_line_naming(stderr: str, label: pathlib.Path) -> None:
    """The run ended with one error line naming the sample's label, and no traceback."""
    assert "Traceback" not in stderr, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("tools/train.py: error: train sample 3: label "), last
    assert str(label) in last and "does not keep the aspect" in last, last


@pytest.mark.slow
@pytest.mark.parametrize("num_workers", ["0", "2"])
def test_a_bad_sample_ends_training_with_one_line(bad_sample_config, num_workers, tmp_path):
    config, label = bad_sample_config
    proc = run_tool([sys.executable, "tools/train.py", "--config", config, "--device", "cpu",
                     "--iters", "4", "--num_workers", num_workers, "--save_dir",
                     str(tmp_path / "out")], tmp_path, timeout=BAD_SAMPLE_TIMEOUT_S)
    assert proc.returncode == EXIT_BAD_SAMPLE, details(proc)
    assert_one_line_naming(proc.stderr, label)


@pytest.mark.slow
def test_skip_bad_samples_trains_past_a_bad_sample_with_a_line_naming_it(bad_sample_config,
                                                                         tmp_path):
    config, label = bad_sample_config
    proc = run_tool([sys.executable, "tools/train.py", "--config", config, "--device", "cpu",
                     "--iters", "4", "--num_workers", "2", "--save_dir", str(tmp_path / "out"),
                     "--opts", "train_dataset.skip_bad_samples=true"], tmp_path,
                    timeout=BAD_SAMPLE_TIMEOUT_S)
    assert proc.returncode == 0, details(proc)
    skipped = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "skipped sample" in ln]
    assert skipped and all(str(label) in ln and "does not keep the aspect" in ln
                           for ln in skipped), details(proc)


@pytest.mark.slow
def test_a_bad_sample_ends_a_two_process_launch(bad_sample_config, tmp_path):
    config, label = bad_sample_config
    logs = tmp_path / "launch_logs"
    proc = run_tool([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                     "--log_dir", str(logs), "tools/train.py", "--config", config, "--device",
                     "cpu", "--iters", "4", "--save_dir", str(tmp_path / "out")], tmp_path,
                    timeout=BAD_SAMPLE_TIMEOUT_S)
    # The launcher exits with the status of the lowest failed rank: rank 0 read the sample.
    assert proc.returncode == EXIT_BAD_SAMPLE, details(proc)
    assert_one_line_naming((logs / "workerlog.0").read_text(errors="replace"), label)
