"""Class-balanced subsets: the same share from every class, exact totals, seeded and nested."""
import pytest

from paddleseg_pssl import subsets
from paddleseg_pssl.subsets import SubsetError, balanced_indices, parse_per_class, parse_size

#: Three classes of unequal size: 10 + 20 + 30 = 60 samples, interleaved.
CLASS_KEYS = [c for i in range(30) for c, n in (("a", 10), ("b", 20), ("c", 30)) if i < n]


def _counts(indices):
    return subsets.per_class_counts([CLASS_KEYS[i] for i in indices])


def test_count_takes_the_same_share_of_every_class_and_hits_the_total():
    chosen = balanced_indices(CLASS_KEYS, parse_size(30, "subset"), seed=0)
    assert len(chosen) == 30 and chosen == sorted(chosen)
    assert _counts(chosen) == {"a": 5, "b": 10, "c": 15}


def test_fraction_and_count_agree():
    assert balanced_indices(CLASS_KEYS, parse_size(0.5, "subset"), seed=3) == \
        balanced_indices(CLASS_KEYS, parse_size(30, "subset"), seed=3)


def test_remainders_go_to_the_largest_fractional_parts():
    counts = _counts(balanced_indices(CLASS_KEYS, parse_size(7, "subset"), seed=0))
    # exact shares 7/6, 14/6, 21/6 -> floors 1, 2, 3; the one missing sample goes to c (0.5)
    assert counts == {"a": 1, "b": 2, "c": 4}


def test_per_class_caps_small_classes():
    counts = _counts(balanced_indices(CLASS_KEYS, parse_per_class(12, "k"), seed=0))
    assert counts == {"a": 10, "b": 12, "c": 12}


def test_seed_changes_the_choice_and_larger_subsets_extend_smaller_ones():
    small = balanced_indices(CLASS_KEYS, parse_size(12, "subset"), seed=1)
    large = balanced_indices(CLASS_KEYS, parse_size(36, "subset"), seed=1)
    assert set(small) <= set(large)
    assert balanced_indices(CLASS_KEYS, parse_size(12, "subset"), seed=2) != small
    assert balanced_indices(CLASS_KEYS, parse_size(12, "subset"), seed=1) == small


@pytest.mark.parametrize("value, match", [(0, "at least 1"), (1.5, r"\(0, 1\]"),
                                          (0.0, r"\(0, 1\]"), ("10", "not a subset size"),
                                          (True, "not a subset size")])
def test_bad_sizes_name_the_key(value, match):
    with pytest.raises(SubsetError, match=f"my.key.*{match}"):
        parse_size(value, "my.key")


def test_more_than_available_is_an_error():
    with pytest.raises(SubsetError, match="61 samples requested but only 60"):
        balanced_indices(CLASS_KEYS, parse_size(61, "subset"), seed=0)
