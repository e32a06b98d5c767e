"""The one reader of training images, shared by ``PSSLDataset`` and ``check_pssl`` so the check
finds every image training would fail on."""
import cv2
import numpy as np

from paddleseg_pssl.pssl_format.errors import PSSLFormatError


def read_training_image(path: str) -> np.ndarray:
    """The (H, W, 3) BGR uint8 pixels of a training image, EXIF orientation applied (as
    PaddleSeg's datasets read them)."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise PSSLFormatError(f"image {path} cannot be read; expected an image file OpenCV "
                              "decodes (JPEG, PNG, BMP, TIFF, WebP; not GIF)", path)
    return image
