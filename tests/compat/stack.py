"""The stack the compat tests run on, and the constants they share."""
import sys

import paddle
import paddleseg

IGNORE = 255
NUM_CLASSES = 3
ON_0D_PADDLE = paddle.sum(paddle.ones([2])).ndim == 0
STOCK_28 = paddleseg.__version__ == "2.8.0"
#: Skip reason of tests that need the failures of PaddleSeg 2.8.0 on Paddle 3.
NEEDS_STOCK = "needs PaddleSeg 2.8.0 on Paddle 3"


def train_module():
    """``paddleseg.core.train`` the module (the package attribute is the function)."""
    return sys.modules["paddleseg.core.train"]
