"""shapes64: deterministic and index-wise, split like the others, factors that match the pixels."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from PIL import Image

from vegan.data import load_dataset, shapes
from vegan.errors import ConfigError

# Brightest background channel (value <= 0.45, stripes at most +30 %), in 0..255.
BG_MAX = math.ceil(0.45 * 1.3 * 255)


def _coverage_from_pixels(images: np.ndarray) -> np.ndarray:
    """The shape's coverage read off the pixels alone: the shape's brightest channel is 255,
    the background's at most BG_MAX, so max-channel brightness above BG_MAX is the shape."""
    m = images.max(axis=1).astype(np.float64)
    return np.clip((m - BG_MAX) / (255 - BG_MAX), 0.0, 1.0)


def test_same_seed_same_bytes_other_seed_other_images():
    a = shapes.generate(range(24), seed=0)
    b = shapes.generate(range(24), seed=0)
    c = shapes.generate(range(24), seed=1)
    assert a.images.dtype == np.uint8 and a.images.shape == (24, 3, 64, 64)
    assert a.images.tobytes() == b.images.tobytes()
    assert np.array_equal(a.factors, b.factors) and np.array_equal(a.shapes, b.shapes)
    assert all(not np.array_equal(a.images[i], c.images[i]) for i in range(24))


def test_items_depend_on_their_index_alone():
    full = shapes.generate(range(60), seed=5)
    part = shapes.generate(range(17, 41), seed=5)
    assert part.images.tobytes() == full.images[17:41].tobytes()
    assert np.array_equal(part.factors, full.factors[17:41])
    scattered = shapes.generate([59, 3, 30], seed=5)
    assert scattered.images.tobytes() == full.images[[59, 3, 30]].tobytes()
    chunks = list(shapes.iter_chunks(np.arange(60), seed=5, chunk=7))
    assert [len(c.indices) for c in chunks] == [7] * 8 + [4]
    assert np.concatenate([c.images for c in chunks]).tobytes() == full.images.tobytes()


def test_split_rule_by_hand():
    assert shapes.split_indices("train", 8).tolist() == [0, 1, 2, 3, 5, 6, 7, 8]
    assert shapes.split_indices("heldout", 3).tolist() == [4, 9, 14]
    assert shapes.split_indices("train", 3, start=3).tolist() == [3, 5, 6]
    assert shapes.split_size(20_000, "train") == 16_000
    assert shapes.split_size(20_000, "heldout") == 4_000
    assert shapes.split_size(12, "heldout") == 2 and shapes.split_size(12, "train") == 10


def test_dataset_splits_disjoint_and_cover_the_items():
    train = load_dataset("shapes64?n=50", "train")
    held = load_dataset("shapes64?n=50", "heldout")
    assert (len(train), len(held)) == (40, 10)
    assert train.x.dtype.is_floating_point and train.kind == "image"
    assert train.sample_shape == (3, 64, 64)
    every = shapes.generate(range(50))
    assert np.array_equal(held.x.numpy(), every.images[4::5] / np.float32(255))
    keep = np.arange(50) % 5 != 4
    assert np.array_equal(train.x.numpy(), every.images[keep] / np.float32(255))
    assert np.array_equal(train.y.numpy(), every.shapes[keep])
    train_bytes = {img.tobytes() for img in every.images[keep]}
    assert not any(img.tobytes() in train_bytes for img in every.images[~keep])


def test_default_size_and_n_beyond_the_default():
    assert shapes.parse_spec("shapes64") == shapes.ShapesSpec(20_000, 0)
    assert shapes.parse_spec("Shapes64?seed=3&n=100").name == "shapes64?n=100&seed=3"
    more = load_dataset("shapes64?n=10", "heldout", n=4)  # more than N / 5 = 2: drawn
    assert len(more) == 4
    assert np.array_equal(more.x[3].numpy(), shapes.generate([19]).images[0] / np.float32(255))
    assert len(load_dataset("shapes64?n=10", "heldout")) == 2


@pytest.mark.parametrize(
    "spec, match",
    [
        ("shapes64?n=4", "n >= 5"),
        ("shapes64?n=-3", "non-negative integer"),
        ("shapes64?seed=x", "non-negative integer"),
        ("shapes64?sed=1", "did you mean 'seed'"),
        ("shapes64?n", "not understood"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(ConfigError, match=match):
        load_dataset(spec, "train", n=2)


def test_factors_in_their_ranges_and_shapes_uniform():
    f, s = shapes.draw_factors(range(2000), seed=2)
    for j, name in enumerate(shapes.FACTORS):
        lo, hi = shapes.FACTOR_RANGES[name]
        assert lo <= f[:, j].min() and f[:, j].max() <= hi, name
    assert np.allclose(f[:, 4:7].max(axis=1), 1.0)  # value 1: the brightest channel is 1
    counts = np.bincount(s, minlength=5)
    assert counts.min() > 330 and counts.max() < 470  # 400 each, 5 binomial std = 90
    batch = shapes.factors_for("shapes64?seed=2", "heldout", 3)
    assert np.array_equal(batch.factors, f[[4, 9, 14]].astype(np.float32))
    assert np.array_equal(batch.shapes, s[[4, 9, 14]])


def test_pixels_match_the_factors():
    """Centre of mass, area and color of the shape, and the background's formula, are
    read off the pixels and compared with the factors."""
    b = shapes.generate(range(200), seed=7)
    f = b.factors.astype(np.float64)
    w = _coverage_from_pixels(b.images)
    rows, cols = np.mgrid[0:64, 0:64] + 0.5  # pixel centres
    area = w.sum(axis=(1, 2))
    cx = (w * cols).sum(axis=(1, 2)) / area
    cy = (w * rows).sum(axis=(1, 2)) / area
    assert np.abs(cx - f[:, 0]).max() < 1.0 and np.abs(cy - f[:, 1]).max() < 1.0
    assert np.abs(cx - f[:, 0]).mean() < 0.3 and np.abs(cy - f[:, 1]).mean() < 0.3
    # The area is scale^2; the max-channel reading loses part of the blended edge pixels.
    ratio = area / f[:, 2] ** 2
    assert 0.85 < ratio.min() and ratio.max() < 1.1
    for i in range(200):
        inside = w[i] == 1.0
        assert inside.sum() > 20
        mean = b.images[i][:, inside].mean(axis=1)
        np.testing.assert_allclose(mean, 255 * f[i, 4:7], atol=1.0)
    # Corner pixels are background: base color * (1 + 0.3 texture sin(2 pi freq u / 64)).
    for r, c in ((0, 0), (0, 63), (63, 0), (63, 63)):
        x, y = c + 0.5 - 32, r + 0.5 - 32
        th = np.radians(f[:, 12])
        u = x * np.cos(th) + y * np.sin(th)
        gain = 1 + 0.3 * f[:, 10] * np.sin(2 * np.pi * f[:, 11] * u / 64)
        want = np.rint(255 * f[:, 7:10] * gain[:, None])
        assert np.abs(b.images[:, :, r, c] - want).max() <= 1


def test_cli_writes_npy_with_factors(run_cli, tmp_path):
    out = tmp_path / "s.npy"
    code, stdout, err = run_cli("data", "shapes64", "--split", "heldout", "--n", "7", "--out", out)
    assert code == 0 and "uint8" in stdout and "shapes64 images 7/7" in err
    arr = np.load(out, mmap_mode="r")
    assert arr.dtype == np.uint8 and arr.shape == (7, 3, 64, 64)
    want = shapes.generate([4, 9, 14, 19, 24, 29, 34])
    assert np.asarray(arr).tobytes() == want.images.tobytes()
    with open(tmp_path / "s.factors.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["index"]) for r in rows] == [4, 9, 14, 19, 24, 29, 34]
    assert [int(r["shape"]) for r in rows] == want.shapes.tolist()
    assert [r["shape_name"] for r in rows] == [shapes.SHAPES[s] for s in want.shapes]
    got = np.array([[float(r[name]) for name in shapes.FACTORS] for r in rows])
    np.testing.assert_allclose(got, want.factors, rtol=1e-5, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.factors.csv", "s.npy"]


def test_cli_writes_pngs_by_shape(run_cli, tmp_path):
    out = tmp_path / "pngs"
    code, stdout, _ = run_cli("data", "shapes64?seed=4", "--n", "12", "--out", f"{out}/")
    assert code == 0 and "12 train images" in stdout
    want = shapes.generate(shapes.split_indices("train", 12), seed=4)
    with open(out / "factors.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12
    for k, row in enumerate(rows):
        path = out / row["file"]
        assert path.parent.name == shapes.SHAPES[want.shapes[k]]
        assert path.name == f"{want.indices[k]:06d}.png"
        img = np.asarray(Image.open(path))
        assert img.shape == (64, 64, 3)
        assert np.array_equal(img.transpose(2, 0, 1), want.images[k])
    assert len(list(out.rglob("*.png"))) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pngs"]  # no temporary left


@pytest.mark.parametrize(
    "args, match",
    [
        (["--out", "{tmp}/x.png"], "must end with .npy"),
        (["--out", "{tmp}/missing/x.npy"], "does not exist"),
        (["--out", "{tmp}/missing/deeper/"], "does not exist"),
        (["--out", "{tmp}/full/"], "not empty"),
        (["--seed", "3", "--out", "{tmp}/x.npy"], "shapes64?seed=3"),
        (["--n", "0", "--out", "{tmp}/x.npy"], "positive integer"),
    ],
)
def test_cli_refuses_bad_output(run_cli, tmp_path, args, match):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run_cli("data", "shapes64", "--n", "3", *args)
    assert code == 2 and err.startswith("vegan: error:") and err.count("\n") == 1
    assert match in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_listed():
    from vegan.data import list_datasets

    assert "shapes64" in dict(list_datasets())


def test_too_many_items_for_memory_is_refused_before_drawing(monkeypatch):
    from vegan.errors import ResourceError

    monkeypatch.setattr("vegan.resources.available_memory", lambda: 2 * 2**20)  # 2 MiB
    # the dataset holds the uint8 images: 200 * 12,288 bytes = 2.3 MiB
    with pytest.raises(ResourceError, match=r"200 train images .*'vegan data shapes64 --out"):
        load_dataset("shapes64", "train", n=200)
    assert len(load_dataset("shapes64", "train", n=150)) == 150  # 1.8 MiB: fits


def test_every_shape_fits_inside_the_image():
    """The largest shape at the extreme positions and rotations leaves the border pixels
    to the background (the shape's channel at 255 never reaches row/column 0 or 63)."""
    rows = []
    for shape in range(5):
        for x, y in ((18.0, 18.0), (46.0, 46.0), (18.0, 46.0), (46.0, 18.0)):
            for rot in (-35.0, -17.0, 0.0, 17.0, 35.0):
                f = np.zeros(13)
                f[:4] = x, y, 18.0, rot
                f[4:7] = 1.0  # a white shape
                f[7:10] = 0.2  # on a plain dark background
                rows.append((f, shape))
    factors = np.stack([f for f, _ in rows])
    images = shapes._render(factors, np.array([s for _, s in rows]))
    border = np.concatenate(
        [images[:, :, 0], images[:, :, -1], images[:, :, :, 0], images[:, :, :, -1]], axis=2
    )
    assert border.max() == round(0.2 * 255)
    assert images.max() == 255


@pytest.mark.slow
def test_npy_writer_memory_does_not_grow_with_n(tmp_path):
    """12,000 images (147 MB) are written with the resident memory of 2,000 (25 MB): each
    chunk goes through its own mapping, released after it."""
    import subprocess
    import sys

    code = (
        "import resource, sys; from vegan.data import shapes_files as w; "
        "w.write_npy(sys.argv[1], 'shapes64', 'train', int(sys.argv[2])); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    peak = {}
    for n in (2000, 12000):
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / f"s{n}.npy"), str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        peak[n] = int(out.stdout.split()[-1]) * 1024  # KiB on Linux
    assert (tmp_path / "s12000.npy").stat().st_size > 12000 * 12288
    assert peak[12000] - peak[2000] < 40 * 2**20, peak
