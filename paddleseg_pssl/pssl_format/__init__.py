"""The on-disk PSSL label format: the one contract between the generator and the dataset.

Layout written by ``tools/generate_pssl.py`` and read by ``PSSLDataset``::

    pssl_root/
    |-- train.txt          one sample per line: "<label relpath> [<image relpath>]"
    |-- synsets.txt        class names (folder names), one per line, in class-id order
    |-- manifest.json      provenance: settings, models + weight checksums, versions, counts
    |-- failures.txt       images that could not be labelled: "<image relpath>\t<reason>"
    |-- train/<class>/<image file name>.png
    |                      single-channel uint8 PNG of deciles 0..9 (Eq. 2) at explanation
    |                      resolution (short side 224 by default, aspect kept)
    |-- train/<class>/<image file name>.npy     optional (keep_float): float16 consensus (Eq. 1)
    `-- model_maps/<class>/<image file name>.npz
                           optional (keep_model_maps): raw per-model maps, float32, by model name

The label path is the image path under the image root with ``.png`` appended (as the
``*.JPEG_eiseg.npz`` release does), so the image path derives from it; images elsewhere (a
list-file input) get their path as a second, tab-separated column, as do paths holding spaces.
A sample's class is its label's parent folder. File names may hold no tab, newline or carriage
return; class names no whitespace (class lists are whitespace-tokenised).

This package is the one reader and writer of that contract; every reader raises
:class:`PSSLFormatError` naming the file.
"""
from paddleseg_pssl.pssl_format.class_list import (  # noqa: F401
    ClassList, find_class_list, format_class_list, read_class_list, read_names,
    write_class_list)
from paddleseg_pssl.pssl_format.errors import PSSLFormatError  # noqa: F401
from paddleseg_pssl.pssl_format.images import read_training_image  # noqa: F401
from paddleseg_pssl.pssl_format.label_size import explanation_size  # noqa: F401
from paddleseg_pssl.pssl_format.labels import (  # noqa: F401
    ASPECT_TOLERANCE_PX, DEFAULT_PNG_COMPRESSION, RELEASE_LABEL_KEY, aspect_matches,
    encode_decile_png, generated_label_size, ignore_index_for, label_fits_image,
    read_decile_png, read_label_resolution, read_release_npz)
from paddleseg_pssl.pssl_format.layout import (  # noqa: F401
    CONSENSUS_SUFFIX, FAILURES_FILE, FORBIDDEN_NAME_CHARS, LABEL_SPLIT_DIR, LABEL_SUFFIX,
    LIST_COLUMN_SEPARATOR, MANIFEST_FILE, MODEL_MAPS_DIR, MODEL_MAPS_SUFFIX,
    RELEASE_LABEL_SUFFIX, RELEASE_SYNSETS_FILE, SYNSETS_FILE, TRAIN_LIST_FILE,
    class_name_of_label, class_name_problem, consensus_relpath, file_name_problem,
    image_relpath_from_label, is_label_path, is_release_label, join_relpath, label_relpath,
    model_maps_relpath)
from paddleseg_pssl.pssl_format.train_list import (  # noqa: F401
    ListEntry, format_list_line, format_train_list, iter_train_list, parse_list_line,
    read_train_list, write_train_list)
