"""MSRC photos, the real ImageNet classifiers and the tool subprocesses of
``label_quality_real.py`` (``../shared/data/real``; see that benchmark's docstring).

Reading MSRC's object list, the disjoint study / holdout subsets, the generation ``--opts``
naming the five real classifiers, and running the tools one thread per process.
"""
from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATE_BASE = os.path.join(REPO, "configs", "pssl", "generate", "_base_", "generate.yml")

#: The five real classifiers of ``<real_root>/imagenet_classifiers`` (factory = file stem).
MODELS: Tuple[str, ...] = ("mobilenet_v1_025_128", "mobilenet_v1_050_160",
                           "mobilenet_v1_075_192", "mobilenet_v2_100_224",
                           "tf2_mobilenet_v2_100_224")
FACTORY_MODULE = "imagenet_mobilenets"
PROCESSES = 2
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# ---- MSRC specifics ------------------------------------------------------------------------

def read_objects(real_root: str) -> List[Dict[str, str]]:
    with open(os.path.join(real_root, "msrc_objects", "objects.csv"), encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _hash_order(stem: str) -> str:
    return hashlib.sha256(stem.encode("utf-8")).hexdigest()


def split_subsets(rows: Sequence[Dict[str, str]], per_category: int
                  ) -> Dict[str, List[Dict[str, str]]]:
    """Disjoint ``study`` and ``holdout`` subsets: per category, images in hash order, the first
    ``per_category`` to the study, the next ``per_category`` to the holdout."""
    by_cat: Dict[str, List[Dict[str, str]]] = {}
    for row in rows:
        by_cat.setdefault(row["category"], []).append(row)
    out: Dict[str, List[Dict[str, str]]] = {"study": [], "holdout": []}
    for cat in sorted(by_cat):
        ordered = sorted(by_cat[cat], key=lambda r: _hash_order(r["image"]))
        out["study"] += ordered[:per_category]
        out["holdout"] += ordered[per_category:2 * per_category]
    return out


def write_candidates(rows: Sequence[Dict[str, str]], path: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "candidates"])
        for row in rows:
            writer.writerow([f"{row['image']}.jpg", row["imagenet_candidates"]])
    return path


# ---- configs and subprocesses --------------------------------------------------------------

def native_size(model: str) -> int:
    """The input size a classifier was trained at (the last part of its name)."""
    return int(model.rsplit("_", 1)[1])


def ensemble_opts(real_root: str, square: Optional[int] = None) -> List[str]:
    """The ``ensemble`` override; ``square``: each model explained on a square (``resize:
    square``) of this size, or of the size it was trained at when 0, instead of the shared
    explanation resolution."""
    weights = os.path.join(real_root, "imagenet_classifiers")
    entries = []
    for m in MODELS:
        side = square or native_size(m)
        sized = "" if square is None else f", resize: square, input_size: {side}"
        entries.append(f"{{arch: '{FACTORY_MODULE}:{m}', "
                       f"weights: '{os.path.join(weights, m)}.pdparams'{sized}}}")
    return [f"ensemble=[{', '.join(entries)}]"]


def base_opts(real_root: str, list_file: Optional[str], square: Optional[int] = None
              ) -> List[str]:
    images = os.path.join(real_root, "msrc_objects", "images")
    synsets = os.path.join(real_root, "imagenet_classes", "synsets.txt")
    listed = [f"images.list={list_file}"] if list_file else []
    return [f"images.root={images}", f"images.synsets={synsets}", "num_workers=1"] + listed \
        + ensemble_opts(real_root, square)


def subprocess_env(real_root: str) -> Dict[str, str]:
    env = dict(os.environ, **THREAD_ENV)
    paths = [os.path.join(real_root, "imagenet_classifiers"), REPO]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run(cmd: List[str], env: Dict[str, str], log_dir: str) -> None:
    print("+", " ".join(cmd), flush=True)
    completed = subprocess.run(cmd, env=env, cwd=REPO)
    if completed.returncode != 0:
        raise SystemExit(f"command failed with status {completed.returncode}: {' '.join(cmd)}"
                         f" (launcher logs: {log_dir})")


def launch(script_args: List[str], env: Dict[str, str], log_dir: str) -> None:
    run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", str(PROCESSES),
         "--log_dir", log_dir] + script_args, env, log_dir)


def choose_classes(real_root: str, rows, work: str, subset: str, env) -> str:
    """The subset's list file, made once per candidates content (a rerun with another
    --per_category gets its own)."""
    candidates = write_candidates(rows, os.path.join(work, f"{subset}_candidates.csv"))
    with open(candidates, "rb") as f:
        tag = hashlib.sha256(f.read()).hexdigest()[:8]
    list_file = os.path.join(work, f"{subset}_{len(rows)}_{tag}_list.txt")
    if os.path.isfile(list_file):
        return list_file
    run([sys.executable, os.path.join(REPO, "tools", "choose_classes.py"), "--config",
         GENERATE_BASE, "--candidates", candidates, "--output", list_file, "--device", "cpu",
         "--opts"] + base_opts(real_root, None), env, work)
    return list_file
