"""``batch_size: auto``: the chunk size is measured per model and resolution, kept for the run,
and never changes the labels."""
import numpy as np
import paddle
import pytest

from paddleseg_pssl.consensus import label_maths
from paddleseg_pssl.consensus.explain.engines import build_engine
from paddleseg_pssl.consensus.explain.chunk_tuning import (candidate_sizes, TIMING_REPS,
                                                           resolution_bucket, tune_chunk_size)
from paddleseg_pssl.consensus.explain.classifier_loading import build_classifier
from paddleseg_pssl.consensus.explain.ensemble import parse_ensemble

N_SAMPLES = 5


class FakeTimer:
    """A clock that advances by a given cost per chunk size when a chunk runs."""

    def __init__(self, seconds_per_chunk, fail_at=None, error=MemoryError,
                 message="out of memory"):
        self.now, self.cost, self.runs = 0.0, seconds_per_chunk, []
        self.fail_at, self.error, self.message = fail_at, error, message

    def run(self, size):
        if self.fail_at is not None and size >= self.fail_at:
            raise self.error(self.message)
        self.runs.append(size)
        self.now += self.cost[size]

    def clock(self):
        return self.now


def test_candidates_double_up_to_n_samples_and_the_memory_cap():
    assert candidate_sizes(20, sample_bytes=1) == [1, 2, 4, 8, 16, 20]
    assert candidate_sizes(16, sample_bytes=1) == [1, 2, 4, 8, 16]
    assert candidate_sizes(50, sample_bytes=100, max_bytes=1000) == [1, 2, 4, 8]
    assert candidate_sizes(3, sample_bytes=10 ** 9, max_bytes=1) == [1]


def test_the_fastest_per_sample_wins_and_the_search_stops_once_it_gets_slower():
    timer = FakeTimer({1: 1.0, 2: 1.2, 4: 2.0, 8: 8.0, 16: 1.0})
    choice = tune_chunk_size(timer.run, [1, 2, 4, 8, 16], (4, 4), clock=timer.clock)
    assert choice.batch_size == 4
    assert choice.seconds_per_sample == pytest.approx({1: 1.0, 2: 0.6, 4: 0.5, 8: 1.0})
    assert 16 not in timer.runs  # stopped at 8, the first slower candidate


def test_a_larger_chunk_must_be_clearly_faster_to_be_chosen():
    timer = FakeTimer({1: 1.0, 2: 1.98})  # 1% faster per sample: within timing noise
    assert tune_chunk_size(timer.run, [1, 2], (4, 4), clock=timer.clock).batch_size == 1


def test_a_cpu_like_model_keeps_batch_one_after_two_candidates():
    timer = FakeTimer({1: 1.0, 2: 2.6, 4: 4.0})
    choice = tune_chunk_size(timer.run, [1, 2, 4], (4, 4), clock=timer.clock)
    assert choice.batch_size == 1 and set(timer.runs) == {1, 2}
    assert len(timer.runs) <= 2 * (TIMING_REPS + 1)  # a dozen noise samples at most


def test_out_of_memory_ends_the_search_with_the_best_that_fitted():
    timer = FakeTimer({1: 1.0, 2: 1.0}, fail_at=4, error=RuntimeError)
    assert tune_chunk_size(timer.run, [1, 2, 4, 8], (4, 4), clock=timer.clock).batch_size == 2
    with pytest.raises(ValueError):
        tune_chunk_size(FakeTimer({1: 1.0}, fail_at=2, error=ValueError,
                                         message="a shape error").run, [1, 2], (4, 4))


def test_a_single_candidate_is_chosen_without_running_anything():
    timer = FakeTimer({1: 1.0})
    choice = tune_chunk_size(timer.run, [1], (4, 4), clock=timer.clock)
    assert (choice.batch_size, timer.runs, choice.tuning_seconds) == (1, [], 0.0)


def test_nearby_resolutions_share_a_bucket():
    assert resolution_bucket(224, 299) == resolution_bucket(224, 336)
    assert resolution_bucket(224, 224) != resolution_bucket(448, 448)


@pytest.fixture(scope="module")
def tiny_model():
    paddle.seed(0)
    spec = parse_ensemble([{"arch": "resnet18"}], num_classes=5)[0]
    return build_classifier(spec, check_size=32)


def test_labels_are_byte_identical_for_every_chunk_size(tiny_model):
    image = np.random.RandomState(3).randn(1, 3, 32, 40).astype("float32")
    labels = []
    for batch_size in (1, 2, 3, N_SAMPLES, "auto"):
        engine = build_engine("batched", n_samples=N_SAMPLES, batch_size=batch_size)
        score = engine.explain(tiny_model, image, 2, seed=7)
        deciles, _ = label_maths.consensus_deciles([score], score.shape, "minmax", 0.04)
        labels.append(deciles.tobytes())
    assert len(set(labels)) == 1


def test_auto_measures_once_per_model_and_resolution(tiny_model):
    engine = build_engine("batched", n_samples=N_SAMPLES)
    small = np.random.RandomState(4).randn(1, 3, 32, 32).astype("float32")
    large = np.random.RandomState(4).randn(1, 3, 64, 64).astype("float32")
    for x in (small, small, large):
        engine.explain(tiny_model, x, 1, seed=0)
    records = engine.chunk_choices({id(tiny_model): "r18"})
    assert sorted(tuple(r["input_hw"]) for r in records) == [(32, 32), (64, 64)]
    assert all(r["model"] == "r18" and 1 <= r["batch_size"] <= N_SAMPLES for r in records)


def test_interpreters_built_per_call_measure_once_per_process(tiny_model):
    from paddleseg_pssl.consensus.explain import chunk_tuning
    from paddleseg_pssl.consensus.explain.interpreter import FastSmoothGradInterpreter

    image = np.random.RandomState(5).randn(1, 3, 48, 48).astype("float32")
    before = len(chunk_tuning.SHARED_CACHE.records())
    for _ in range(2):  # as InterpretDL's ConsensusInterpreter does: a new interpreter per call
        FastSmoothGradInterpreter(tiny_model, device="cpu").gradient_moments(
            image, 1, n_samples=N_SAMPLES)
    assert len(chunk_tuning.SHARED_CACHE.records()) == before + 1
