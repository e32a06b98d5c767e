"""Analyses of PSSL and PSSL-pretrained models (arXiv 2207.03335, Sections 3 and 6).

- :mod:`.masks`: ground-truth masks (binary, class-index, ImageNet-S) and mask matching.
- :mod:`.label_quality`: pure numpy per-decile precision / recall / IoU, centred prior.
- :mod:`.evaluate`: scores a PSSL folder against masks, writes md / csv / json / png.
- :mod:`.pssl_io`: read-only access to a PSSL folder (labels, lists, kept float maps).
- :mod:`.figures`: matplotlib (Agg) plots, Figure 2-style panels, Figure 3-style overlays.
- :mod:`.prediction`: a pretrained model as a 1000-class segmenter and as a classifier.

The command lines are ``tools/evaluate_pssl.py``, ``visualize_pssl.py``, ``predict.py`` and
``classify_eval.py``.
"""
