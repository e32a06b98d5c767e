"""tools/compare_init.py without training: the batch guard, launch commands, reruns, tables."""
import json
import pathlib
import sys


from paddleseg_pssl.cli import compare_init
from paddleseg_pssl.training.schedule import BatchPlan

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PAPER_CAMVID = REPO_ROOT / "configs" / "pssl" / "finetune" / "camvid" / "pspnet_r50_imagenet.yml"
MINIATURE = REPO_ROOT / "configs" / "pssl" / "miniature" / "finetune.yml"


def test_paper_config_on_one_process_is_refused_naming_the_fix(tmp_path, capsys):
    status = compare_init.main(["--config", str(PAPER_CAMVID), "--inits", "backbone",
                                "--output", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err
    assert "total batch 16" in err and "(--nproc_per_node / --gpus), or pass --batch_size 16" in err
    assert not (tmp_path / "backbone").exists()


def test_fine_tunes_run_under_paddle_distributed_launch(tmp_path):
    args = compare_init.build_parser().parse_args(
        ["--config", str(PAPER_CAMVID), "--output", str(tmp_path), "--nproc_per_node", "4",
         "--device", "cpu"])
    assert compare_init.process_count(args) == 4
    plan = BatchPlan(batch_size_per_card=4, processes=4, iters=689, intended_total=16)
    run_dir = compare_init.run_dir_of(tmp_path, "pssl", 0.005, 1)
    command = compare_init.train_command(args, plan, ["model.pretrained=p"], 0.005, 1, run_dir)
    assert command[:5] == [sys.executable, "-m", "paddle.distributed.launch",
                           "--nproc_per_node", "4"]
    joined = " ".join(command)
    assert "--learning_rate 0.005" in joined and "--batch_size 4" in joined
    assert "--iters 689" in joined and "--seed 1" in joined and joined.endswith("model.pretrained=p")
    args = compare_init.build_parser().parse_args(
        ["--config", str(PAPER_CAMVID), "--output", str(tmp_path), "--gpus", "0,1"])
    assert compare_init.process_count(args) == 2


def test_finished_runs_are_skipped_and_each_init_gets_its_best_rate(tmp_path, capsys):
    """Rerunning a finished grid trains nothing and reports the chosen rates and the grid."""
    mious = {("backbone", 0.02): 0.30, ("backbone", 0.01): 0.40,
             ("pssl", 0.02): 0.45, ("pssl", 0.01): 0.35}
    checkpoint = tmp_path / "pssl.pdparams"
    checkpoint.write_bytes(b"")
    for (init, lr), miou in mious.items():
        for seed in (0, 1):
            run_dir = compare_init.run_dir_of(tmp_path / "out", init, lr, seed)
            run_dir.mkdir(parents=True)
            (run_dir / compare_init.RESULT_FILE).write_text(json.dumps(
                {"init": init, "seed": seed, "miou": miou + 0.01 * seed, "accuracy": 0.9,
                 "iters": 5, "seconds": 1.0, "learning_rate": lr, "total_batch": 8}))
    status = compare_init.main(["--config", str(MINIATURE), "--inits", "backbone", "pssl",
                                "--lrs", "0.02", "0.01", "--seeds", "0", "1",
                                "--pssl_checkpoint", str(checkpoint),
                                "--output", str(tmp_path / "out")])
    assert status == 0
    table = (tmp_path / "out" / "comparison.md").read_text()
    assert "| backbone |" in table and "| 0.01 | 2 | 40.5 +- 0.7 |" in table
    assert "| 0.02 | 2 | 45.5 +- 0.7 |" in table and "+5.0" in table
    assert "Learning-rate search" in table
    plan = json.loads((tmp_path / "out" / compare_init.PLAN_FILE).read_text())
    assert plan["total_batch"] == 8 and plan["learning_rates"] == [0.02, 0.01]
    assert not list((tmp_path / "out").rglob("train.log"))


def test_disagreeing_process_flags_are_an_error(tmp_path, capsys):
    status = compare_init.main(["--config", str(MINIATURE), "--inits", "backbone",
                                "--nproc_per_node", "3", "--gpus", "0,1",
                                "--output", str(tmp_path)])
    assert status == 2 and "disagree" in capsys.readouterr().err


def _fake_grid(monkeypatch, tmp_path, fail=None):
    """compare_init with training and evaluation replaced: records what ran concurrently."""
    import threading

    active, peak, lock = [0], [0], threading.Lock()
    both_started = threading.Barrier(2, timeout=30)

    def fake_train(args, plan, init, lr, seed):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            if seed < 2:
                both_started.wait()  # the first two runs only finish once both are training
            if (init, lr, seed) == fail:
                raise RuntimeError(f"training {init} lr {lr:g} seed {seed} failed (exit 1)")
            run_dir = compare_init.run_dir_of(pathlib.Path(args.output), init, lr, seed)
            (run_dir / "iter_5").mkdir(parents=True, exist_ok=True)
            return run_dir / "iter_5" / "model.pdparams"
        finally:
            with lock:
                active[0] -= 1

    def fake_evaluate(args, plan, init, lr, seed, checkpoint, seconds):
        result = compare_init.RunResult(init=init, seed=seed, miou=0.1 * (seed + 1),
                                        accuracy=0.9, iters=5, seconds=seconds,
                                        learning_rate=lr, total_batch=plan.total_batch)
        path = compare_init.run_dir_of(pathlib.Path(args.output), init, lr, seed)
        (path / compare_init.RESULT_FILE).write_text(json.dumps(result.__dict__))
        return result

    monkeypatch.setattr(compare_init, "train_run", fake_train)
    monkeypatch.setattr(compare_init, "evaluate_run", fake_evaluate)
    return peak


def test_jobs_train_runs_side_by_side_and_keep_the_table(tmp_path, monkeypatch):
    peak = _fake_grid(monkeypatch, tmp_path)
    status = compare_init.main(["--config", str(MINIATURE), "--inits", "backbone",
                                "--seeds", "0", "1", "2", "--jobs", "2", "--device", "cpu",
                                "--output", str(tmp_path / "out")])
    assert status == 0 and peak[0] == 2
    table = (tmp_path / "out" / "comparison.md").read_text()
    assert "| 3 | 20.0 +- 10.0 |" in table


def test_a_failed_job_is_reported_and_the_finished_ones_kept(tmp_path, monkeypatch, capsys):
    _fake_grid(monkeypatch, tmp_path, fail=("backbone", 0.05, 0))
    status = compare_init.main(["--config", str(MINIATURE), "--inits", "backbone",
                                "--seeds", "0", "1", "2", "--jobs", "2", "--device", "cpu",
                                "--output", str(tmp_path / "out")])
    assert status == 1 and "seed 0 failed" in capsys.readouterr().err
    finished = sorted(p.parent.name for p in (tmp_path / "out").rglob(compare_init.RESULT_FILE))
    assert "seed_1" in finished and "seed_0" not in finished


def test_jobs_share_the_cpu_cores_and_refuse_shared_gpus(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(compare_init.os, "cpu_count", lambda: 8)
    args = compare_init.build_parser().parse_args(
        ["--config", str(MINIATURE), "--output", str(tmp_path), "--jobs", "2", "--device", "cpu"])
    assert compare_init.threads_per_process(args, 1) == 4
    assert compare_init.threads_per_process(args, 8) == 1
    args.jobs = 1
    assert compare_init.threads_per_process(args, 1) is None
    status = compare_init.main(["--config", str(MINIATURE), "--inits", "backbone",
                                "--jobs", "2", "--gpus", "0,1", "--output", str(tmp_path)])
    assert status == 2 and "share those GPUs" in capsys.readouterr().err


def test_warnings_and_grid_advice_name_the_argument_or_this_command_lines_flag(tmp_path, capsys):
    """plan_batch and markdown_grid name the argument; compare_init shows its flags."""
    from paddleseg_pssl.training.comparison import RunResult, grid, markdown_grid
    from paddleseg_pssl.training.schedule import plan_batch

    cfg = {"batch_size": 4, "iters": 689, "total_batch_size": 16}
    _, warnings = plan_batch("c.yml", cfg, processes=1, batch_size=4, iters=5)
    assert "and iters 5 given" in warnings[0]
    rates = [0.02, 0.01]
    results = [RunResult("pssl", 0, 0.6, 0.9, 1, 1.0, 0.02),
               RunResult("pssl", 0, 0.5, 0.9, 1, 1.0, 0.01)]
    assert "extend learning_rates past it" in markdown_grid(grid(results, ["pssl"], rates),
                                                            ["pssl"], rates)
    args = compare_init.build_parser().parse_args(
        ["--config", str(PAPER_CAMVID), "--output", str(tmp_path), "--inits", "pssl",
         "--batch_size", "4", "--iters", "5", "--lrs", "0.02", "0.01", "--device", "cpu"])
    assert "and --iters 5 given" in compare_init._plan(args)[2][0]
    compare_init._write_tables(args, tmp_path, rates, results)
    assert "extend --lrs past it" in capsys.readouterr().out
