"""Sharding and seeding of PSSL generation across processes: rank r takes images r,
r + world_size, ... of the sorted list, and each image's noise is seeded from the global seed and
its path only, so a label depends neither on the process count, nor on the rank, nor on restarts."""
import hashlib
import os
from typing import List, Sequence, Tuple, TypeVar

from paddle.distributed import ParallelEnv

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
    """(rank, world_size) of this process, from ``PADDLE_TRAINER_ID`` / ``PADDLE_TRAINERS_NUM``
    (set by ``paddle.distributed.launch`` on every node), else ``ParallelEnv``, else (0, 1);
    no collective communication is initialised."""
    rank, world = _env_int(LAUNCHER_RANK_ENV), _env_int("PADDLE_TRAINERS_NUM")
    if rank is None or world is None:
        try:
            env = ParallelEnv()
            rank, world = int(env.rank), int(env.world_size)
        except Exception:  # noqa: BLE001 - no launcher: one process
            rank, world = 0, 1
    return check_rank_and_world(rank, world)


def check_rank_and_world(rank: int, world_size: int) -> Tuple[int, int]:
    """Validate a (rank, world_size) pair; ValueError naming both otherwise."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    return int(rank), int(world_size)


def shard(items: Sequence[T], rank: int, world_size: int) -> List[T]:
    """The items (globally ordered) rank ``rank`` processes: disjoint across ranks, together
    everything, neighbours on different ranks (so contiguous classes spread evenly)."""
    check_rank_and_world(rank, world_size)
    return list(items[rank::world_size])


def image_seed(global_seed: int, image_relpath: str, salt: str = "") -> int:
    """A per-image seed in [0, 2**31): SHA-256 of the global seed and the image's '/'-separated
    relative path, stable across processes, machines and Python versions (unlike ``hash()``).
    ``salt`` derives independent streams for one image (one per model of the ensemble)."""
    rel = str(image_relpath).replace(os.sep, "/")
    text = f"{int(global_seed)}\x00{rel}\x00{salt}".encode("utf-8")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") % SEED_MODULUS
