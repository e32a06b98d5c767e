"""Dataset components registered in PaddleSeg's ``manager.DATASETS``."""
from paddleseg_pssl.datasets.pssl_dataset import PSSLDataset, PSSLSampleError  # noqa: F401
from paddleseg_pssl.datasets.camvid import CamVid  # noqa: F401
