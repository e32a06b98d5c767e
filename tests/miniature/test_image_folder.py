"""Image folders as aspect buckets (paddleseg_pssl.miniature.image_folder)."""
import pytest

from paddleseg_pssl.miniature import image_folder


def test_bucket_size_keeps_aspect():
    assert image_folder.bucket_size(64, 80, 64) == (64, 80)
    assert image_folder.bucket_size(80, 64, 64) == (80, 64)
    assert image_folder.bucket_size(375, 500, 64) == (64, 80)
    assert image_folder.bucket_size(10, 1000, 64) == (64, 128)




def test_class_ids_follow_synsets_txt_else_the_sorted_folders(tmp_path):
    for name in ("b", "a"):
        (tmp_path / "train" / name).mkdir(parents=True)
    assert image_folder.folder_class_names(tmp_path) == ["a", "b"]
    (tmp_path / "synsets.txt").write_text("b\na\n")
    assert image_folder.folder_class_names(tmp_path) == ["b", "a"]


def test_folder_without_classes_is_refused(tmp_path):
    with pytest.raises(ValueError, match="neither synsets.txt nor a 'train' folder"):
        image_folder.folder_class_names(tmp_path)
