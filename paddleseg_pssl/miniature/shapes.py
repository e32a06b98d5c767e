"""Drawing primitives of the miniature world: shape families, textures, clutter.

The demo of paddleseg-pssl (PSSL, arXiv 2207.03335) needs a small classification world whose
classes are told apart by *shape* only, so that a classifier's explanation has to look at the
object and a true object mask exists to score the pseudo labels against. Everything here is a
pure function of a ``numpy.random.Generator``: the same seed draws the same pixels.

Conventions:
    * images are float32 ``(H, W, 3)`` RGB arrays in [0, 1] until they are written;
    * a shape is drawn as an anti-aliased coverage map (``alpha``, float32 ``(H, W)`` in [0, 1],
      rendered at ``SUPERSAMPLE`` times the resolution); its true mask is ``alpha >= 0.5``;
    * shape outlines are polygons in unit coordinates (roughly inside the unit disc), with
      optional holes, then jittered, rotated, scaled and placed.

Colour and texture are drawn independently of the class (a star can be striped, dotted, a
gradient or plain, in any colour), so only the outline identifies the class.

Objects take vivid colours (a main colour patterned at lowered contrast), backgrounds muted ones
(their patterns at 15 % contrast), as the main object of a photo usually stands out. Measured
(mini_resnet, 60 images per class, 8 epochs): with backgrounds of any colour, even plain ones,
the small classifiers stayed at chance (10-16 % val accuracy) within the demo's CPU budget; on a
grey background 49 %; with the vivid/muted palettes and the full clutter 36 %.
"""
import math
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np

#: Coverage maps are rendered at this many times the image resolution, then area-averaged.
SUPERSAMPLE: int = 4

Polygon = np.ndarray  # (N, 2) float32, x then y, unit coordinates
Outline = Tuple[List[Polygon], List[Polygon]]  # (filled polygons, hole polygons)


# --------------------------------------------------------------------------------------------
# Shape families: each returns (fills, holes) in unit coordinates with a little random variation.
# --------------------------------------------------------------------------------------------

def _regular(n: int, radius: float = 1.0, phase: float = 0.0, samples: int = 0) -> Polygon:
    """A regular n-gon (or, with samples > n, a circle approximated by `samples` points)."""
    count = samples or n
    t = phase + 2.0 * math.pi * np.arange(count) / count
    return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1).astype(np.float32)


def _circle(radius: float = 1.0, cx: float = 0.0, cy: float = 0.0) -> Polygon:
    return _regular(0, radius, samples=96) + np.float32([cx, cy])


def _star(rng: np.random.Generator) -> Outline:
    inner = rng.uniform(0.38, 0.5)
    t = -math.pi / 2 + math.pi * np.arange(10) / 5
    r = np.where(np.arange(10) % 2 == 0, 1.0, inner)
    return [np.stack([r * np.cos(t), r * np.sin(t)], 1).astype(np.float32)], []


def _ring(rng: np.random.Generator) -> Outline:
    return [_circle(1.0)], [_circle(rng.uniform(0.45, 0.62))]


def _triangle(rng: np.random.Generator) -> Outline:
    return [_regular(3, 1.0, -math.pi / 2)], []


def _cross(rng: np.random.Generator) -> Outline:
    w = rng.uniform(0.26, 0.38)
    pts = [(-w, -1), (w, -1), (w, -w), (1, -w), (1, w), (w, w), (w, 1), (-w, 1), (-w, w),
           (-1, w), (-1, -w), (-w, -w)]
    return [np.float32(pts)], []


def _crescent(rng: np.random.Generator) -> Outline:
    offset = rng.uniform(0.4, 0.55)
    return [_circle(1.0)], [_circle(rng.uniform(0.85, 0.95), offset, 0.0)]


def _heart(rng: np.random.Generator) -> Outline:
    t = np.linspace(0, 2 * math.pi, 96, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = np.stack([x, y + 2.5], 1) / 17.0
    return [pts.astype(np.float32)], []


def _arrow(rng: np.random.Generator) -> Outline:
    s = rng.uniform(0.16, 0.24)   # shaft half-width
    h = rng.uniform(0.5, 0.65)    # head half-width
    b = rng.uniform(0.05, 0.3)    # where the head starts
    pts = [(-1, -s), (b, -s), (b, -h), (1, 0), (b, h), (b, s), (-1, s)]
    return [np.float32(pts)], []


def _hexagon(rng: np.random.Generator) -> Outline:
    return [_regular(6, 1.0)], []


def _ellipse(rng: np.random.Generator) -> Outline:
    pts = _circle(1.0) * np.float32([1.0, rng.uniform(0.42, 0.6)])
    return [pts], []


def _chevron(rng: np.random.Generator) -> Outline:
    w = rng.uniform(0.45, 0.6)    # arm thickness along x
    pts = [(-0.7, -1), (-0.7 + w, -1), (0.7, 0), (-0.7 + w, 1), (-0.7, 1), (0.7 - w, 0)]
    return [np.float32(pts)], []


def _tshape(rng: np.random.Generator) -> Outline:
    bar = rng.uniform(0.3, 0.42)
    stem = rng.uniform(0.18, 0.26)
    pts = [(-1, -0.9), (1, -0.9), (1, -0.9 + bar), (stem, -0.9 + bar), (stem, 0.9),
           (-stem, 0.9), (-stem, -0.9 + bar), (-1, -0.9 + bar)]
    return [np.float32(pts)], []


def _lshape(rng: np.random.Generator) -> Outline:
    w = rng.uniform(0.35, 0.5)
    pts = [(-0.7, -1), (-0.7 + w, -1), (-0.7 + w, 1 - w), (0.8, 1 - w), (0.8, 1), (-0.7, 1)]
    return [np.float32(pts)], []


def _semicircle(rng: np.random.Generator) -> Outline:
    t = np.linspace(0, math.pi, 48)
    pts = np.stack([np.cos(t), -np.sin(t) + 0.4], 1)
    return [pts.astype(np.float32)], []


def _trapezoid(rng: np.random.Generator) -> Outline:
    top = rng.uniform(0.3, 0.5)
    pts = [(-top, -0.6), (top, -0.6), (1, 0.6), (-1, 0.6)]
    return [np.float32(pts)], []


def _bolt(rng: np.random.Generator) -> Outline:
    pts = [(-0.2, -1), (0.55, -1), (0.15, -0.2), (0.6, -0.2), (-0.45, 1), (-0.1, 0.1),
           (-0.55, 0.1)]
    return [np.float32(pts)], []


#: Every shape family, by name. The classification set draws its classes from
#: CLASSIFICATION_FAMILIES; NEW_FAMILIES only appear in the downstream segmentation set.
FAMILIES: Dict[str, Callable[[np.random.Generator], Outline]] = {
    "star": _star, "ring": _ring, "triangle": _triangle, "cross": _cross,
    "crescent": _crescent, "heart": _heart, "arrow": _arrow, "hexagon": _hexagon,
    "ellipse": _ellipse, "chevron": _chevron, "tshape": _tshape, "lshape": _lshape,
    "semicircle": _semicircle, "trapezoid": _trapezoid, "bolt": _bolt,
}
CLASSIFICATION_FAMILIES: Tuple[str, ...] = (
    "star", "ring", "triangle", "cross", "crescent", "heart", "arrow", "hexagon", "ellipse",
    "chevron", "tshape", "lshape")
NEW_FAMILIES: Tuple[str, ...] = ("semicircle", "trapezoid", "bolt")


# --------------------------------------------------------------------------------------------
# Geometry and rendering
# --------------------------------------------------------------------------------------------

def transform_outline(outline: Outline, scale_xy: Tuple[float, float], angle: float,
                      center: Tuple[float, float]) -> Outline:
    """Scale (per axis), rotate (radians) then translate (pixels) every polygon of an outline."""
    c, s = math.cos(angle), math.sin(angle)
    rot = np.float32([[c, -s], [s, c]])
    sx_sy = np.float32(scale_xy)

    def one(p: Polygon) -> Polygon:
        return (p * sx_sy) @ rot.T + np.float32(center)

    fills, holes = outline
    return [one(p) for p in fills], [one(p) for p in holes]


def outline_bounds(outline: Outline) -> Tuple[float, float, float, float]:
    """(x_min, y_min, x_max, y_max) of the filled polygons."""
    pts = np.concatenate(outline[0], axis=0)
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), \
        float(pts[:, 1].max())


def render_alpha(outline: Outline, height: int, width: int) -> np.ndarray:
    """Anti-aliased coverage (float32 (H, W) in [0, 1]) of an outline given in pixel units."""
    k = SUPERSAMPLE
    canvas = np.zeros((height * k, width * k), np.uint8)
    shift = 4  # sub-pixel precision of cv2.fillPoly

    def draw(polys: Sequence[Polygon], value: int) -> None:
        if polys:
            # pixel centres: a polygon in pixel units maps to (p + 0.5) * k - 0.5 supersampled
            pts = [np.round(((p + 0.5) * k - 0.5) * (1 << shift)).astype(np.int32) for p in polys]
            cv2.fillPoly(canvas, pts, value, lineType=cv2.LINE_8, shift=shift)

    draw(outline[0], 255)
    draw(outline[1], 0)
    alpha = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    return alpha.astype(np.float32) / 255.0


def unit_area(outline: Outline) -> float:
    """Area of an outline in unit coordinates (fills minus holes), by rendering."""
    size = 256
    placed = transform_outline(outline, (size / 2.2, size / 2.2), 0.0, (size / 2, size / 2))
    return float(render_alpha(placed, size, size).sum()) / (size / 2.2) ** 2


# --------------------------------------------------------------------------------------------
# Colours and textures (class-independent)
# --------------------------------------------------------------------------------------------

#: (saturation range, value range) of the two palettes: objects are vivid, backgrounds muted,
#: as the main object of a photo usually stands out from its surroundings.
VIVID: Tuple[Tuple[float, float], Tuple[float, float]] = ((0.55, 1.0), (0.55, 1.0))
MUTED: Tuple[Tuple[float, float], Tuple[float, float]] = ((0.0, 0.35), (0.25, 0.75))
ANY: Tuple[Tuple[float, float], Tuple[float, float]] = ((0.0, 1.0), (0.2, 1.0))


def random_color(rng: np.random.Generator, palette=ANY) -> np.ndarray:
    """A random RGB colour in [0, 1] from HSV: uniform hue, saturation and value in `palette`."""
    h = rng.uniform(0, 180)
    s = rng.uniform(*palette[0])
    v = rng.uniform(*palette[1])
    hsv = np.uint8([[[h, s * 255, v * 255]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255.0


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
    """A random texture of a random kind: a main colour c1 patterned with a second colour
    c1 + t * (c2 - c1), with t (the pattern's contrast) drawn from the range `contrast`."""
    kind = TEXTURES[rng.integers(len(TEXTURES))]
    c1, c2 = random_color(rng, palette), random_color(rng)
    t = rng.uniform(*contrast)
    return texture(rng, height, width, kind, c1, (1.0 - t) * c1 + t * c2)


def composite(image: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-blend `layer` over `image` (both (H, W, 3)) with coverage `alpha` ((H, W))."""
    a = alpha[..., None]
    return image * (1.0 - a) + layer * a


# --------------------------------------------------------------------------------------------
# Backgrounds and distractors (never shapes of a class family)
# --------------------------------------------------------------------------------------------

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
    canvas = (image * 255).astype(np.uint8)
    for _ in range(count):
        p1 = (int(rng.integers(-width // 4, width * 5 // 4)), int(rng.integers(-height // 4,
                                                                              height * 5 // 4)))
        p2 = (int(rng.integers(-width // 4, width * 5 // 4)), int(rng.integers(-height // 4,
                                                                              height * 5 // 4)))
        color = tuple(int(v) for v in (random_color(rng) * 255))
        cv2.line(canvas, p1, p2, color, 1, lineType=cv2.LINE_AA)  # noqa
    return canvas.astype(np.float32) / 255.0


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
    return np.clip(np.round(noisy * 255.0), 0, 255).astype(np.uint8)


def place_object(rng: np.random.Generator, family: str, height: int, width: int,
                 area_range: Tuple[float, float], max_tries: int = 50
                 ) -> Tuple[np.ndarray, float, Dict[str, float]]:
    """Draw an object of `family` whose visible area is within `area_range` (image fractions).

    Returns:
        (alpha, area_fraction, params): the coverage map (float32 (H, W)), the visible area
        fraction of its true mask (alpha >= 0.5), and the drawn parameters.

    The object is placed anywhere its bounding box fits (so usually not centred); when it is
    larger than the image in some direction it is centred along that direction and clipped.
    """
    lo, hi = area_range
    for _ in range(max_tries):
        outline = FAMILIES[family](rng)
        target = rng.uniform(lo, hi)
        aspect = math.exp(rng.uniform(-0.2, 0.2))
        scale = math.sqrt(target * height * width / unit_area(outline))
        angle = rng.uniform(0, 2 * math.pi)
        shaped = transform_outline(outline, (scale * aspect, scale / aspect), angle, (0.0, 0.0))
        x0, y0, x1, y1 = outline_bounds(shaped)
        cx = rng.uniform(-x0, width - 1 - x1) if x1 - x0 < width - 1 else (width - 1 - x0 - x1) / 2
        cy = rng.uniform(-y0, height - 1 - y1) if y1 - y0 < height - 1 \
            else (height - 1 - y0 - y1) / 2
        placed = transform_outline(shaped, (1.0, 1.0), 0.0, (cx, cy))
        alpha = render_alpha(placed, height, width)
        fraction = float((alpha >= 0.5).mean())
        if lo <= fraction <= hi:
            return alpha, fraction, {"scale": scale, "angle": angle, "cx": cx, "cy": cy}
    raise RuntimeError(f"could not place a {family!r} with area in {area_range} on a "
                       f"{height}x{width} image in {max_tries} tries")


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
