"""Oracle PSSL: a PSSL folder whose labels are the true masks, to tell by pre-training on it
what better labels would give (the miniature's Table 2). Each label becomes its mask at the
label's size: the top decile where the object is, decile 0 elsewhere (unannotated pixels too);
the sample list, class list and manifest are copied, so ``PSSLDataset`` reads both alike.
"""
import os
import pathlib
import shutil
from typing import Union

import numpy as np

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.analysis.masks import MaskSpec, find_mask, load_mask
from paddleseg_pssl.analysis.pssl_io import read_decile_label, read_sample_list
from paddleseg_pssl.consensus.store.atomic_files import atomic_write_bytes
from paddleseg_pssl.constants import TOP_DECILE
from paddleseg_pssl.errors import PSSLConfigError

#: Files of the source folder copied unchanged (the class list is found by ``find_class_list``).
COPIED_FILES = (fmt.TRAIN_LIST_FILE, fmt.MANIFEST_FILE)


def write_oracle_labels(pssl_root: Union[str, os.PathLike], mask_root: Union[str, os.PathLike],
                        output: Union[str, os.PathLike], mask_spec: MaskSpec) -> int:
    """Write the oracle twin of ``pssl_root`` to ``output``; returns the labels written. Every
    listed image needs a mask under ``mask_root``."""
    pssl_root, mask_root, output = str(pssl_root), str(mask_root), pathlib.Path(output)
    samples = read_sample_list(pssl_root)
    for label_rel, image_rel in samples:
        mask_path = find_mask(mask_root, image_rel)
        if mask_path is None:
            raise PSSLConfigError(f"no mask for {image_rel!r} under mask_root {mask_root!r}")
        label_hw = read_decile_label(fmt.join_relpath(pssl_root, label_rel)).shape
        foreground, _ = load_mask(mask_path, mask_spec, fmt.class_name_of_label(label_rel),
                                  out_hw=label_hw)
        deciles = np.where(foreground, TOP_DECILE, 0).astype(np.uint8)
        target = output / label_rel
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(str(target), fmt.encode_decile_png(deciles))
    class_list = fmt.find_class_list(pssl_root)
    for source in (*[os.path.join(pssl_root, name) for name in COPIED_FILES], class_list):
        if os.path.isfile(source):
            shutil.copyfile(source, output / os.path.basename(source))
    return len(samples)
