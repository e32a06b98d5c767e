"""Sharding and seeding of PSSL generation across processes (arXiv 2207.03335, Section 3).

Under ``python -m paddle.distributed.launch`` (one process per GPU, one or many nodes, or CPU
processes) every rank takes a disjoint, deterministic slice of the globally sorted image list:
image ``i`` belongs to rank ``i % world_size``. The noise of every image is seeded from the
global seed and the image's relative path only, so a label does not depend on the number of
processes, on which rank made it, or on restarts.
"""
import hashlib
import os
from typing import List, Sequence, Tuple, TypeVar

from paddleseg_pssl.constants import SEED_LIMIT_ALL_RNGS

T = TypeVar("T")

#: Seeds are kept below this so every RNG (numpy, paddle, curand) accepts them.
SEED_MODULUS: int = SEED_LIMIT_ALL_RNGS


def _env_int(name: str):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


#: Set by ``paddle.distributed.launch`` in every worker it starts.
LAUNCHER_RANK_ENV = "PADDLE_TRAINER_ID"


def launched_by_launcher() -> bool:
    """Whether this process is a worker started by ``paddle.distributed.launch``."""
    return _env_int(LAUNCHER_RANK_ENV) is not None


def rank_and_world() -> Tuple[int, int]:
    """(rank, world_size) of this process.

    Read from ``PADDLE_TRAINER_ID`` / ``PADDLE_TRAINERS_NUM`` (set by
    ``paddle.distributed.launch`` on every node), falling back to
    ``paddle.distributed.ParallelEnv`` and finally to a single process (0, 1).
    No collective communication is initialised.
    """
    rank, world = _env_int(LAUNCHER_RANK_ENV), _env_int("PADDLE_TRAINERS_NUM")
    if rank is None or world is None:
        try:
            from paddle.distributed import ParallelEnv

            env = ParallelEnv()
            rank, world = int(env.rank), int(env.world_size)
        except Exception:  # noqa: BLE001 - no paddle or no launcher: one process
            rank, world = 0, 1
    return check_rank_and_world(rank, world)


def check_rank_and_world(rank: int, world_size: int) -> Tuple[int, int]:
    """Validate a (rank, world_size) pair; ValueError naming both otherwise."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    return int(rank), int(world_size)


def shard_indices(count: int, rank: int, world_size: int) -> List[int]:
    """Indices of the ``count`` globally ordered items that rank ``rank`` processes.

    Disjoint across ranks, their union is everything, and neighbouring items go to different
    ranks (so classes, usually contiguous, spread evenly).
    """
    check_rank_and_world(rank, world_size)
    return list(range(rank, count, world_size))


def shard(items: Sequence[T], rank: int, world_size: int) -> List[T]:
    """The items of ``items`` (globally ordered) that rank ``rank`` processes."""
    return [items[i] for i in shard_indices(len(items), rank, world_size)]


def image_seed(global_seed: int, image_relpath: str, salt: str = "") -> int:
    """A per-image seed in [0, 2**31): SHA-256 of the global seed and the image's relative path.

    Stable across processes, machines and Python versions (unlike ``hash()``). ``salt``
    derives independent streams for one image (e.g. one per model of the ensemble).
    Path separators are normalised to '/' so Windows and POSIX runs agree.
    """
    rel = str(image_relpath).replace(os.sep, "/")
    text = f"{int(global_seed)}\x00{rel}\x00{salt}".encode("utf-8")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") % SEED_MODULUS
