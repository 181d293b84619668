"""What every experiment shares: its output folder, figures, tables and provenance.

An experiment is a module with ``NAME``, ``TITLE``, ``PAPER`` (the equations
it checks), ``settings(quick)`` (a dict of its parameters) and
``run(ctx) -> Outcome``. :func:`vegan.experiments.run_experiment` calls it
with a :class:`Context` and writes, into the output folder:

* ``result.json`` - settings, results, conclusions, figure names and
  provenance (vegan version, git commit, command, library versions, time);
* one PNG per figure (saved by :meth:`Context.figure` as the run goes);
* ``summary.md`` - a short Markdown account: what was checked, the numbers,
  the figures and what they say.

Also here: the exact transport solve every experiment uses (one place to
switch to :func:`vegan.ot.wasserstein` or another solver) and small
Markdown/JSON helpers.
"""

from __future__ import annotations

import io
import math
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vegan.io import atomic_write_bytes


@dataclass
class Outcome:
    """What an experiment returns.

    Attributes
    ----------
    results : dict
        JSON-ready numbers (NumPy scalars and arrays are converted on write).
    conclusions : list of str
        Plain-words findings, one sentence or two each, quoted in the summary.
    summary : str
        Markdown body of ``summary.md`` (tables, explanations); the title,
        command, figures and provenance are added around it.
    """

    results: dict[str, Any]
    conclusions: list[str]
    summary: str


@dataclass
class Context:
    """Where an experiment writes, how long it runs, and how it reports progress.

    Attributes
    ----------
    name : str
        The experiment's name.
    out : Path
        Output folder (exists).
    quick : bool
        The reduced setting (under a minute, for tests) instead of the full one.
    seed : int
        Base seed; experiments derive every other seed from it.
    settings : dict
        The experiment's parameters for this run (``settings(quick)``).
    log : callable
        ``log(message)``: progress lines (stderr from the command line).
    """

    name: str
    out: Path
    quick: bool
    seed: int
    settings: dict[str, Any]
    log: Callable[[str], None] = lambda _msg: None
    figures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        """Seconds since the experiment started."""
        return time.perf_counter() - self.started

    def say(self, message: str) -> None:
        """Log ``message`` with the experiment's name and the elapsed time."""
        self.log(f"[{self.name} {self.elapsed():6.1f}s] {message}")

    def figure(self, name: str, fig: Any, dpi: int = 110) -> str:
        """Save a matplotlib figure as ``out/name`` (PNG, atomically) and close it."""
        plt = pyplot()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        atomic_write_bytes(self.out / name, buf.getvalue())
        if name not in self.figures:
            self.figures.append(name)
        return name


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------- JSON


def jsonable(obj: Any) -> Any:
    """Convert NumPy/torch values to plain Python; NaN and infinities become None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return jsonable(obj.detach().cpu().tolist())
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


# --------------------------------------------------------------------------- provenance


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def provenance(command: str | None) -> dict[str, Any]:
    """Versions, git commit (when vegan runs from a checkout) and the command line."""
    import ot

    import vegan

    here = Path(vegan.__file__).resolve().parent
    commit = _git(["rev-parse", "HEAD"], here)
    dirty = None
    if commit is not None:
        # Uncommitted changes to the package itself (tests and docs do not change results).
        status = _git(["status", "--porcelain", "--untracked-files=no", "--", "."], here)
        dirty = bool(status) if status is not None else None
    return {
        "vegan": vegan.__version__,
        "commit": commit,
        "dirty": dirty,
        "command": command,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pot": ot.__version__,
        "platform": platform.platform(terse=True),
        "torch_threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def default_command(name: str, quick: bool, seed: int, out: Path) -> str:
    """The ``vegan experiment`` command line equivalent to a Python call."""
    parts = ["vegan", "experiment", name, "--out", str(out)]
    if quick:
        parts.append("--quick")
    if seed:
        parts += ["--seed", str(seed)]
    return " ".join(parts)


# --------------------------------------------------------------------------- Markdown


def fmt(v: Any, digits: int = 4) -> str:
    """A number for a table: ``digits`` significant digits, '-' for None/NaN."""
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            return "-"
        return f"{float(v):.{digits}g}"
    return str(v)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 4) -> str:
    """A Markdown table; numbers formatted by :func:`fmt`, '|' inside cells escaped."""

    def cell(v: Any) -> str:
        return fmt(v, digits).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def summary_markdown(
    title: str,
    paper: str,
    command: str,
    outcome: Outcome,
    figures: list[str],
    prov: dict[str, Any],
    seconds: float,
    quick: bool,
) -> str:
    """The full ``summary.md``: title, what it checks, findings, body, figures, provenance."""
    lines = [f"# {title}", "", f"Checks: {paper}.", "", f"Command: `{command}`"]
    if quick:
        lines += ["", "**Quick setting** (a smoke test): the numbers below are not the result."]
    lines += ["", "## Findings", ""]
    lines += [f"- {c}" for c in outcome.conclusions] or ["- (none)"]
    lines += ["", outcome.summary.strip(), ""]
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{f}]({f})" for f in figures]
        lines.append("")
    commit = prov.get("commit") or "unknown"
    if prov.get("dirty"):
        commit += " (with uncommitted changes)"
    lines += [
        "## Provenance",
        "",
        f"vegan {prov['vegan']}, commit {commit}; torch {prov['torch']}, NumPy "
        f"{prov['numpy']}, POT {prov['pot']}, Python {prov['python']}, "
        f"{prov['torch_threads']} torch thread(s); {seconds:.0f} s on {prov['date']}.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- transport


def exact_transport(
    x: Any, y: Any, cost: str = "l2sq", plan: bool = False
) -> tuple[float, np.ndarray | None]:
    """Exact min over couplings of E c(X, Y) between two uniform empirical measures.

    Network simplex (:func:`vegan.ot.exact.exact_ot`, POT underneath).
    ``cost="l2sq"`` gives W_2^2, ``"l2"`` gives W_1. Returns (value, plan or None).
    """
    xs = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    ys = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    xs = xs.detach().double().reshape(len(xs), -1).cpu()
    ys = ys.detach().double().reshape(len(ys), -1).cpu()
    from vegan.ot.exact import exact_ot

    res = exact_ot(xs.numpy(), ys.numpy(), cost, return_plan=plan, return_result=True)
    return float(res.value), res.plan


def matching(plan: np.ndarray) -> np.ndarray:
    """For a plan between two uniform n-point sets (a permutation): partner of each column."""
    return np.asarray(plan).argmax(axis=0)


def mean_ci(values: np.ndarray, z: float = 1.96) -> tuple[float, float, float]:
    """(mean, standard error, half-width of the normal ``z`` interval) of i.i.d. values."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
    return float(v.mean()), se, z * se


def seeded(seed: int) -> torch.Generator:
    """A CPU torch generator seeded with ``seed``."""
    return torch.Generator().manual_seed(int(seed))


def stderr_log(message: str) -> None:
    """Print a progress line on stderr (the command line's logger)."""
    print(message, file=sys.stderr, flush=True)
