"""Export a PSSL or fine-tuned checkpoint as a Paddle inference model, as PaddleSeg does.

Same flags and output as PaddleSeg 2.8's ``tools/export.py`` (``model`` files, ``deploy.yaml``
with the inference transforms), with the model sized from the config's data, so a checkpoint
of any class count exports with its own number of outputs::

    python tools/export.py --config configs/pssl/pspnet_r50.yml \\
        --model_path output/iter_600548/model.pdparams --save_dir output/inference_model
    python tools/export.py --config configs/pssl/finetune/camvid/pspnet_r50_pssl.yml \\
        --model_path output/camvid/best_model/model.pdparams --output_op softmax

A pre-training config has no ``val_dataset``: its inference transforms are its normalisation.
"""
import argparse
import os

import paddle
import paddleseg_pssl  # noqa: F401  (registers components, applies compat: before paddleseg)
import yaml
from paddleseg.deploy.export import WrappedModel
from paddleseg.utils import logger

from paddleseg_pssl.analysis.prediction import inference_transform_cfgs
from paddleseg_pssl.compat.deploy import MODEL_PREFIX, PARAMS_SUFFIX, saved_graph_file
from paddleseg_pssl.training.builder import PSSLSegBuilder, output_class_count
from paddleseg_pssl.weights import load_weights
from paddleseg_pssl.cli import common
from paddleseg_pssl.training.config_checks import explain_build_errors, validate_components
from paddleseg_pssl.training.config_loading import check_checkpoint_file, load_config
from paddleseg_pssl.errors import PSSLConfigError

PROG = "tools/export.py"

#: What ``--output_op`` appends to the logits; ``none`` keeps them.
OUTPUT_OPS = ("argmax", "softmax", "none")
#: Image channels of every model here (RGB), first axis of the input after the batch.
IMAGE_CHANNELS = 3
DEPLOY_FILE = "deploy.yaml"


def build_parser() -> argparse.ArgumentParser:
    """The export command line (PaddleSeg 2.8 ``tools/export.py`` flags, plus --opts)."""
    parser = common.parser_from_docstring(PROG, __doc__)
    parser.add_argument("--config", required=True, help="PaddleSeg YAML config of the model.")
    parser.add_argument("--model_path", required=True,
                        help="model.pdparams, or the iter_<N> folder holding it.")
    parser.add_argument("--save_dir", default="./output/inference_model",
                        help="Where the inference model and deploy.yaml go.")
    parser.add_argument("--input_shape", nargs=4, type=common.positive_int,
                        default=None, metavar=("N", "C", "H", "W"),
                        help="Fix the input shape, e.g. 1 3 512 512 (default: any N, H, W).")
    parser.add_argument("--output_op", choices=OUTPUT_OPS, default="argmax",
                        help="Appended to the logits: class ids (int32), probabilities, or none.")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                        help="Override config keys, as in PaddleSeg.")
    return parser


def run(args: argparse.Namespace) -> None:
    """Build the model from the data, load the weights, save the inference model."""
    if args.input_shape is not None and args.input_shape[1] != IMAGE_CHANNELS:
        raise PSSLConfigError(f"--input_shape {' '.join(map(str, args.input_shape))}: C must "
                              f"be {IMAGE_CHANNELS}; expected e.g. 1 3 512 512")
    weights = str(check_checkpoint_file(args.model_path))
    cfg = load_config(args.config, args.opts)
    validate_components(cfg, sections=("model",))
    with explain_build_errors(cfg, "model"):
        builder = PSSLSegBuilder(cfg)
        model = builder.model
    load_weights(model, weights)
    model.eval()
    os.environ["PADDLESEG_EXPORT_STAGE"] = "True"  # PaddleSeg models drop training branches
    shape = [None, IMAGE_CHANNELS, None, None] if args.input_shape is None \
        else list(args.input_shape)
    if args.output_op != "none":
        model = WrappedModel(model, args.output_op)
    static = paddle.jit.to_static(model,
                                  input_spec=[paddle.static.InputSpec(list(shape), "float32")])
    os.makedirs(args.save_dir, exist_ok=True)
    prefix = os.path.join(args.save_dir, MODEL_PREFIX)
    paddle.jit.save(static, prefix)
    deploy = {"Deploy": {
        "model": os.path.basename(saved_graph_file(prefix)),
        "params": MODEL_PREFIX + PARAMS_SUFFIX,
        "transforms": inference_transform_cfgs(cfg), "input_shape": shape,
        "output_op": args.output_op,
        "output_dtype": "int32" if args.output_op == "argmax" else "float32",
        "num_classes": output_class_count(builder)}}
    with open(os.path.join(args.save_dir, DEPLOY_FILE), "w", encoding="utf-8") as handle:
        yaml.safe_dump(deploy, handle)
    logger.info(f"Inference model ({deploy['Deploy']['model']}, {deploy['Deploy']['params']}) "
                f"and {DEPLOY_FILE} saved in {args.save_dir}")


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input
