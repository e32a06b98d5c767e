"""Sharding and per-image seeds: disjoint slices, stable seeds."""
import pytest

from paddleseg_pssl.consensus.run import sharding


@pytest.mark.parametrize("count, world", [(0, 1), (7, 1), (7, 2), (10, 3), (2, 4)])
def test_slices_are_disjoint_and_cover_everything(count, world):
    slices = [sharding.shard(range(count), r, world) for r in range(world)]
    flat = sorted(i for s in slices for i in s)
    assert flat == list(range(count))
    assert max(map(len, slices)) - min(map(len, slices)) <= 1


def test_shard_is_round_robin():
    assert sharding.shard(list("abcdefg"), 1, 3) == ["b", "e"]


def test_rank_and_world_from_launcher_env(monkeypatch):
    monkeypatch.setenv("PADDLE_TRAINER_ID", "3")
    monkeypatch.setenv("PADDLE_TRAINERS_NUM", "8")
    assert sharding.rank_and_world() == (3, 8)
    monkeypatch.setenv("PADDLE_TRAINER_ID", "8")
    with pytest.raises(ValueError, match=r"rank must be in \[0, 8\)"):
        sharding.rank_and_world()
    monkeypatch.setenv("PADDLE_TRAINER_ID", "x")
    with pytest.raises(ValueError, match="PADDLE_TRAINER_ID"):
        sharding.rank_and_world()


def test_single_process_without_launcher(monkeypatch):
    for name in ("PADDLE_TRAINER_ID", "PADDLE_TRAINERS_NUM", "PADDLE_RANK_IN_NODE"):
        monkeypatch.delenv(name, raising=False)
    assert sharding.rank_and_world() == (0, 1)


def test_image_seed_is_stable_and_distinct():
    s = sharding.image_seed(0, "train/n01440764/n01440764_10026.JPEG")
    # sha256 based: fixed across processes, machines and Python versions
    assert s == sharding.image_seed(0, "train/n01440764/n01440764_10026.JPEG")
    assert s == 1628048308
    assert 0 <= s < 2 ** 31
    others = {sharding.image_seed(1, "train/n01440764/n01440764_10026.JPEG"),
              sharding.image_seed(0, "train/n01440764/n01440764_10027.JPEG"),
              sharding.image_seed(0, "train/n01440764/n01440764_10026.JPEG", salt="resnet50")}
    assert s not in others and len(others) == 3
