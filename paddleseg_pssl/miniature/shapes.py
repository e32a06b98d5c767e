"""Drawing primitives of the miniature world: colours, textures, backgrounds, clutter.

Classes differ by *shape* only (colour and texture are class-independent), so an explanation has
to look at the object. Pure functions of a ``numpy.random.Generator``; images are float32 (H, W,
3) RGB in [0, 1]. Objects take vivid colours, backgrounds muted ones, as in photos: with
backgrounds of any colour the small classifiers stayed at chance within the demo's CPU budget.
"""
import math
from typing import Tuple

import cv2
import numpy as np

from paddleseg_pssl.constants import UINT8_MAX
from paddleseg_pssl.miniature.outlines import Outline, render_alpha, transform_outline

#: (saturation range, value range) of the palettes: vivid objects, muted backgrounds.
VIVID: Tuple[Tuple[float, float], Tuple[float, float]] = ((0.55, 1.0), (0.55, 1.0))
MUTED: Tuple[Tuple[float, float], Tuple[float, float]] = ((0.0, 0.35), (0.25, 0.75))
ANY: Tuple[Tuple[float, float], Tuple[float, float]] = ((0.0, 1.0), (0.2, 1.0))


def random_color(rng: np.random.Generator, palette=ANY) -> np.ndarray:
    """A random RGB colour in [0, 1] from HSV: uniform hue, saturation and value in `palette`."""
    h = rng.uniform(0, 180)
    s = rng.uniform(*palette[0])
    v = rng.uniform(*palette[1])
    hsv = np.uint8([[[h, s * UINT8_MAX, v * UINT8_MAX]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / UINT8_MAX


def _coords(height: int, width: int, angle: float) -> np.ndarray:
    """Pixel coordinate along direction `angle` (float32 (H, W))."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return xx * math.cos(angle) + yy * math.sin(angle)


def _mix(c1: np.ndarray, c2: np.ndarray, t: np.ndarray) -> np.ndarray:
    return c1[None, None] * (1.0 - t[..., None]) + c2[None, None] * t[..., None]


def smooth_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> np.ndarray:
    """Value noise in [0, 1] (float32 (H, W)): a coarse random grid upsampled bicubically."""
    gh, gw = max(2, int(height / cell) + 2), max(2, int(width / cell) + 2)
    grid = rng.random((gh, gw), dtype=np.float32)
    out = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0)


TEXTURES: Tuple[str, ...] = ("solid", "stripes", "dots", "gradient", "checker", "noise")


def texture(rng: np.random.Generator, height: int, width: int, kind: str,
            c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    """A (H, W, 3) float32 texture of two colours: one of TEXTURES."""
    if kind == "solid":
        return np.broadcast_to(c1[None, None], (height, width, 3)).astype(np.float32)
    if kind == "stripes":
        period = rng.uniform(4, 10)
        u = _coords(height, width, rng.uniform(0, math.pi))
        return _mix(c1, c2, (np.sin(2 * math.pi * u / period) > 0).astype(np.float32))
    if kind == "dots":
        step = rng.uniform(5, 9)
        radius = rng.uniform(0.22, 0.38) * step
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        ox, oy = rng.uniform(0, step, 2)
        dx = (xx + ox) % step - step / 2
        dy = (yy + oy) % step - step / 2
        return _mix(c1, c2, (dx * dx + dy * dy < radius * radius).astype(np.float32))
    if kind == "gradient":
        u = _coords(height, width, rng.uniform(0, 2 * math.pi))
        u = (u - u.min()) / max(float(u.max() - u.min()), 1e-6)
        return _mix(c1, c2, u)
    if kind == "checker":
        size = rng.uniform(4, 9)
        a = rng.uniform(0, math.pi / 2)
        u = _coords(height, width, a)
        v = _coords(height, width, a + math.pi / 2)
        t = ((np.floor(u / size) + np.floor(v / size)) % 2).astype(np.float32)
        return _mix(c1, c2, t)
    if kind == "noise":
        return _mix(c1, c2, smooth_noise(rng, height, width, rng.uniform(3, 8)))
    raise ValueError(f"texture kind {kind!r} is unknown; expected one of {TEXTURES}")


def random_texture(rng: np.random.Generator, height: int, width: int,
                   contrast: Tuple[float, float] = (1.0, 1.0), palette=ANY) -> np.ndarray:
    """A texture of a random kind: colour c1 patterned with c1 + t * (c2 - c1), t (the
    pattern's contrast) drawn from `contrast`."""
    kind = TEXTURES[rng.integers(len(TEXTURES))]
    c1, c2 = random_color(rng, palette), random_color(rng)
    t = rng.uniform(*contrast)
    return texture(rng, height, width, kind, c1, (1.0 - t) * c1 + t * c2)


def composite(image: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-blend `layer` over `image` (both (H, W, 3)) with coverage `alpha` ((H, W))."""
    a = alpha[..., None]
    return image * (1.0 - a) + layer * a


#: Contrast of the background's pattern relative to a full two-colour texture (0..1).
BACKGROUND_PATTERN_CONTRAST: float = 0.15


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A cluttered background: a textured base of lowered contrast, soft shading."""
    base_kind = ("gradient", "noise", "stripes", "checker", "dots")[rng.integers(5)]
    c1, c2 = random_color(rng, MUTED), random_color(rng, MUTED)
    if base_kind in ("stripes", "checker", "dots", "noise"):
        # busy, but its edges weaker than an object's outline usually is
        c2 = (1 - BACKGROUND_PATTERN_CONTRAST) * c1 + BACKGROUND_PATTERN_CONTRAST * c2
    img = texture(rng, height, width, base_kind, c1, c2)
    shade = smooth_noise(rng, height, width, rng.uniform(12, 30))
    img = img * (0.75 + 0.5 * shade[..., None])
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def random_lines(rng: np.random.Generator, image: np.ndarray, count: int) -> np.ndarray:
    """Draw `count` random anti-aliased straight lines across the image."""
    height, width = image.shape[:2]
    canvas = (image * UINT8_MAX).astype(np.uint8)
    for _ in range(count):
        p1 = (int(rng.integers(-width // 4, width * 5 // 4)), int(rng.integers(-height // 4,
                                                                              height * 5 // 4)))
        p2 = (int(rng.integers(-width // 4, width * 5 // 4)), int(rng.integers(-height // 4,
                                                                              height * 5 // 4)))
        color = tuple(int(v) for v in (random_color(rng) * UINT8_MAX))
        cv2.line(canvas, p1, p2, color, 1, lineType=cv2.LINE_AA)  # noqa
    return canvas.astype(np.float32) / UINT8_MAX


def blob_outline(rng: np.random.Generator) -> Outline:
    """An irregular star-convex blob (random radii, 5-9 vertices): a distractor, in unit coords."""
    n = int(rng.integers(5, 10))
    t = np.sort(rng.uniform(0, 2 * math.pi, n))
    r = rng.uniform(0.45, 1.0, n)
    pts = np.stack([r * np.cos(t), r * np.sin(t)], 1).astype(np.float32)
    if rng.random() < 0.5:  # smooth it into a blob
        pts = _smooth_closed(pts, 8)
    return [pts], []


def _smooth_closed(pts: np.ndarray, sub: int) -> np.ndarray:
    """Closed Catmull-Rom-like smoothing of a polygon by periodic cubic resampling."""
    n = len(pts)
    out = []
    for i in range(n):
        p0, p1, p2, p3 = pts[(i - 1) % n], pts[i], pts[(i + 1) % n], pts[(i + 2) % n]
        for t in np.linspace(0, 1, sub, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                              + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    return np.float32(out)


def add_distractors(rng: np.random.Generator, image: np.ndarray, count: int,
                    max_area_fraction: float = 0.04) -> np.ndarray:
    """Draw `count` small class-independent blobs/polygons and thin lines on `image`."""
    height, width = image.shape[:2]
    for _ in range(count):
        outline = blob_outline(rng)
        area = rng.uniform(0.005, max_area_fraction) * height * width
        scale = math.sqrt(area / math.pi / 0.5)
        aspect = rng.uniform(0.6, 1.6)
        placed = transform_outline(outline, (scale * aspect, scale / aspect),
                                   rng.uniform(0, 2 * math.pi),
                                   (rng.uniform(0, width), rng.uniform(0, height)))
        alpha = render_alpha(placed, height, width)
        image = composite(image, random_texture(rng, height, width), alpha)
    return image


def finish(rng: np.random.Generator, image: np.ndarray, noise_sigma: float = 0.03) -> np.ndarray:
    """Add pixel noise and quantise to uint8 RGB."""
    noisy = image + rng.normal(0.0, noise_sigma, image.shape).astype(np.float32)
    return np.clip(np.round(noisy * UINT8_MAX), 0, UINT8_MAX).astype(np.uint8)


#: Contrast range of the pattern on an object (its main colour dominates).
OBJECT_PATTERN_CONTRAST: Tuple[float, float] = (0.2, 0.6)


def object_layer(rng: np.random.Generator, height: int, width: int,
                 under: np.ndarray, alpha: np.ndarray, min_contrast: float = 0.3) -> np.ndarray:
    """A random object texture whose mean colour differs from what lies under it by
    `min_contrast` (RGB distance; up to 20 draws, the last one is kept)."""
    weight = alpha / max(float(alpha.sum()), 1e-6)
    under_mean = (under * weight[..., None]).sum(axis=(0, 1))
    layer = random_texture(rng, height, width, OBJECT_PATTERN_CONTRAST, VIVID)
    for _ in range(20):
        mean = (layer * weight[..., None]).sum(axis=(0, 1))
        if float(np.linalg.norm(mean - under_mean)) >= min_contrast:
            break
        layer = random_texture(rng, height, width, OBJECT_PATTERN_CONTRAST, VIVID)
    return layer
