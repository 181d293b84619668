"""``shapes64``: procedural 3 x 64 x 64 RGB images with known generative factors.

In the spirit of dSprites (Matthey et al. 2017) and 3D Shapes (Burgess and
Kim 2018): one colored shape on a striped, colored background, every image
drawn from a handful of independent factors, so that a model's codes can be
asked how much of each factor they hold (:mod:`vegan.eval.probe`). Nothing
is downloaded: image ``i`` of the set with seed ``s`` is a function of
``(s, i)`` alone (its factors come from ``numpy.random.default_rng([s, i])``),
so any slice of any size is generated independently and chunks, workers and
machines agree byte for byte (for given versions of NumPy and Pillow, which
draw the factors and the shapes).

Coordinates are in pixels of the 64 x 64 image, (0, 0) at the top-left
corner of the top-left pixel (so the image's centre is (32, 32) and pixel
(row r, column c) covers [c, c + 1) x [r, r + 1)); rows grow downwards.

Factors (:data:`FACTORS`; ``factors`` arrays are float32 (n, 13) in this order)

==============  ===============  ================================================================
factor          range            meaning
==============  ===============  ================================================================
pos_x, pos_y    [18, 46] px      the shape's centre of mass (column, row); uniform
scale           [8, 18] px       square root of the shape's area (area = scale^2 pixels);
                                 uniform
rotation        [-35, 35] deg    counter-clockwise on screen from upright; uniform (the range
                                 is smaller than every shape's symmetry angle, 72 deg for the
                                 star, so the rotation can be read off the image)
shape_r/g/b     [0, 1]           the shape's color: hue uniform on [0, 1), saturation uniform
                                 on [0.5, 1], value 1 (so its largest channel is 1), as RGB
bg_r/g/b        [0, 0.45]        the background's base color: hue uniform on [0, 1),
                                 saturation on [0.2, 0.6], value on [0.2, 0.45], as RGB
texture         [0, 1]           stripe amplitude: the background is
                                 ``bg * (1 + 0.3 * texture * sin(2 pi freq u / 64))``, u the
                                 distance from the image centre along the stripes' normal
                                 (0: a plain background)
stripe_freq     [2, 6]           stripes per 64 pixels (invisible when texture is 0)
stripe_angle    [0, 90] deg      angle of the stripes' normal from the x axis, clockwise on
                                 screen (0: vertical stripes, 90: horizontal)
==============  ===============  ================================================================

The discrete factor is the shape, :data:`SHAPES` = square, ellipse (axes
ratio 0.6), triangle (equilateral), star (five points, inner radius half the
outer) and heart, drawn uniformly; it is the label ``y`` of the dataset
(0 to 4). Every shape fits inside the image at every position, scale and
rotation. The background's brightest channel is at most 0.585, the shape's
is 1: shape and background never share a color.

Images are drawn with Pillow, antialiased by supersampling (the shape's
coverage is rendered at 4x and averaged down with ``Image.reduce``), and
returned as uint8 (n, 3, 64, 64); ``vegan data shapes64`` writes them as
PNGs or a ``.npy``.

The named dataset (:func:`vegan.data.load_dataset`) is ``shapes64`` with
optional parameters ``shapes64?n=N&seed=S``: N items in all (default
:data:`DEFAULT_SIZE`), seed S (default 0; the set's seed is part of its
name, so training and evaluation see the same images whatever the run's
seed). Held-out = the items whose index i has ``i % 5 == 4``, train = the
others (the rule of the built-in MNIST and of files), so the split of the
infinite sequence is fixed and a larger N only appends items.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vegan.data.splits import HELDOUT_EVERY, check_n, check_split
from vegan.errors import ConfigError, closest

__all__ = [
    "DEFAULT_SIZE",
    "FACTORS",
    "FACTOR_GROUPS",
    "FACTOR_RANGES",
    "NAME",
    "SHAPES",
    "SIZE",
    "ShapesSpec",
    "draw_factors",
    "factors_for",
    "generate",
    "is_shapes_spec",
    "items_of",
    "iter_chunks",
    "load_shapes",
    "parse_spec",
    "split_indices",
    "split_items",
    "split_size",
]

NAME = "shapes64"
#: Height and width of the images.
SIZE = 64
#: Items in ``shapes64`` when its size is not given (16,000 train / 4,000 held-out).
DEFAULT_SIZE = 20_000
#: The discrete factor: the label y of an image is the index of its shape here.
SHAPES = ("square", "ellipse", "triangle", "star", "heart")
#: The continuous factors, in the column order of every ``factors`` array.
FACTORS = (
    "pos_x",
    "pos_y",
    "scale",
    "rotation",
    "shape_r",
    "shape_g",
    "shape_b",
    "bg_r",
    "bg_g",
    "bg_b",
    "texture",
    "stripe_freq",
    "stripe_angle",
)
#: Factors read back together by the evaluation's probe (:mod:`vegan.eval.probe`).
FACTOR_GROUPS = {
    "position": ("pos_x", "pos_y"),
    "scale": ("scale",),
    "rotation": ("rotation",),
    "color": ("shape_r", "shape_g", "shape_b"),
    "background": ("bg_r", "bg_g", "bg_b"),
    "stripes": ("texture", "stripe_freq", "stripe_angle"),
}
#: (low, high) of each continuous factor.
FACTOR_RANGES = {
    "pos_x": (18.0, 46.0),
    "pos_y": (18.0, 46.0),
    "scale": (8.0, 18.0),
    "rotation": (-35.0, 35.0),
    "shape_r": (0.0, 1.0),
    "shape_g": (0.0, 1.0),
    "shape_b": (0.0, 1.0),
    "bg_r": (0.0, 0.45),
    "bg_g": (0.0, 0.45),
    "bg_b": (0.0, 0.45),
    "texture": (0.0, 1.0),
    "stripe_freq": (2.0, 6.0),
    "stripe_angle": (0.0, 90.0),
}
#: Relative brightness swing of the stripes at texture 1.
STRIPE_DEPTH = 0.3
#: Supersampling factor of the shape's antialiasing.
SUPERSAMPLE = 4
#: Most items generated at once by :func:`iter_chunks` (images of a chunk are built together).
CHUNK = 1024


# ------------------------------------------------------------------------------ shapes


def _normalized(points: np.ndarray) -> np.ndarray:
    """The polygon moved to its centre of mass and scaled to area 1 (shoelace formulas)."""
    x, y = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area = cross.sum() / 2.0
    cx = ((x + x1) * cross).sum() / (6.0 * area)
    cy = ((y + y1) * cross).sum() / (6.0 * area)
    return (points - [cx, cy]) / math.sqrt(abs(area))


def _outlines() -> tuple[np.ndarray, ...]:
    """Unit-area outlines of :data:`SHAPES`, centred on their centre of mass, y downwards."""
    t = np.linspace(0.0, 2.0 * np.pi, 96, endpoint=False)
    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    ellipse = np.stack([np.cos(t), 0.6 * np.sin(t)], axis=1)
    a = -np.pi / 2 + 2.0 * np.pi * np.arange(3) / 3  # first vertex straight up
    triangle = np.stack([np.cos(a), np.sin(a)], axis=1)
    b = -np.pi / 2 + np.pi * np.arange(10) / 5
    r = np.where(np.arange(10) % 2 == 0, 1.0, 0.5)
    star = np.stack([r * np.cos(b), r * np.sin(b)], axis=1)
    heart = np.stack(
        [
            16.0 * np.sin(t) ** 3,
            -(13.0 * np.cos(t) - 5.0 * np.cos(2 * t) - 2.0 * np.cos(3 * t) - np.cos(4 * t)),
        ],
        axis=1,
    )
    return tuple(_normalized(p) for p in (square, ellipse, triangle, star, heart))


_OUTLINES = _outlines()
#: Largest distance from a shape's centre of mass to its outline, at scale 1.
_REACH = max(float(np.hypot(p[:, 0], p[:, 1]).max()) for p in _OUTLINES)


# ------------------------------------------------------------------------------ spec


@dataclass(frozen=True)
class ShapesSpec:
    """A parsed ``shapes64[?n=N&seed=S]``: the number of items and the seed."""

    size: int = DEFAULT_SIZE
    seed: int = 0

    @property
    def name(self) -> str:
        """The canonical spec (parameters only where they differ from the defaults)."""
        params = []
        if self.size != DEFAULT_SIZE:
            params.append(f"n={self.size}")
        if self.seed != 0:
            params.append(f"seed={self.seed}")
        return NAME + ("?" + "&".join(params) if params else "")


def is_shapes_spec(spec: object) -> bool:
    """Whether ``spec`` names the procedural dataset (``shapes64`` with or without parameters)."""
    return isinstance(spec, str) and spec.strip().lower().partition("?")[0] == NAME


def parse_spec(spec: str) -> ShapesSpec:
    """Parse ``shapes64?n=N&seed=S`` (both optional) into a :class:`ShapesSpec`.

    Raises :class:`ConfigError` for an unknown parameter or a value that is
    not a non-negative integer (``n`` >= 5, so both splits have an item).
    """
    head, _, query = spec.strip().partition("?")
    if head.lower() != NAME:
        raise ConfigError(f"'{spec}' is not a {NAME} spec; write {NAME}?n=N&seed=S")
    values = {"n": DEFAULT_SIZE, "seed": 0}
    for item in filter(None, query.split("&")):
        key, eq, text = (s.strip() for s in item.partition("="))
        if not eq or key not in values:
            hint = closest(key, list(values)) if eq else ""
            raise ConfigError(
                f"{NAME} parameter '{item}' is not understood{hint}; write {NAME}?n=N&seed=S "
                "(both optional)"
            )
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            raise ConfigError(f"{NAME} parameter {key}={text!r} must be a non-negative integer")
        values[key] = value
    if values["n"] < HELDOUT_EVERY:
        raise ConfigError(
            f"{NAME} needs n >= {HELDOUT_EVERY} (every fifth item is held out), got n={values['n']}"
        )
    return ShapesSpec(values["n"], values["seed"])


def split_size(size: int, split: str) -> int:
    """Items of ``split`` among the first ``size`` items (held-out: index i % 5 == 4)."""
    held = size // HELDOUT_EVERY
    return held if check_split(split) == "heldout" else size - held


def split_indices(split: str, count: int, start: int = 0) -> np.ndarray:
    """Global indices of items ``start .. start + count - 1`` of ``split``, in order.

    The k-th held-out item is item ``5 k + 4``; the k-th train item is item
    ``k + k // 4`` (the four of every five that are not held out).
    """
    return items_of(split, np.arange(start, start + count, dtype=np.int64))


def items_of(split: str, positions: np.ndarray) -> np.ndarray:
    """Global indices of the items at ``positions`` (0-based) within ``split``."""
    k = np.asarray(positions, dtype=np.int64)
    if check_split(split) == "heldout":
        return HELDOUT_EVERY * k + HELDOUT_EVERY - 1
    return k + k // (HELDOUT_EVERY - 1)


# ------------------------------------------------------------------------------ factors


def draw_factors(indices: np.ndarray | list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The factors of items ``indices`` of the set with ``seed``, without drawing images.

    Returns ``(factors, shapes)``: float64 (n, 13) in :data:`FACTORS` order
    and int64 (n,) shape ids. Item i's factors come from
    ``numpy.random.default_rng([seed, i])`` alone.
    """
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and int(idx.min()) < 0:
        raise ConfigError(f"{NAME} item indices must be >= 0, got {int(idx.min())}")
    seed = _check_seed(seed)
    factors = np.empty((idx.size, len(FACTORS)), dtype=np.float64)
    shapes = np.empty(idx.size, dtype=np.int64)
    lo = np.array([FACTOR_RANGES[f][0] for f in FACTORS])
    for row, i in enumerate(idx.tolist()):
        u = np.random.default_rng([seed, i]).random(13)
        shapes[row] = min(int(u[0] * len(SHAPES)), len(SHAPES) - 1)
        f = factors[row]
        f[0:4] = lo[0:4] + u[1:5] * np.array([28.0, 28.0, 10.0, 70.0])
        f[4:7] = colorsys.hsv_to_rgb(u[5], 0.5 + 0.5 * u[6], 1.0)
        f[7:10] = colorsys.hsv_to_rgb(u[7], 0.2 + 0.4 * u[8], 0.2 + 0.25 * u[9])
        f[10] = u[10]
        f[11] = 2.0 + 4.0 * u[11]
        f[12] = 90.0 * u[12]
    return factors, shapes


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"{NAME} seed must be a non-negative integer, got {seed!r}")
    return int(seed)


# ------------------------------------------------------------------------------ images


def _coverage(factors: np.ndarray, shape: int) -> tuple[np.ndarray, int, int]:
    """The shape's antialiased coverage in [0, 1] on a patch, and the patch's top-left pixel."""
    from PIL import Image, ImageDraw

    cx, cy, scale, rotation = factors[:4]
    th = math.radians(rotation)
    c, s = math.cos(th), math.sin(th)
    p = _OUTLINES[shape] * scale
    # Counter-clockwise on screen, with rows growing downwards.
    x = cx + p[:, 0] * c + p[:, 1] * s
    y = cy - p[:, 0] * s + p[:, 1] * c
    left, top = max(int(math.floor(x.min())) - 1, 0), max(int(math.floor(y.min())) - 1, 0)
    right = min(int(math.ceil(x.max())) + 1, SIZE)
    bottom = min(int(math.ceil(y.max())) + 1, SIZE)
    k = SUPERSAMPLE
    canvas = Image.new("L", ((right - left) * k, (bottom - top) * k), 0)
    # Pillow fills the supersampled pixels whose centres lie inside the polygon (measured:
    # the coverage's centre of mass is the polygon's to 0.01 px on average).
    pts = np.stack([(x - left) * k, (y - top) * k], axis=1)
    ImageDraw.Draw(canvas).polygon(pts.ravel().tolist(), fill=255)
    alpha = np.asarray(canvas.reduce(k), dtype=np.float32) / 255.0
    return alpha, top, left


def _background(factors: np.ndarray) -> np.ndarray:
    """float32 (n, 3, 64, 64) backgrounds: base color times the stripes (module docstring).

    sin(a x + b y) = sin(a x) cos(b y) + cos(a x) sin(b y): the stripes are
    built from two (n, 64) tables, not 4,096 sines per image.
    """
    centre = np.arange(SIZE, dtype=np.float64) + 0.5 - SIZE / 2
    th = np.radians(factors[:, 12])
    k = 2.0 * np.pi * factors[:, 11] / SIZE
    ax = (k * np.cos(th))[:, None] * centre  # (n, 64): along columns
    by = (k * np.sin(th))[:, None] * centre  # (n, 64): along rows
    sx, cx = np.sin(ax).astype(np.float32), np.cos(ax).astype(np.float32)
    sy, cy = np.sin(by).astype(np.float32), np.cos(by).astype(np.float32)
    wave = sx[:, None, :] * cy[:, :, None] + cx[:, None, :] * sy[:, :, None]
    gain = 1.0 + np.float32(STRIPE_DEPTH) * factors[:, 10, None, None].astype(np.float32) * wave
    return factors[:, 7:10, None, None].astype(np.float32) * gain[:, None]


def _render(factors: np.ndarray, shapes: np.ndarray, block: int = 64) -> np.ndarray:
    """uint8 (n, 3, 64, 64) images of the given factors (float64) and shape ids.

    Built ``block`` images at a time, so the float32 work stays in the CPU's cache.
    """
    out = np.empty((len(shapes), 3, SIZE, SIZE), dtype=np.uint8)
    color = factors[:, 4:7].astype(np.float32)
    for start in range(0, len(shapes), block):
        img = _background(factors[start : start + block])
        for j in range(img.shape[0]):
            row = start + j
            alpha, top, left = _coverage(factors[row], int(shapes[row]))
            h, w = alpha.shape
            patch = img[j, :, top : top + h, left : left + w]
            patch += alpha * (color[row, :, None, None] - patch)
        img *= 255.0
        np.clip(img, 0.0, 255.0, out=img)
        out[start : start + block] = np.rint(img, out=img)
    return out


@dataclass
class Batch:
    """Items of ``shapes64``: uint8 images (n, 3, 64, 64), float32 factors (n, 13), int64 shapes."""

    images: np.ndarray
    factors: np.ndarray
    shapes: np.ndarray
    indices: np.ndarray


def generate(indices: np.ndarray | list[int] | range, seed: int = 0) -> Batch:
    """Draw items ``indices`` (global item numbers, any order) of the set with ``seed``."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    factors, shapes = draw_factors(idx, seed)
    return Batch(_render(factors, shapes), factors.astype(np.float32), shapes, idx)


def iter_chunks(indices: np.ndarray, seed: int = 0, chunk: int = CHUNK) -> Iterator[Batch]:
    """:func:`generate` over ``indices`` in chunks of at most ``chunk`` items."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    for start in range(0, idx.size, chunk):
        yield generate(idx[start : start + chunk], seed)


# ------------------------------------------------------------------------------ splits


def split_items(spec: str, split: str, n: int | None) -> tuple[ShapesSpec, np.ndarray]:
    """(parsed spec, global indices of the first n items of the split; all when None)."""
    parsed = parse_spec(spec)
    n = check_n(n)
    count = split_size(parsed.size, split) if n is None else n
    return parsed, split_indices(split, count)


def load_shapes(
    spec: str, split: str = "train", n: int | None = None, bytes_per_value: int = 1
) -> Batch:
    """The first ``n`` items of a split of ``shapes64[?n=N&seed=S]`` (the whole split when None).

    ``n`` may exceed the split's share of N: the sequence is infinite and
    the split rule fixed, so more items are simply drawn. Raises
    :class:`ResourceError` before drawing when the images, at
    ``bytes_per_value`` bytes per value (1 for the uint8 returned; 5 when
    the caller converts them to float32), need more than the available memory.
    """
    parsed, idx = split_items(spec, split, n)
    _check_memory(spec, split, idx.size, bytes_per_value)
    return generate(idx, parsed.seed)


def _check_memory(spec: str, split: str, count: int, bytes_per_value: int) -> None:
    from vegan.errors import ResourceError
    from vegan.resources import available_memory, format_bytes

    need = count * 3 * SIZE * SIZE * bytes_per_value
    free = available_memory()
    if free is not None and need > free:
        raise ResourceError(
            f"{count} {split} images of '{spec}' need {format_bytes(need)} in memory, more than "
            f"the {format_bytes(free)} available; use a smaller n, or write them with "
            f"'vegan data {spec} --out FILE.npy' (uint8, in chunks)"
        )


def factors_for(spec: str, split: str = "heldout", n: int | None = None) -> Batch:
    """The factors (no images) of the first ``n`` items of a split, as :func:`load_shapes` orders.

    ``images`` of the returned batch is an empty (0, 3, 64, 64) array.
    """
    parsed, idx = split_items(spec, split, n)
    factors, shapes = draw_factors(idx, parsed.seed)
    empty = np.zeros((0, 3, SIZE, SIZE), dtype=np.uint8)
    return Batch(empty, factors.astype(np.float32), shapes, idx)
