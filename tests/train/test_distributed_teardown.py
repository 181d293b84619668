"""The process group is freed when a run leaves it (the SIGABRT seen under load).

Under load a rank sometimes died at exit with "terminate called without an
active exception" (SIGABRT). Its core dump showed a gloo worker thread
(``pt_gloo_runloop``) releasing a finished collective, whose tensor's Python
object needs the GIL, while the interpreter was finalizing. The threads were
alive at all because the process group outlived ``destroy_process_group``:
``torch.distributed.nn.functional`` (imported by ``torch._dynamo``, which
``torch.optim`` imports when the first optimizer is built) binds the default
group as default arguments when imported after the group exists.

These two scripts are the minimal reproduction: the bare one shows the
upstream behaviour (threads alive after ``destroy_process_group``), vegan's
shows the workaround (none left after ``shutdown``). Counting the threads is
deterministic, unlike the abort itself, which needs a loaded machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = [
    pytest.mark.skipif(
        not torch.distributed.is_available(), reason="torch.distributed is not available"
    ),
    pytest.mark.skipif(
        not Path("/proc/self/task").is_dir(), reason="counts threads through Linux /proc"
    ),
]

COUNT = """
import os
from pathlib import Path

def _report(*counts):  # one file per rank: the ranks share stdout
    out = Path(os.environ["COUNTS"]) / ("rank" + os.environ["RANK"])
    out.write_text(" ".join(map(str, counts)))

def gloo_threads():
    names = [p.read_text().strip() for p in Path("/proc/self/task").glob("*/comm")]
    return sum(n.startswith(("pt_gloo", "gloo_")) for n in names)
"""

BARE = (
    COUNT
    + """
from datetime import timedelta
import torch, torch.distributed as dist

dist.init_process_group("gloo", timeout=timedelta(seconds=60))
opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))])  # imports torch._dynamo
for _ in range(3):
    dist.all_reduce(torch.ones(100))
dist.barrier()
dist.destroy_process_group()
_report(gloo_threads())
# The threads left alive are the upstream bug itself: under load one of them
# can abort the interpreter's finalization (SIGABRT). Leave without finalizing
# so that this script reports the count and never that abort.
os._exit(0)
"""
)

VEGAN = (
    COUNT
    + """
import torch
from vegan import parallel as distributed

ctx = distributed.init_from_env("cpu")
p = torch.nn.Parameter(torch.zeros(3))
opt = torch.optim.Adam([p])  # after joining, as a training run does
for _ in range(3):
    p.grad = torch.ones(3)
    ctx.average_grads([p])
    ctx.mean(torch.ones(4))
distributed.shutdown(sync=True)
_report(gloo_threads(), distributed.lingering_workers())
"""
)


def _threads_after(script: str, tmp_path) -> list[list[int]]:
    path = tmp_path / "script.py"
    path.write_text(script)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
        str(path),
    ]  # fmt: skip
    counts = tmp_path / "counts"
    counts.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COUNTS": str(counts)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    found = [(counts / f"rank{r}").read_text() for r in (0, 1)]
    return [[int(v) for v in line.split()] for line in found]


def test_upstream_a_late_import_keeps_the_group_and_its_threads_alive(tmp_path):
    # If this fails, torch no longer keeps the group alive: the workaround in
    # vegan.parallel._bind_torch_defaults can go (keep the test below).
    counts = _threads_after(BARE, tmp_path)
    assert all(c[0] > 0 for c in counts), counts


def test_leaving_the_group_joins_the_backend_threads(tmp_path):
    counts = _threads_after(VEGAN, tmp_path)
    assert counts == [[0, 0], [0, 0]], counts
