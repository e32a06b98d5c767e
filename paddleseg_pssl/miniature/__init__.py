"""The deterministic small world the demo builds: data and small classifiers.

``make demo`` runs the whole PSSL method (arXiv 2207.03335) on a CPU with no download:

1. ``make_classification_set``: an ImageNet-layout classification set of shape classes over
   cluttered backgrounds, with the true object masks saved aside for evaluation only;
   ``make_segmentation_set``: a small downstream set in PaddleSeg's generic ``Dataset`` format.
2. ``train_ensemble``: M = 5 small classifiers of three architectures; it returns the ensemble
   items the generator reads, and ``MiniResNet`` (registered in ``manager.BACKBONES`` by
   ``paddleseg_pssl.models.backbones.mini_resnet``) loads the ``mini_resnet_a`` member's trunk.

Modules: ``nets`` (the architectures and their factories), ``image_folder`` (any
ImageNet-layout folder as aspect-bucketed batches), ``classifiers`` (training one classifier
or the ensemble).

Nothing here is special to the demo beyond choosing small data: the training code reads any
ImageNet-layout folder.
"""
from paddleseg_pssl.miniature.classification_set import make_classification_set  # noqa: F401
from paddleseg_pssl.miniature.classifiers import (  # noqa: F401
    BACKBONE_MEMBER, BACKBONE_NAME, DEFAULT_MEMBERS, train_classifier, train_ensemble)
from paddleseg_pssl.miniature.nets import mini_mobilenet, mini_resnet, mini_vgg  # noqa: F401
from paddleseg_pssl.miniature.segmentation_set import make_segmentation_set  # noqa: F401
