"""Image inputs: ImageNet folders and list files, class ids fixed by the class list."""
import pytest

from paddleseg_pssl.consensus.run import image_source as src
from paddleseg_pssl.consensus.run.image_source import ImageSourceError


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def tree(tmp_path):
    for rel in ("train/b/2.jpg", "train/b/1.jpg", "train/a/z.JPEG", "train/a/.hidden",
                "train/c/x.png", "train/a/sub/deep.jpg", "train/loose.jpg"):
        _touch(tmp_path / rel)
    (tmp_path / "synsets.txt").write_text("# comment\nb  the bees\n\na the ants\n")
    return tmp_path


def test_folder_with_class_list(tree):
    source = src.from_folder(str(tree), "train", str(tree / "synsets.txt"))
    assert source.classes == ["b", "a"]
    assert [(it.image_rel, it.class_id, it.label_rel) for it in source.items] == [
        ("train/a/z.JPEG", 1, "train/a/z.JPEG.png"),
        ("train/b/1.jpg", 0, "train/b/1.jpg.png"),
        ("train/b/2.jpg", 0, "train/b/2.jpg.png"),
        ("train/c/x.png", -1, "train/c/x.png.png"),
    ]
    assert [it.error is None for it in source.items] == [True, True, True, False]
    assert "class folder 'c' is not in the class list" in source.items[3].error
    assert source.path(source.items[0]) == str(tree / "train" / "a" / "z.JPEG")


def test_folder_without_class_list_uses_sorted_folders(tree):
    source = src.from_folder(str(tree))
    assert source.classes == ["a", "b", "c"]
    assert all(it.error is None for it in source.items)


def test_folder_without_class_list_refuses_a_folder_it_cannot_name(tree):
    """Dropping it would shift the ids of every later class; the error names it."""
    _touch(tree / "train" / "b c" / "x.jpg")
    with pytest.raises(ImageSourceError, match=r"b c'.*holds whitespace.*images.synsets"):
        src.from_folder(str(tree))


def test_folder_errors(tmp_path, tree):
    with pytest.raises(ImageSourceError, match="not a directory"):
        src.from_folder(str(tmp_path / "nope"))
    (tree / "dup.txt").write_text("a\nb\na\n")
    with pytest.raises(src.ClassListError, match="duplicate class names 'a' .lines 1 and 3."):
        src.from_folder(str(tree), class_list_file=str(tree / "dup.txt"))
    (tree / "empty.txt").write_text("\n# nothing\n")
    with pytest.raises(ImageSourceError, match="no class names"):
        src.from_folder(str(tree), class_list_file=str(tree / "empty.txt"))


def test_list_file_names_ids_and_collisions(tree):
    (tree / "list.txt").write_text(
        "imgs/q/1.jpg a\n"
        "imgs/p/1.jpg a\n"        # same label name as the line above -> error item
        "imgs/with space.jpg 0\n"  # class id 0 = 'b'
        "imgs/x.jpg zebra\n"       # not in the class list
        "imgs/p/1.jpg a\n")        # exact duplicate: once
    source = src.from_list(str(tree), str(tree / "list.txt"), str(tree / "synsets.txt"))
    got = [(it.image_rel, it.class_name, it.class_id, it.label_rel, it.error is None)
           for it in source.items]
    assert got == [
        ("imgs/p/1.jpg", "a", 1, "train/a/1.jpg.png", True),
        ("imgs/q/1.jpg", "a", 1, "train/a/1.jpg.png", False),
        ("imgs/with space.jpg", "b", 0, "train/b/with space.jpg.png", True),
        ("imgs/x.jpg", "zebra", -1, "train/zebra/x.jpg.png", False),
    ]
    assert "would also label 'imgs/p/1.jpg'" in source.items[1].error


def test_list_file_errors(tree):
    (tree / "ids.txt").write_text("imgs/1.jpg 0\n")
    with pytest.raises(ImageSourceError, match="numeric class ids; set images.synsets"):
        src.from_list(str(tree), str(tree / "ids.txt"))
    (tree / "bad.txt").write_text("just_a_path\n")
    with pytest.raises(ImageSourceError, match="line 1: expected '<path> <class>'"):
        src.from_list(str(tree), str(tree / "bad.txt"))
    names = src.from_list(str(tree), str(tree / "ids.txt").replace("ids", "ids"),
                          str(tree / "synsets.txt"))
    assert names.items[0].class_name == "b"


def test_balanced_subset_keeps_the_same_share_of_each_class_in_sorted_order(tmp_path):
    from paddleseg_pssl.subsets import parse_per_class, parse_size

    for cls, count in (("a", 4), ("b", 8)):
        for i in range(count):
            _touch(tmp_path / "train" / cls / f"{i}.jpg")
    source = src.from_folder(str(tmp_path), "train")
    half = src.balanced_subset(source.items, parse_size(0.5, "images.fraction"), seed=0)
    assert [it.class_name for it in half].count("a") == 2
    assert [it.class_name for it in half].count("b") == 4
    assert [it.image_rel for it in half] == sorted(it.image_rel for it in half)
    three = src.balanced_subset(source.items, parse_per_class(3, "images.per_class"), seed=0)
    assert len(three) == 6
    assert src.balanced_subset(source.items, None, seed=0) == source.items
