"""Why the pre-trained head does not help: fine-tune from surgically changed PSSL checkpoints.

Each probe is a copy of one PSSL checkpoint with part of its head changed, fine-tuned by
``tools/compare_init.py`` as a ``pssl`` init (a weight missing from a checkpoint keeps its
random initialisation, as PaddleSeg loads ``model.pretrained``):

- ``head_bn_reset``: the head's batch-norm statistics back to a fresh layer's (mean 0,
  variance 1), its weights kept: do statistics of the pre-training's images hurt?
- ``head_reinit_projection``: the ASPP projection (the block under the output layer) random.
- ``head_reinit_branches``: the ASPP branches and image pooling random, the projection kept.
- ``head_lr_x0.1`` / ``head_lr_x3``: the whole checkpoint, the ASPP head fine-tuned at 0.1 / 3
  times the rate (PaddleSeg's ``optimizer.custom_cfg``; the output layer at the rate itself).
- ``frozen_features``: backbone and ASPP head frozen (rate 0), only the output layer trained,
  for the conventional init, the PSSL backbone with a random head, and PSSL init: how good
  each init's features are before fine-tuning moves them (``--backbone_pretrained`` needed).

Arguments after ``--`` go to every ``compare_init`` call; finished runs are reused::

    python benchmarks/head_transfer_probes.py --config configs/pssl/miniature/finetune.yml \\
        --checkpoint study_world/pretrain/iter_1875/model.pdparams \\
        --output study_world/head_probes -- --lrs 0.2 0.1 0.05 --seeds 0 1 2 --iters 120 \\
        --jobs 2 --opts ...
"""
import argparse
import csv
import os
import pathlib
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import paddle
import yaml

from paddleseg_pssl.training.comparison import (INIT_BACKBONE, INIT_PSSL, INIT_PSSL_BACKBONE,
                                                RunResult, choose_rates, grid)
from paddleseg_pssl.weights import read_state_dict

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
HEAD_PREFIX = "head."
ASPP_PARAMETERS = "head.aspp"
BACKBONE_PARAMETERS = "backbone"
PROJECTION_PREFIX = "head.aspp.conv_bn_relu."
BRANCH_PREFIXES = ("head.aspp.aspp_blocks.", "head.aspp.global_avg_pool.")
#: A fresh batch-norm layer's running statistics.
FRESH_STATISTICS = {"._mean": 0.0, "._variance": 1.0}


def reset_head_statistics(state: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    out = dict(state)
    for key, value in state.items():
        for suffix, fresh in FRESH_STATISTICS.items():
            if key.startswith(HEAD_PREFIX) and key.endswith(suffix):
                out[key] = np.full_like(value, fresh)
    return out


def drop(prefixes: Sequence[str]) -> Callable[[Dict], Dict]:
    return lambda state: {k: v for k, v in state.items() if not k.startswith(tuple(prefixes))}


@dataclass(frozen=True)
class Probe:
    """A change to fine-tuning from a PSSL checkpoint: of its weights, or of the rates of the
    parameters whose names contain a part (``lr_mults``: (part, multiplier) pairs)."""
    weights: Optional[Callable[[Dict], Dict]] = None
    lr_mults: Tuple[Tuple[str, float], ...] = ()
    inits: Tuple[str, ...] = (INIT_PSSL,)


PROBES: Dict[str, Probe] = {
    "head_bn_reset": Probe(weights=reset_head_statistics),
    "head_reinit_projection": Probe(weights=drop([PROJECTION_PREFIX])),
    "head_reinit_branches": Probe(weights=drop(BRANCH_PREFIXES)),
    "head_lr_x0.1": Probe(lr_mults=((ASPP_PARAMETERS, 0.1),)),
    "head_lr_x3": Probe(lr_mults=((ASPP_PARAMETERS, 3.0),)),
    "frozen_features": Probe(lr_mults=((BACKBONE_PARAMETERS, 0.0), (ASPP_PARAMETERS, 0.0)),
                             inits=(INIT_BACKBONE, INIT_PSSL_BACKBONE, INIT_PSSL)),
}


def probe_weights(checkpoint: str, probe: str, path: pathlib.Path) -> str:
    """The probe's checkpoint, written at ``path`` once (the checkpoint itself when the probe
    keeps the weights)."""
    change = PROBES[probe].weights
    if change is None:
        return checkpoint
    if not path.is_file():
        state = {k: np.asarray(v) for k, v in read_state_dict(checkpoint).items()}
        changed = change(state)
        if changed.keys() == state.keys() and all(
                np.array_equal(changed[k], state[k]) for k in state):
            raise SystemExit(f"probe {probe} changes nothing in {checkpoint}: not a DeepLabV3 "
                             "checkpoint?")
        partial = path.with_suffix(".partial")
        paddle.save({k: paddle.to_tensor(v) for k, v in changed.items()}, str(partial))
        os.replace(partial, path)
    return str(path)


def probe_config(config: str, probe: str, path: pathlib.Path) -> str:
    """The fine-tuning config of the probe: ``config`` itself, or a child of it that sets the
    probe's rate multipliers."""
    lr_mults = PROBES[probe].lr_mults
    if not lr_mults:
        return config
    child = {"_base_": str(pathlib.Path(config).resolve()),
             "optimizer": {"custom_cfg": [{"name": part, "lr_mult": mult}
                                          for part, mult in lr_mults]}}
    path.write_text(yaml.safe_dump(child, sort_keys=False))
    return str(path)


def chosen_rows(csv_path: pathlib.Path, inits: Sequence[str]) -> List[str]:
    """Per init, its best learning rate as compare_init chooses it: rate | mIoU | per seed."""
    types = {"seed": int, "iters": int, "miou": float, "accuracy": float, "seconds": float,
             "learning_rate": float}
    with open(csv_path, encoding="utf-8") as f:
        results = [RunResult(**{k: types.get(k, str)(v) for k, v in row.items()})
                   for row in csv.DictReader(f)]
    rates = sorted({r.learning_rate for r in results}, reverse=True)
    return [f"{best.learning_rate:g} | {100 * best.miou_mean:.1f} +- {100 * best.miou_std:.1f}"
            " | " + ", ".join(f"{100 * m:.1f}" for m in best.miou_per_seed)
            for best in choose_rates(grid(results, inits, rates), inits, rates)]


def main(argv: Sequence[str] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the fine-tuning config")
    parser.add_argument("--checkpoint", required=True, help="a PSSL model.pdparams")
    parser.add_argument("--output", required=True)
    parser.add_argument("--probes", nargs="+", choices=list(PROBES), default=list(PROBES))
    args = parser.parse_args(own)
    output = pathlib.Path(args.output)
    (output / "checkpoints").mkdir(parents=True, exist_ok=True)
    rows = ["| probe | lr | mIoU | per seed |", "|---|---|---|---|"]
    for probe in args.probes:
        weights = probe_weights(args.checkpoint, probe,
                                output / "checkpoints" / f"{probe}.pdparams")
        config = probe_config(args.config, probe, output / "checkpoints" / f"{probe}.yml")
        inits = list(PROBES[probe].inits)
        subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "compare_init.py"),
                        "--config", config, "--inits", *inits, "--pssl_checkpoint", weights,
                        "--title", probe, "--output", str(output / probe)] + passthrough,
                       check=True)
        for init, row in zip(inits, chosen_rows(output / probe / "comparison.csv", inits)):
            rows.append(f"| {probe if len(inits) == 1 else f'{probe}: {init}'} | {row} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
