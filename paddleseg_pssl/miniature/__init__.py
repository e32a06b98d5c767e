"""The deterministic small world of ``make demo``: data and small classifiers, no download.

``make_classification_set`` writes an ImageNet-layout set of shape classes (true masks aside,
for evaluation only), ``make_segmentation_set`` a small downstream set in PaddleSeg's
``Dataset`` format, ``train_ensemble`` the M = 5 classifiers the generator explains with; the
``mini_resnet_a`` member's trunk initialises the ``MiniResNet`` backbone. The training code
reads any ImageNet-layout folder.
"""
from paddleseg_pssl.miniature.classification_set import make_classification_set  # noqa: F401
from paddleseg_pssl.miniature.classifiers import (  # noqa: F401
    BACKBONE_MEMBER, BACKBONE_NAME, DEFAULT_MEMBERS, train_classifier, train_ensemble)
from paddleseg_pssl.miniature.nets import mini_mobilenet, mini_resnet, mini_vgg  # noqa: F401
from paddleseg_pssl.miniature.segmentation_set import make_segmentation_set  # noqa: F401
