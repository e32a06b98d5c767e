"""The one reader of training images: what ``PSSLDataset`` trains on, ``check_pssl`` checks.

An image is read with OpenCV as a 3-channel BGR uint8 array, EXIF orientation applied, the
way PaddleSeg's datasets read theirs. Formats OpenCV cannot decode (a GIF, for one) are
refused here, so a check that uses this reader finds every image training would fail on.
"""
import cv2
import numpy as np

from paddleseg_pssl.pssl_format.errors import PSSLFormatError


def read_training_image(path: str) -> np.ndarray:
    """The (H, W, 3) BGR uint8 pixels of a training image.

    Raises:
        PSSLFormatError: the file is missing or OpenCV cannot decode it (file named).
    """
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise PSSLFormatError(f"image {path} cannot be read; expected an image file OpenCV "
                              "decodes (JPEG, PNG, BMP, TIFF, WebP; not GIF)", path)
    return image
