"""Shape outlines of the miniature world: the families (the classes), rendering and placement.

An outline is polygons in unit coordinates (roughly inside the unit disc) with optional holes,
drawn as an anti-aliased coverage map ``alpha`` (float32 (H, W) in [0, 1]); the true mask is
``alpha >= 0.5``. Everything is a pure function of a ``numpy.random.Generator``.
"""
import math
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np

from paddleseg_pssl.constants import UINT8_MAX

#: Coverage maps are rendered at this many times the image resolution, then area-averaged.
SUPERSAMPLE: int = 4

Polygon = np.ndarray  # (N, 2) float32, x then y, unit coordinates
Outline = Tuple[List[Polygon], List[Polygon]]  # (filled polygons, hole polygons)


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


#: Every shape family, by name: rng -> (fills, holes), with a little random variation. The
#: classification set's classes are CLASSIFICATION_FAMILIES; NEW_FAMILIES only appear in the
#: downstream segmentation set.
FAMILIES: Dict[str, Callable[[np.random.Generator], Outline]] = {
    "star": _star, "ring": _ring, "triangle": lambda rng: ([_regular(3, 1.0, -math.pi / 2)], []),
    "cross": _cross, "crescent": _crescent, "heart": _heart, "arrow": _arrow,
    "hexagon": lambda rng: ([_regular(6, 1.0)], []),
    "ellipse": _ellipse, "chevron": _chevron, "tshape": _tshape, "lshape": _lshape,
    "semicircle": _semicircle, "trapezoid": _trapezoid, "bolt": _bolt,
}
CLASSIFICATION_FAMILIES: Tuple[str, ...] = (
    "star", "ring", "triangle", "cross", "crescent", "heart", "arrow", "hexagon", "ellipse",
    "chevron", "tshape", "lshape")
NEW_FAMILIES: Tuple[str, ...] = ("semicircle", "trapezoid", "bolt")


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

    draw(outline[0], UINT8_MAX)
    draw(outline[1], 0)
    alpha = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    return alpha.astype(np.float32) / UINT8_MAX


def unit_area(outline: Outline) -> float:
    """Area of an outline in unit coordinates (fills minus holes), by rendering."""
    size = 256
    placed = transform_outline(outline, (size / 2.2, size / 2.2), 0.0, (size / 2, size / 2))
    return float(render_alpha(placed, size, size).sum()) / (size / 2.2) ** 2


def place_object(rng: np.random.Generator, family: str, height: int, width: int,
                 area_range: Tuple[float, float], max_tries: int = 50
                 ) -> Tuple[np.ndarray, float]:
    """(alpha, visible area fraction of its true mask) of an object of `family` whose visible
    area is within `area_range`, placed anywhere its bounding box fits (centred and clipped
    along a direction in which it is larger than the image)."""
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
            return alpha, fraction
    raise RuntimeError(f"could not place a {family!r} with area in {area_range} on a "
                       f"{height}x{width} image in {max_tries} tries")
