"""Analyses of PSSL labels and PSSL-pretrained models (arXiv 2207.03335, Sections 3 and 6):
label quality against masks (``evaluate``, ``label_quality``, ``masks``), a PSSL folder read
(``pssl_io``) and checked (``check``), figures, and a pretrained model as a segmenter and as a
classifier (``prediction``)."""
