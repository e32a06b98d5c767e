"""The classification images PSSL labels, and the class list that fixes their class ids: an
ImageNet-style folder (``<root>/<split>/<class>/<image>``) or a list file of ``<path> <class>``
lines, sorted by image path; the class list (``synsets``) or else the sorted class names. A
problem of one image is an item with an ``error``; of the whole input, an ImageSourceError."""
import dataclasses
import os
from typing import Dict, List, Optional, Sequence

from paddleseg_pssl import pssl_format, subsets


class ImageSourceError(ValueError):
    """The image input as a whole is unusable; the message names the path and the fix."""


class ClassListError(ImageSourceError):
    """The class list (``images.synsets``) is unusable; the message names the file."""


@dataclasses.dataclass(frozen=True)
class ImageItem:
    """One image to label."""

    image_rel: str               # relative to the image root, '/'-separated
    class_name: str              # the class (folder) name; the label's parent folder
    class_id: int                # index in the class list, -1 when unknown
    label_rel: str               # relative to the PSSL root (train/<class>/<file>.png)
    error: Optional[str] = None  # why it cannot be labelled (recorded as a failure)


@dataclasses.dataclass
class ImageSource:
    """The sorted images of one generation run and their class list."""

    root: str
    classes: List[str]
    items: List[ImageItem]
    class_list_file: Optional[str] = None

    def path(self, item: ImageItem) -> str:
        """Absolute path of ``item``'s image file."""
        return pssl_format.join_relpath(self.root, item.image_rel)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _read_classes(path: str) -> List[str]:
    """Class names of a synsets file (:func:`paddleseg_pssl.pssl_format.read_class_list`)."""
    try:
        return pssl_format.read_class_list(path).ids
    except pssl_format.PSSLFormatError as exc:
        raise ClassListError(str(exc)) from None


def _name_error(class_name: str, image_rel: str) -> Optional[str]:
    """Why the names of one image cannot go into the PSSL files, or None."""
    return pssl_format.class_name_problem(class_name) or pssl_format.file_name_problem(image_rel)


def _folder_classes(split_dir: str, folders: List[str]) -> List[str]:
    """The class list made of the class folders themselves (no ``images.synsets``); a folder
    whose name cannot be a class is refused, as dropping it would shift every later class id."""
    if not folders:
        raise ImageSourceError(f"image folder {split_dir!r} has no class sub-folders")
    for folder in folders:
        problem = pssl_format.class_name_problem(folder)
        if problem is not None:
            raise ImageSourceError(f"{os.path.join(split_dir, folder)!r}: {problem}, or set "
                                   "images.synsets to a class list that leaves it out")
    return folders


def from_folder(root: str, split: str = "train",
                class_list_file: Optional[str] = None) -> ImageSource:
    """Images of ``<root>/<split>/<class>/<file>``: every visible regular file of a class folder
    (non-images fail at decoding and are recorded); other files and sub-folders are ignored."""
    split_dir = os.path.join(root, split)
    if not os.path.isdir(split_dir):
        raise ImageSourceError(f"image folder {split_dir!r} is not a directory; expected "
                               f"<root>/{split}/<class>/<image> (ImageNet layout)")
    folders = sorted(d for d in os.listdir(split_dir)
                     if not d.startswith(".") and os.path.isdir(os.path.join(split_dir, d)))
    classes = _read_classes(class_list_file) if class_list_file else _folder_classes(
        split_dir, folders)
    class_ids = {name: i for i, name in enumerate(classes)}
    items: List[ImageItem] = []
    for folder in folders:
        folder_dir = os.path.join(split_dir, folder)
        class_id = class_ids.get(folder, -1)
        error = None if class_id >= 0 else (
            f"class folder {folder!r} is not in the class list {class_list_file!r}")
        for name in sorted(os.listdir(folder_dir)):
            if name.startswith(".") or not os.path.isfile(os.path.join(folder_dir, name)):
                continue
            items.append(ImageItem(image_rel=f"{split}/{folder}/{name}", class_name=folder,
                                   class_id=class_id,
                                   label_rel=pssl_format.label_relpath(folder, name),
                                   error=_name_error(folder, name) or error))
    items.sort(key=lambda it: it.image_rel)
    return ImageSource(root=root, classes=list(classes), items=items,
                       class_list_file=class_list_file)


def _parse_list_lines(list_file: str) -> List[tuple]:
    if not os.path.isfile(list_file):
        raise ImageSourceError(f"image list {list_file!r} is not a file; give a text file of "
                               "'<image path relative to root> <class>' lines")
    rows = []
    with open(list_file, "r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            fields = text.rsplit(None, 1)
            if len(fields) != 2:
                raise ImageSourceError(f"image list {list_file!r} line {lineno}: expected "
                                       f"'<path> <class>', got {text!r}")
            rows.append((lineno, fields[0].replace("\\", "/"), fields[1]))
    if not rows:
        raise ImageSourceError(f"image list {list_file!r} holds no images")
    return rows


def from_list(root: str, list_file: str, class_list_file: Optional[str] = None) -> ImageSource:
    """Images listed as ``<path> <class>`` lines (path relative to ``root``; the class a name or
    an id into the given class list). An image whose label (``train/<class>/<file name>.png``)
    collides with an earlier one's is an item with an error."""
    if not os.path.isdir(root):
        raise ImageSourceError(f"image root {root!r} is not a directory")
    rows = _parse_list_lines(list_file)
    if class_list_file:
        classes = _read_classes(class_list_file)
    else:
        tokens = sorted({cls for _, _, cls in rows})
        if all(tok.lstrip("-").isdigit() for tok in tokens):
            raise ImageSourceError(
                f"image list {list_file!r} gives numeric class ids; set images.synsets to the "
                "class list they index")
        classes = tokens
    class_ids = {name: i for i, name in enumerate(classes)}
    items: Dict[str, ImageItem] = {}
    for lineno, image_rel, token in rows:
        image_rel = os.path.normpath(image_rel).replace(os.sep, "/")
        if token in class_ids:
            class_name, class_id, error = token, class_ids[token], None
        elif token.lstrip("-").isdigit() and 0 <= int(token) < len(classes):
            class_name, class_id, error = classes[int(token)], int(token), None
        else:
            class_name, class_id = token, -1
            error = (f"class {token!r} (image list line {lineno}) is not in the class list "
                     f"{class_list_file!r}")
        name = image_rel.rsplit("/", 1)[-1]
        error = _name_error(class_name, image_rel) or error
        items.setdefault(image_rel, ImageItem(
            image_rel=image_rel, class_name=class_name, class_id=class_id,
            label_rel=pssl_format.label_relpath(class_name, name), error=error))
    ordered = sorted(items.values(), key=lambda it: it.image_rel)
    owner: Dict[str, str] = {}
    result = []
    for it in ordered:
        if it.error is None and it.label_rel in owner:
            it = dataclasses.replace(it, error=(
                f"label {it.label_rel!r} would also label {owner[it.label_rel]!r} "
                "(same class and file name); rename one of the images"))
        elif it.error is None:
            owner[it.label_rel] = it.image_rel
        result.append(it)
    return ImageSource(root=root, classes=list(classes), items=result,
                       class_list_file=class_list_file)


def build_image_source(root: str, *, split: str = "train", list_file: Optional[str] = None,
                       synsets: Optional[str] = None) -> ImageSource:
    """The images of a run: a list file when ``list_file`` is given, else the folder layout."""
    if list_file:
        return from_list(root, list_file, synsets)
    return from_folder(root, split, synsets)


def balanced_subset(items: Sequence[ImageItem], spec: Optional[subsets.SubsetSpec],
                    seed: int) -> List[ImageItem]:
    """The same share of every class's images (``images.per_class`` / ``images.fraction``),
    seeded and in the items' sorted order; every item when ``spec`` is None."""
    if spec is None:
        return list(items)
    keep = subsets.balanced_indices([it.class_name for it in items], spec, seed,
                                    key="images.per_class/fraction")
    return [items[i] for i in keep]

