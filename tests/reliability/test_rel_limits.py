"""Documented limits: requests above them fail at once with a ResourceError, not out of memory.

The limits are estimates of peak memory compared with the memory available
when the call is made (``MemAvailable`` on Linux; the GPU's free memory for
CUDA tensors):

* exact W (``vegan.ot.exact``): 48 bytes per pair of samples, so the largest
  n = m is about sqrt(available / 48);
* the MMD penalty and metric (``vegan.models.kernels``): 12 (n + m)^2 values
  with gradients, 6 without, so the largest WAE-MMD batch B (n = m = B,
  float32) is about sqrt(available / 48) / 2;
* a model (``vegan.train.api``): 4 copies of its parameters to train
  (weights, gradients, Adam's two moments), 2 to load.
* Sinkhorn (``vegan.ot.sinkhorn``): 6 n x m matrices in the compute dtype;
* sliced W (``vegan.ot.sliced``): (d + 2 (n + m)) K values for K projections.

``docs/reliability.md`` gives the numbers for the development machine; the
tests below check that the estimates are upper bounds of measured peaks, and
that requests far above the limits are refused in well under a second.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import vegan
from vegan.errors import ResourceError
from vegan.models.kernels import check_mmd_memory, mmd, mmd_memory
from vegan.ot.exact import BYTES_OVERHEAD, BYTES_PER_ENTRY, check_memory, estimate_memory


def largest_exact_n(available: int) -> int:
    """Largest n such that an n x n exact solve fits in ``available`` bytes."""
    return math.isqrt(max(available - BYTES_OVERHEAD, 0) // BYTES_PER_ENTRY)


def largest_mmd_batch(available: int, itemsize: int = 4) -> int:
    """Largest batch B such that MMD(B codes, B prior draws) with gradients fits."""
    return math.isqrt(available // (12 * itemsize)) // 2


def test_the_formulas_match_the_checks():
    avail = 18 * 2**30
    n = largest_exact_n(avail)
    assert estimate_memory(n, n) <= avail < estimate_memory(n + 1, n + 1)
    check_memory(n, n, max_memory=avail)
    with pytest.raises(ResourceError):
        check_memory(n + 1, n + 1, max_memory=avail)
    b = largest_mmd_batch(avail)
    assert mmd_memory(b, b) <= avail < mmd_memory(b + 1, b + 1)
    assert (n, b) == (20031, 10033)  # the numbers docs/reliability.md gives for 18 GiB


def _timed(fn):
    t = time.perf_counter()
    with pytest.raises(ResourceError) as info:
        fn()
    assert time.perf_counter() - t < 2.0, "the refusal should come before any work"
    return str(info.value)


def test_exact_w_far_above_memory_is_refused_at_once():
    x = np.zeros((200_000, 2))
    msg = _timed(lambda: vegan.wasserstein(x, x + 1.0, method="exact"))
    assert "exact transport between 200000 and 200000 samples needs about" in msg
    assert "sinkhorn" in msg


def test_exact_w_limit_from_the_command_line(run_cli, tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((200_000, 2), np.float32))
    code, out, err = run_cli("distance", tmp_path / "a.npy", tmp_path / "a.npy")
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "needs about" in err


def test_mmd_far_above_memory_is_refused_at_once():
    z = torch.zeros(40_000, 8, requires_grad=True)
    msg = _timed(lambda: mmd(z, z.detach()))
    assert "the MMD between 40000 and 40000 samples needs about" in msg
    assert "smaller batch_size" in msg


def test_mmd_batch_limit_is_checked_before_the_run_folder_is_made(run_cli, tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(50_000, 2)).astype("f4"))
    out = tmp_path / "run"
    t = time.perf_counter()
    code, _, err = run_cli(
        "train", "wae-mmd", "--data", tmp_path / "x.npy", "--out", out, "--steps", "1",
        "--set", "batch_size=40000", "--set", "hidden=16", "--no-progress",
    )  # fmt: skip
    assert time.perf_counter() - t < 30
    assert code == 2 and "the MMD between 40000 and 40000 samples" in err
    assert not out.exists()


def test_model_far_above_memory_is_refused_before_allocation(tmp_path):
    msg = _timed(
        lambda: vegan.fit("ae", "toy:8gaussians", tmp_path / "run", steps=1, hidden=200_000)
    )
    assert "parameters" in msg and "lower hidden" in msg
    assert not (tmp_path / "run").exists()


def test_small_problems_skip_the_memory_probe(monkeypatch):
    import vegan.resources as checks

    def boom(*a, **k):
        raise AssertionError("the probe ran")

    monkeypatch.setattr(checks, "device_memory", boom)
    check_mmd_memory(100, 100)  # 40 kB: no /proc read per training step


# Peak resident memory of a computation: the kernel's high-water mark (VmHWM) reset
# through /proc/self/clear_refs just before it, so what the interpreter and torch's
# import touched earlier does not hide it (ru_maxrss never goes down). A small call
# first loads the code pages the computation needs (a fresh machine's cold library
# pages count as resident memory too: 55 MB more was measured on a clean CI clone).
_HWM = """
import sys, torch

def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key))

def start():
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return status("VmRSS:")

def peak(base):
    return status("VmHWM:") - base
"""

_PEAK = (
    _HWM
    + """
from vegan.models.kernels import mmd, mmd_memory
n, grad = int(sys.argv[1]), sys.argv[2] == "1"
x = torch.randn(n, 8, requires_grad=grad); y = torch.randn(n, 8)
warm = mmd(x[:20], y[:20], "imq", c_base=16.0)  # load the code pages first: they count as RSS
if grad:
    warm.backward()
base = start()
v = mmd(x, y, "imq", c_base=16.0)
if grad:
    v.backward()
print(peak(base), mmd_memory(n, n, 4, grad))
"""
)

_SINKHORN_PEAK = (
    _HWM
    + """
from vegan.ot.sinkhorn import PLAN_MATRICES, sinkhorn
n, grad = int(sys.argv[1]), sys.argv[2] == "1"
x = torch.randn(n, 5, dtype=torch.float64, requires_grad=grad)
y = torch.randn(n, 5, dtype=torch.float64) + 1.0
warm = sinkhorn(x[:50], y[:50], epsilon_rel=0.01)  # load the code pages first: they count as RSS
if grad:
    warm.backward()
x.grad = None
base = start()
v = sinkhorn(x, y, epsilon_rel=0.01)
if grad:
    v.backward()
print(peak(base), PLAN_MATRICES * n * n * 8)
"""
)


def _peak_run(script: str, *argv: str) -> tuple[int, int]:
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux's /proc/self/clear_refs to measure a peak")
    res = subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        # A fixed mmap threshold: glibc otherwise raises it after large frees and keeps
        # later 32 MB blocks in the heap after they are freed, so the resident peak
        # measured freed memory too (Sinkhorn, n = 2,000: 4.1 to 6.7 matrices from run
        # to run; with the threshold fixed, a steady 3.2).
        env={"OMP_NUM_THREADS": "1", "PATH": "", "MALLOC_MMAP_THRESHOLD_": "65536"},
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    peak, estimate = map(int, res.stdout.split())
    return peak, estimate


@pytest.mark.parametrize("grad", [True, False])
def test_the_mmd_estimate_bounds_the_measured_peak(grad):
    peak, estimate = _peak_run(_PEAK, "1500", "1" if grad else "0")
    assert peak <= estimate, (peak, estimate)
    assert estimate <= 3 * peak  # and not wildly pessimistic


def test_sliced_far_above_memory_is_refused():
    from vegan.ot.sliced import sliced_wasserstein

    x = np.zeros((10, 2), np.float32)
    msg = _timed(lambda: sliced_wasserstein(x, x, n_projections=10**12))
    assert "10 and 10 samples needs about" in msg and "fewer projections" in msg


def test_sinkhorn_far_above_memory_is_refused():
    x = np.zeros((10**6, 2), np.float32)
    msg = _timed(lambda: vegan.wasserstein(x, x, method="sinkhorn"))
    assert "between 1000000 and 1000000 samples" in msg and "needs about" in msg


def test_the_sinkhorn_estimate_bounds_the_measured_peak():
    res = _peak_run(_SINKHORN_PEAK, "2000", "1")
    peak, estimate = res
    assert peak <= estimate, (peak, estimate)
    assert estimate <= 3 * peak


def test_an_allocation_failure_on_the_shape_probe_is_a_resource_error(tmp_path, monkeypatch):
    # Was reported as "the networks cannot take data of shape ..." (a ShapeError).
    import vegan.ot.sliced as sliced

    def alloc_fails(*a, **k):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 TB")

    monkeypatch.setattr(sliced, "random_projections", alloc_fails)
    with pytest.raises(ResourceError, match="ran out of memory on 2 samples"):
        vegan.fit("swae", "toy:8gaussians", tmp_path / "run", steps=1, progress=False)
    assert not (tmp_path / "run").exists()


def test_depth_is_capped(tmp_path):
    from vegan.errors import ConfigError

    with pytest.raises(ConfigError, match="'depth' must be <= 1024"):
        vegan.fit("ae", "toy:8gaussians", tmp_path / "run", steps=1, depth=10**6)
    with pytest.raises(ConfigError, match="'adv_depth' must be <= 1024"):
        vegan.fit("wae-gan", "toy:8gaussians", tmp_path / "run", steps=1, adv_depth=5000)
