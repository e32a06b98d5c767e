"""The ``manifest.json`` of a PSSL folder: what reproduces and audits the labels (settings,
models, versions, counts), written by rank 0 after the merge."""
import datetime
import os
import platform
import socket
from importlib import metadata
from typing import Any, Dict, Optional

import paddle

from paddleseg_pssl.constants import DECILE_COUNT, TOP_DECILE

MANIFEST_FORMAT = "pssl-labels"
MANIFEST_FORMAT_VERSION = 1
#: The record of labels kept without a settings fingerprint (``--adopt_existing``).
ADOPTED_KEY = "adopted_existing"

#: Manifest name -> the pip distributions that provide it (first installed wins).
_DISTRIBUTIONS = {
    "paddle": ("paddlepaddle", "paddlepaddle-gpu"),
    "paddleseg": ("paddleseg",),
    "interpretdl": ("interpretdl",),
    "numpy": ("numpy",),
    "opencv": ("opencv-python", "opencv-python-headless", "opencv-contrib-python"),
    "pillow": ("pillow",),
    "paddleseg_pssl": ("paddleseg-pssl",),
}


def timestamp() -> str:
    """The local time to the second, with its UTC offset (ISO 8601), as records give it."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def package_versions() -> Dict[str, Optional[str]]:
    """Versions of everything that shapes a label (recorded in the manifest), read from the
    installed distributions' metadata (no import side effects)."""
    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name, dists in _DISTRIBUTIONS.items():
        versions[name] = None
        for dist in dists:
            try:
                versions[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    try:
        versions["paddle_cuda"] = str(paddle.version.cuda())
    except Exception:  # noqa: BLE001 - CPU builds or odd installs
        versions["paddle_cuda"] = None
    return versions


def build_manifest(ctx, *, rank_markers: Dict[int, dict], started: str, elapsed_s: float,
                   adopted: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The manifest; ``run`` holds what varies between equivalent runs (output path, process
    count, time). ``adopted``: labels kept without a fingerprint (``adopt_existing``)."""
    manifest = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_FORMAT_VERSION,
        "method": "PSSL (arXiv 2207.03335): deciles (Eq. 2) of the mean (Eq. 1) of normalised "
                  "SmoothGrad maps of an ensemble of classifiers (settings.explainer, "
                  "settings.consensus)",
        "label": {"dtype": "uint8", "values": f"deciles 0..{TOP_DECILE}",
                  "decile_count": DECILE_COUNT,
                  "resolution": f"short side {ctx.cfg.resolution.short_side}, aspect kept"},
        "settings": ctx.settings,
        "settings_digest": ctx.settings_digest,
        "models": [{"name": s.name, "arch": s.arch, "weights": s.weights,
                    "weights_sha256": c, "pretrained": s.pretrained,
                    "input_size": s.input_size, "resize": s.resize}
                   for s, c in zip(ctx.specs, ctx.checksums)],
        "classes": ctx.source.num_classes,
        "versions": package_versions(),
        "counts": {"images": len(ctx.items)},
        "run": {
            "output": os.path.abspath(ctx.cfg.output),
            "world_size": ctx.world_size,
            "started": started,
            "finished": timestamp(),
            "elapsed_s": round(elapsed_s, 3),
            "host": socket.gethostname(),
            "ranks": {str(r): m.get("counts", {}) for r, m in sorted(rank_markers.items())},
        },
    }
    if adopted is not None:
        manifest[ADOPTED_KEY] = adopted
    return manifest
