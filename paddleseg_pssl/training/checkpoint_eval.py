"""Evaluate a saved checkpoint with PaddleSeg's ``core.evaluate``, returning the numbers."""
from typing import Dict, Optional, Sequence

import paddle
from paddleseg.core import evaluate

from paddleseg_pssl.training.builder import PSSLSegBuilder
from paddleseg_pssl.training.config_loading import load_config
from paddleseg_pssl.weights import load_weights


def evaluate_checkpoint(config_path: str, model_path: str, opts: Optional[Sequence[str]] = None,
                        use_test_config: bool = True, num_workers: int = 0) -> Dict[str, object]:
    """mIoU, pixel accuracy, kappa and per-class IoU of ``model_path`` on the config's val set;
    ``use_test_config`` applies its ``test_config`` (multi-scale / flip evaluation)."""
    config = load_config(config_path, list(opts or []))
    builder = PSSLSegBuilder(config)
    model = builder.model
    load_weights(model, model_path)
    test_config = config.test_config if use_test_config else {}
    miou, accuracy, class_iou, _, kappa = evaluate(
        model, builder.val_dataset, num_workers=num_workers, print_detail=False, **test_config)
    if paddle.is_compiled_with_cuda():
        paddle.device.cuda.empty_cache()  # free GPU memory for the next training process
    return {"miou": float(miou), "accuracy": float(accuracy), "kappa": float(kappa),
            "class_iou": [float(v) for v in class_iou]}
