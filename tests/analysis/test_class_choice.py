"""Choosing each image's class among candidates by the ensemble (real-data benchmarks)."""
import numpy as np
import pytest

from paddleseg_pssl.analysis import class_choice
from paddleseg_pssl.errors import PSSLConfigError


def _write(tmp_path, text):
    path = tmp_path / "candidates.csv"
    path.write_text(text)
    return str(path)


def test_candidates_are_read_with_their_ids(tmp_path):
    rows = class_choice.read_candidates(
        _write(tmp_path, "image,candidates\na/x.jpg,3 4\n\"b y.jpg\",1\n"), num_classes=5)
    assert rows == [class_choice.CandidateRow("a/x.jpg", (3, 4)),
                    class_choice.CandidateRow("b y.jpg", (1,))]


@pytest.mark.parametrize("text, match", [
    ("image,classes\nx.jpg,1\n", "lacks the column"),
    ("image,candidates\nx.jpg,\n", "line 2: needs an image"),
    ("image,candidates\nx.jpg,cow\n", "line 2: class ids must be integers"),
    ("image,candidates\nx.jpg,1\ny.jpg,7\n", r"line 3: class ids \[7\] are outside"),
    ("image,candidates\n", "lists no images"),
])
def test_bad_candidates_files_name_the_file_and_line(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(PSSLConfigError, match=match) as info:
        class_choice.read_candidates(path, num_classes=5)
    assert path in str(info.value)


def test_missing_candidates_file_is_named(tmp_path):
    with pytest.raises(PSSLConfigError, match="does not exist"):
        class_choice.read_candidates(str(tmp_path / "none.csv"), 5)


def test_most_probable_candidate_ignores_other_classes():
    probs = np.array([0.9, 0.02, 0.05, 0.03])
    assert class_choice.most_probable(probs, [1, 2, 3]) == 2
    assert class_choice.most_probable(probs, [3, 1]) == 3


def test_list_file_is_sorted_and_complete(tmp_path):
    path = class_choice.write_list_file({"b.jpg": 2, "a.jpg": 10}, str(tmp_path / "l" / "x.txt"))
    assert open(path).read() == "a.jpg 10\nb.jpg 2\n"
    assert [p.name for p in (tmp_path / "l").iterdir()] == ["x.txt"]
