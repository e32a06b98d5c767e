"""Ablation study of explanation settings on images with masks (PSSL label quality).

Choosing SmoothGrad's settings (aggregation, n_samples, noise, resolution, differentiated
output, per-model normalisation, number of models) by generating a PSSL folder per combination
would cost one full generation each. The study instead runs each *pass* (a noise level, a
resolution and a differentiated output) once per image and model, accumulating every gradient
moment at several sample counts (:meth:`ExplainerEngine.gradient_moments`), and keeps the raw
per-model maps of every aggregation and count in a cache. Scoring a variant is then label
maths only: the same per-model smoothing, normalisation, consensus (Eq. 1) and deciles (Eq. 2)
as the generator, against the masks. (Maps of ``resize: square`` models are cached at the
image's resolution, so the study smooths them after the resize the generator does after
smoothing; for the default ``keep_aspect`` models both orders are the same.)

Caches are per pass: ``<cache>/<pass>/<label relpath>.npz`` holding ``<model>|<aggregation>|<n>``
float32 maps at the explanation resolution (probability gradients are far below float16's
range) and ``seconds|<model>|<n>`` (explanation time up to that sample count), with
``<cache>/<pass>/settings.json`` recording what made them. A rerun skips cached images, so a
killed study resumes; a rerun with other settings into the same pass folder is refused.
"""
import dataclasses
import json
import os
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from paddleseg_pssl.analysis.label_quality import (QualityAccumulator, QualityResult,
                                                   centred_prior_deciles, decile_histograms)
from paddleseg_pssl.analysis.masks import MaskSpec, find_mask, load_mask
from paddleseg_pssl.consensus import label_maths
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.pssl_format import join_relpath

KEY_SEPARATOR = "|"
SECONDS_KEY = "seconds"
PRIOR_NAME = "centred prior"


@dataclasses.dataclass(frozen=True)
class ExplanationPass:
    """Settings that need their own gradients: one pass of the study."""

    name: str
    noise_amount: float
    short_side: int
    gradient_of: str
    checkpoints: Tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Variant:
    """One scored row: a pass, an aggregation, a sample count, a normalisation, the models."""

    name: str
    pass_name: str
    aggregation: str
    n_samples: int
    normalisation: str = label_maths.DEFAULT_NORMALISATION
    smoothing: float = label_maths.NO_SMOOTHING
    models: Optional[Tuple[str, ...]] = None   # None: every model of the ensemble


def map_key(model: str, aggregation: str, n_samples: int) -> str:
    return KEY_SEPARATOR.join((model, aggregation, str(n_samples)))


def seconds_key(model: str, n_samples: int) -> str:
    return KEY_SEPARATOR.join((SECONDS_KEY, model, str(n_samples)))


def cache_path(cache_dir: str, pass_name: str, label_rel: str) -> str:
    return join_relpath(os.path.join(cache_dir, pass_name), label_rel) + ".npz"


SETTINGS_FILE = "settings.json"


def _save_npz_atomic(path: str, arrays: Dict[str, np.ndarray]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def pass_settings(ctx, explanation: ExplanationPass) -> Dict:
    """Everything that shapes a pass's cached maps (checked on every rerun)."""
    return {"pass": dataclasses.asdict(explanation), "explainer": ctx.engine.config(),
            "seed": ctx.cfg.seed, "models": [
                dict(spec.to_dict(), weights_sha256=c)
                for spec, c in zip(ctx.specs, ctx.checksums)]}


def check_pass_settings(ctx, explanation: ExplanationPass, cache_dir: str) -> None:
    """Refuse a pass whose fields disagree with its engine, or a cache folder made with other
    settings; record the settings of a new one (first writer wins, atomically)."""
    engine = ctx.engine
    if (engine.noise_amount, engine.gradient_of) != (explanation.noise_amount,
                                                      explanation.gradient_of):
        raise PSSLConfigError(f"pass {explanation.name!r} says noise {explanation.noise_amount}, "
                              f"{explanation.gradient_of}, but the engine explains with noise "
                              f"{engine.noise_amount}, {engine.gradient_of}")
    if max(explanation.checkpoints) > engine.n_samples:
        raise PSSLConfigError(f"pass {explanation.name!r}: checkpoints "
                              f"{explanation.checkpoints} exceed explainer.n_samples "
                              f"{engine.n_samples}")
    settings = json.loads(json.dumps(pass_settings(ctx, explanation)))
    folder = os.path.join(cache_dir, explanation.name)
    path = os.path.join(folder, SETTINGS_FILE)
    os.makedirs(folder, exist_ok=True)
    if not os.path.isfile(path):
        tmp = f"{path}.tmp.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(settings, f, indent=1, sort_keys=True)
        try:
            os.link(tmp, path)          # fails if another rank wrote it first
        except FileExistsError:
            pass
        finally:
            os.remove(tmp)
    with open(path, "r", encoding="utf-8") as f:
        recorded = json.load(f)
    if recorded != settings:
        raise PSSLConfigError(f"study cache {folder!r} was made with other settings ({path}); "
                              f"use another cache folder or delete this one")


def compute_pass(ctx, explanation: ExplanationPass, cache_dir: str,
                 progress: Optional[Callable[[Iterable], Iterable]] = None) -> int:
    """Explain this rank's images of ``ctx`` (a :func:`startup.prepare` context built with the
    pass's settings) and cache every aggregation at every checkpoint; returns images computed."""
    from paddleseg_pssl.consensus.explain import preprocess
    from paddleseg_pssl.consensus.run import image_loop, sharding
    from paddleseg_pssl.consensus.explain.engines import AGGREGATIONS, MOMENTS, reduce_moments

    check_pass_settings(ctx, explanation, cache_dir)
    mine = [it for it in sharding.shard(ctx.items, ctx.rank, ctx.world_size)
            if it.error is None
            and not os.path.isfile(cache_path(cache_dir, explanation.name, it.label_rel))]
    done = 0
    for item in (mine if progress is None else progress(mine)):
        img = image_loop.decode(ctx.source.path(item), explanation.short_side,
                                ctx.cfg.resolution.max_long_side)
        arrays: Dict[str, np.ndarray] = {}
        for spec, model in zip(ctx.specs, ctx.models):
            seed = sharding.image_seed(ctx.cfg.seed, item.image_rel, salt=spec.name)
            inputs = preprocess.to_model_input(img, spec)
            started = time.perf_counter()
            results = ctx.engine.gradient_moments(model, inputs, item.class_id, seed,
                                                  moments=MOMENTS,
                                                  checkpoints=explanation.checkpoints)
            total = time.perf_counter() - started
            for moments in results:
                arrays[seconds_key(spec.name, moments.n)] = np.float64(
                    total * moments.n / ctx.engine.n_samples)
                for agg in AGGREGATIONS:
                    score = reduce_moments(moments, agg, inputs)
                    score = label_maths.resize_map(score, img.shape[:2])
                    arrays[map_key(spec.name, agg, moments.n)] = score.astype(np.float32)
        _save_npz_atomic(cache_path(cache_dir, explanation.name, item.label_rel), arrays)
        done += 1
    return done


@dataclasses.dataclass
class VariantScores:
    """What :func:`score_variants` measured for one variant."""

    variant: Variant
    consensus: QualityResult
    singles: Dict[str, QualityResult]
    per_category: Dict[str, QualityResult]
    seconds_per_image: float
    #: images x 2 x 10: each image's (all, foreground) pixels per decile, for resampling photos
    histograms: np.ndarray


#: Normalisation of InterpretDL's documented consensus (``np.abs(exp).sum(1).mean(0)``): the
#: raw maps are averaged, neither smoothed nor normalised per model.
NO_NORMALISATION = "none"


def _consensus_deciles(maps: Sequence[np.ndarray], variant: Variant) -> np.ndarray:
    if variant.normalisation == NO_NORMALISATION:
        return label_maths.deciles(np.mean([m.astype(np.float32) for m in maps], axis=0))
    prepared = [label_maths.prepare_model_map(m.astype(np.float32), variant.normalisation,
                                              variant.smoothing) for m in maps]
    return label_maths.deciles(label_maths.consensus(prepared))


def score_variants(cache_dir: str, samples: Sequence[Tuple[str, str, str]], mask_root: str,
                   variants: Sequence[Variant], model_names: Sequence[str], *,
                   categories: Optional[Dict[str, str]] = None,
                   singles_for: Sequence[str] = (),
                   mask_spec: MaskSpec = MaskSpec("binary"),
                   prior_sigma_fraction: Optional[float] = None
                   ) -> Tuple[List[VariantScores], QualityResult, Dict[str, QualityResult]]:
    """Score every variant on every cached sample that has a mask.

    Args:
        cache_dir: the study cache (module docstring).
        samples: (label relpath, image relpath, class name) of each image.
        mask_root: masks, found by image path (:func:`~paddleseg_pssl.analysis.masks.find_mask`).
        variants: what to score.
        model_names: the ensemble's model names, in config order.
        categories: image relpath -> category, for per-category scores (optional).
        singles_for: names of variants whose single models are also scored.
        mask_spec: mask encoding.
        prior_sigma_fraction: the centred prior's spread (None: its default).

    Returns:
        (scores per variant, the centred prior per pass's resolution of the first variant,
        the prior per category).
    """
    from paddleseg_pssl.analysis.label_quality import DEFAULT_PRIOR_SIGMA_FRACTION

    sigma = DEFAULT_PRIOR_SIGMA_FRACTION if prior_sigma_fraction is None else prior_sigma_fraction
    tallies = _Tallies.for_variants(variants, model_names, singles_for)
    for label_rel, image_rel, class_name in samples:
        mask_path = find_mask(mask_root, image_rel)
        if mask_path is None:
            continue
        loaded = _load_caches(cache_dir, variants, label_rel)
        category = (categories or {}).get(image_rel, class_name)
        masks_by_shape: Dict[tuple, tuple] = {}
        for v in variants:
            data = loaded[v.pass_name]
            models = list(v.models or model_names)
            maps = [data[map_key(m, v.aggregation, v.n_samples)] for m in models]
            shape = maps[0].shape
            if shape not in masks_by_shape:
                masks_by_shape[shape] = load_mask(mask_path, mask_spec, class_name, shape)
            fg, valid = masks_by_shape[shape]
            seconds = sum(float(data[seconds_key(m, v.n_samples)]) for m in models)
            tallies.add(v, models, maps, seconds, fg, valid, category)
            if v is variants[0]:
                tallies.add_prior(centred_prior_deciles(shape, sigma), fg, valid, category)
    return tallies.results(variants)


def _load_caches(cache_dir: str, variants: Sequence[Variant], label_rel: str
                 ) -> Dict[str, Dict[str, np.ndarray]]:
    """The cached maps of one image, per pass the variants need.

    Raises:
        PSSLConfigError: A pass has not been computed for this image.
    """
    loaded: Dict[str, Dict[str, np.ndarray]] = {}
    for v in variants:
        if v.pass_name in loaded:
            continue
        path = cache_path(cache_dir, v.pass_name, label_rel)
        if not os.path.isfile(path):
            raise PSSLConfigError(f"study cache {path!r} is missing; run the pass "
                                  f"{v.pass_name!r} first")
        with np.load(path) as data:
            loaded[v.pass_name] = {k: data[k] for k in data.files}
    return loaded


@dataclasses.dataclass
class _Tallies:
    """Running scores of :func:`score_variants`: per variant (overall, per category, single
    models, seconds) and the centred prior (overall, per category)."""
    consensus: Dict[str, QualityAccumulator]
    categories: Dict[str, Dict[str, QualityAccumulator]]
    singles: Dict[str, Dict[str, QualityAccumulator]]
    seconds: Dict[str, List[float]]
    histograms: Dict[str, List[np.ndarray]]
    prior: QualityAccumulator = dataclasses.field(
        default_factory=lambda: QualityAccumulator(PRIOR_NAME))
    prior_categories: Dict[str, QualityAccumulator] = dataclasses.field(default_factory=dict)

    @classmethod
    def for_variants(cls, variants: Sequence[Variant], model_names: Sequence[str],
                     singles_for: Sequence[str]) -> "_Tallies":
        return cls(consensus={v.name: QualityAccumulator(v.name) for v in variants},
                   categories={v.name: {} for v in variants},
                   singles={v.name: {m: QualityAccumulator(m) for m in model_names}
                            for v in variants if v.name in singles_for},
                   seconds={v.name: [] for v in variants},
                   histograms={v.name: [] for v in variants})

    def add(self, v: Variant, models: Sequence[str], maps: Sequence[np.ndarray],
            seconds: float, fg: np.ndarray, valid: np.ndarray, category: str) -> None:
        """Score one image's consensus (and single models) of variant ``v``."""
        dec = _consensus_deciles(maps, v)
        self.consensus[v.name].add(dec, fg, valid)
        self.categories[v.name].setdefault(category, QualityAccumulator(category)).add(
            dec, fg, valid)
        self.seconds[v.name].append(seconds)
        self.histograms[v.name].append(np.stack(decile_histograms(dec, fg, valid)))
        if v.name in self.singles:
            for m, score in zip(models, maps):
                self.singles[v.name][m].add(_consensus_deciles([score], v), fg, valid)

    def add_prior(self, prior: np.ndarray, fg: np.ndarray, valid: np.ndarray,
                  category: str) -> None:
        """Score one image's centred prior."""
        self.prior.add(prior, fg, valid)
        self.prior_categories.setdefault(category, QualityAccumulator(category)).add(
            prior, fg, valid)

    def results(self, variants: Sequence[Variant]
                ) -> Tuple[List[VariantScores], QualityResult, Dict[str, QualityResult]]:
        """What :func:`score_variants` returns."""
        out = []
        for v in variants:
            seconds = self.seconds[v.name]
            out.append(VariantScores(
                variant=v, consensus=self.consensus[v.name].result(),
                singles={m: a.result() for m, a in self.singles.get(v.name, {}).items()},
                per_category={c: a.result()
                              for c, a in sorted(self.categories[v.name].items())},
                seconds_per_image=float(np.mean(seconds)) if seconds else float("nan"),
                histograms=np.array(self.histograms[v.name])))
        return out, self.prior.result(), {c: a.result()
                                          for c, a in sorted(self.prior_categories.items())}
