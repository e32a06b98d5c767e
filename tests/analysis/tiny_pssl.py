"""A tiny PSSL tree for the analysis tests, written by the generator's own PSSLStore.

Labels, the kept float consensus (``keep_float``) and raw per-model maps
(``keep_model_maps``; at a model resolution different from the label's, not min-max
normalised) go through :class:`~.consensus.store.pssl_store.PSSLStore`, so the tests pin
the analysis readers to the format the generator really writes. Images and masks are added
beside it.
"""
import pathlib
from typing import Dict

import numpy as np
from PIL import Image

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.consensus.label_maths import consensus_deciles
from paddleseg_pssl.consensus.store.pssl_store import PSSLStore

CLASSES = ("n00000001", "n00000002")
MODELS = ("model_a", "model_b")
LABEL_HW = (24, 32)
MODEL_HW = (12, 16)   # raw maps are stored at the model's input resolution


def _blob(hw, cy, cx, r):
    yy, xx = np.mgrid[0:hw[0], 0:hw[1]]
    return ((yy - cy) ** 2 + (xx - cx) ** 2) <= r * r


def make_tiny_pssl(root: pathlib.Path, missing_mask: bool = True) -> Dict[str, pathlib.Path]:
    """Two classes x two images; masks for all but the last image (when ``missing_mask``)."""
    rng = np.random.default_rng(0)
    pssl, images, masks = root / "pssl", root / "images", root / "masks"
    store = PSSLStore(str(pssl), keep_float=True, keep_model_maps=True, fsync=False)
    n = 0
    for cls in CLASSES:
        for k in range(2):
            image_rel = f"train/{cls}/{cls}_{k}.JPEG"
            label_rel = fmt.label_relpath(cls, f"{cls}_{k}.JPEG")
            cy, cx, r = 8 + 4 * k, 10 + 8 * k, 5
            obj_small = _blob(MODEL_HW, cy / 2, cx / 2, r / 2)
            raw = {}
            for m, name in enumerate(MODELS):
                noise = rng.random(MODEL_HW) * (0.3 + 0.4 * m)
                raw[name] = (obj_small * (1.0 - 0.3 * m) + noise) * 50.0 + 3.0  # raw scale
            dec, cons = consensus_deciles([raw[n] for n in MODELS], LABEL_HW)
            store.write(label_rel, image_rel, dec, consensus=cons, model_maps=raw)
            ipath = images / image_rel
            ipath.parent.mkdir(parents=True, exist_ok=True)
            img = (rng.random((48, 64, 3)) * 255).astype(np.uint8)  # images larger than labels
            Image.fromarray(img).save(ipath, format="JPEG")
            n += 1
            if not (missing_mask and n == len(CLASSES) * 2):
                obj = _blob(LABEL_HW, cy, cx, r)
                mpath = masks / "train" / cls / f"{cls}_{k}.png"
                mpath.parent.mkdir(parents=True, exist_ok=True)
                big = np.asarray(Image.fromarray(obj.astype(np.uint8) * 255).resize(
                    (64, 48), Image.NEAREST))  # mask at image size: resized by the tool
                Image.fromarray(big).save(mpath)
    store.merge(CLASSES, {"note": "analysis test fixture"})
    return {"pssl": pssl, "images": images, "masks": masks}
