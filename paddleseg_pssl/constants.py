"""Named constants of the PSSL method (arXiv 2207.03335), defined once for the whole package."""

#: Eq. 2 ranks every pixel's consensus score into this many equal-population bins.
DECILE_COUNT: int = 10

#: The highest decile value a label PNG can hold (0..TOP_DECILE).
TOP_DECILE: int = DECILE_COUNT - 1

#: Deciles that take the image's own class by default (paper: only D9).
DEFAULT_FOREGROUND_DECILES: tuple = (TOP_DECILE,)

#: Deciles ignored by default (the paper's "ignore D8" ablation uses (8,)).
DEFAULT_IGNORE_DECILES: tuple = ()

#: Eq. 3 weight of the background class; every other class weighs 1.
DEFAULT_BACKGROUND_WEIGHT: float = 0.1

#: Label value the loss and the metrics skip (padding from crops and rotations).
IGNORE_INDEX: int = 255

#: Largest value of an 8-bit pixel or label (uint8); images are scaled to [0, 1] by it.
UINT8_MAX: int = 255

#: File extensions (lower case) read as images where a folder is scanned for them.
IMAGE_EXTENSIONS: tuple = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

#: ImageNet-1k, the paper's pre-training set.
IMAGENET_NUM_CLASSES: int = 1000
IMAGENET_TRAIN_IMAGES: int = 1_281_167

#: The square input side ImageNet classifiers are trained at; also the default short side of
#: the explanation (and label) resolution.
IMAGENET_INPUT_SIZE: int = 224

#: Per-image seeds stay below this so every RNG (numpy, paddle, curand) accepts them.
SEED_LIMIT_ALL_RNGS: int = 2 ** 31

#: Seeds must be below this for numpy's legacy RNG (``np.random.seed``), which InterpretDL uses.
NUMPY_LEGACY_SEED_LIMIT: int = 2 ** 32


def background_class_id(num_object_classes: int) -> int:
    """Background takes the id after the last object class (1000 for ImageNet-1k)."""
    return num_object_classes


def segmentation_num_classes(num_object_classes: int) -> int:
    """A PSSL model predicts every object class plus background (1001 for ImageNet-1k)."""
    return num_object_classes + 1
