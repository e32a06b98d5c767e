"""The ablation study's cached maps and scores are the generator's and the evaluator's own
(benchmarks/explanation_study.py)."""
import dataclasses
import sys

import numpy as np
import pytest
from PIL import Image

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.analysis.evaluate import evaluate_pssl_root
from paddleseg_pssl.analysis.masks import MaskSpec
from paddleseg_pssl.consensus.run import config as config_mod
from paddleseg_pssl.consensus.run import runner, startup
from paddleseg_pssl.consensus.explain.engines import AGGREGATIONS
from tests.conftest import REPO_ROOT
from tests.consensus import generate_fixtures as gf

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import explanation_study as study  # noqa: E402

N_SAMPLES = 3


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny generated PSSL folder (per-model maps kept), its masks, and a study cache made
    with the same settings."""
    root = tmp_path_factory.mktemp("study_world")
    images = gf.write_image_tree(root / "imgs", per_class=2)
    weights = [gf.save_tiny_weights(root / f"w{i}.pdparams", len(gf.CLASSES), seed=i)
               for i in range(2)]
    cfg_path = gf.write_config(root / "gen.yml", images_root=images, output=root / "pssl",
                               weights=weights, n_samples=N_SAMPLES,
                               extra={"store": {"keep_model_maps": True, "fsync": False}})
    cfg = config_mod.load_config(str(cfg_path))
    assert runner.run(cfg).ok
    for path in (images / "train").rglob("img*"):
        h, w = np.asarray(Image.open(path)).shape[:2]
        mask = np.zeros((h, w), np.uint8)
        mask[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1
        mask[0] = 255
        out = root / "masks" / path.relative_to(images).with_suffix(".png")
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(out)
    ctx = startup.prepare(cfg)
    explanation = study.ExplanationPass("p", cfg.explainer.noise_amount,
                                        cfg.resolution.short_side, "probability", (1,))
    assert study.compute_pass(ctx, explanation, str(root / "cache")) == len(ctx.items)
    return {"root": root, "cfg": cfg, "ctx": ctx, "explanation": explanation}


def test_cached_maps_are_the_generators_per_model_maps(world):
    ctx, root = world["ctx"], world["root"]
    aggregation = ctx.engine.aggregation
    for item in ctx.items:
        with np.load(study.cache_path(str(root / "cache"), "p", item.label_rel)) as cached, \
                np.load(root / "pssl" / fmt.MODEL_MAPS_DIR /
                        (item.label_rel[len("train/"):-len(".png")] + ".npz")) as kept:
            for spec in ctx.specs:
                ours = cached[study.map_key(spec.name, aggregation, N_SAMPLES)].astype(np.float32)
                np.testing.assert_allclose(ours, kept[spec.name], rtol=2e-3,
                                           atol=2e-3 * kept[spec.name].max())
                for agg in AGGREGATIONS:       # every aggregation at every checkpoint
                    for n in (1, N_SAMPLES):
                        assert cached[study.map_key(spec.name, agg, n)].shape == ours.shape
                assert float(cached[study.seconds_key(spec.name, N_SAMPLES)]) > 0


def test_variant_scores_match_the_evaluator_on_the_generated_labels(world):
    ctx, root = world["ctx"], world["root"]
    samples = [(it.label_rel, it.image_rel, it.class_name) for it in ctx.items]
    names = [s.name for s in ctx.specs]
    variant = study.Variant("generator's settings", "p", ctx.engine.aggregation, N_SAMPLES,
                            **dataclasses.asdict(world["cfg"].consensus))
    (scores,), prior, _ = study.score_variants(str(root / "cache"), samples,
                                               str(root / "imgs" / ".." / "masks"), [variant],
                                               names, singles_for=[variant.name])
    report = evaluate_pssl_root(str(root / "pssl"), str(root / "masks"), MaskSpec("binary"),
                                per_model=True)
    assert scores.consensus.n_images == report.n_evaluated == len(samples)
    for ours, theirs in [(scores.consensus, report.result("consensus")),
                         (prior, report.result("centred prior"))] + [
            (scores.singles[n], report.result(n)) for n in names]:
        for k in (1, 2):
            assert abs(ours.at_top_k(k, "precision") - theirs.at_top_k(k, "precision")) < 0.02


def test_fewer_models_and_other_normalisations_are_label_maths_only(world):
    ctx, root = world["ctx"], world["root"]
    samples = [(it.label_rel, it.image_rel, it.class_name) for it in ctx.items]
    names = [s.name for s in ctx.specs]
    variants = [study.Variant("one", "p", "squared", 1, "clip_p99", smoothing=0.05,
                              models=(names[0],)),
                study.Variant("both", "p", "mean_of_abs", N_SAMPLES)]
    scores, _, _ = study.score_variants(str(root / "cache"), samples, str(root / "masks"),
                                        variants, names, categories={
                                            it.image_rel: "all" for it in ctx.items})
    assert [s.consensus.n_images for s in scores] == [len(samples)] * 2
    assert list(scores[0].per_category) == ["all"]
    assert scores[0].seconds_per_image < scores[1].seconds_per_image


def test_a_missing_pass_is_named(world):
    ctx, root = world["ctx"], world["root"]
    samples = [(it.label_rel, it.image_rel, it.class_name) for it in ctx.items]
    with pytest.raises(Exception, match="run the pass 'other' first"):
        study.score_variants(str(root / "cache"), samples, str(root / "masks"),
                             [study.Variant("x", "other", "squared", 1)],
                             [s.name for s in ctx.specs])


def test_a_rerun_skips_cached_images(world):
    assert study.compute_pass(world["ctx"], world["explanation"],
                              str(world["root"] / "cache")) == 0


def test_interpretdls_documented_consensus_averages_raw_maps():
    """InterpretDL's documented consensus has no per-model normalisation: a model with larger
    gradients outweighs the others, where min-max gives each model the same weight."""
    strong = np.zeros((4, 4), np.float32)
    strong[0, :] = 100.0                      # the strong model marks the top row
    weak = np.zeros((4, 4), np.float32)
    weak[3, :] = 1.0                          # the weak one the bottom row
    raw = study._consensus_deciles([strong, weak], study.Variant(
        "raw", "p", "abs_of_mean", 1, study.NO_NORMALISATION))
    fair = study._consensus_deciles([strong, weak], study.Variant("fair", "p", "abs_of_mean", 1))
    assert raw[0].min() > raw[3].max()
    assert fair[0].min() == fair[3].min()
