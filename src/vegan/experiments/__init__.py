"""The paper's theory, checked by running code (``vegan experiment NAME``).

Each experiment is one module; :func:`run_experiment` runs it and writes
``result.json``, its PNG figures and ``summary.md`` into a folder.

* ``theorem1`` - Theorem 1, eq. (9)-(11): W_c(P_X, P_G) = inf over Q(Z|X)
  with Q_Z = P_Z of E c(X, G(Z)) for a deterministic G (1-D exact, trained
  WAEs on toy data); a strict inequality for a Gaussian decoder.
* ``remark1`` - Remark 1: a Gaussian decoder N(G(z), sigma^2 I_d) adds exactly
  d sigma^2 to the primal value with the squared cost (Monte Carlo with
  confidence intervals), and what noise does to the exact W2 between data
  and samples.
* ``prop2`` - Proposition 2: the minimizer of W_c(P_X, P_G^sigma) moves with
  sigma, the minimizer of the primal bound W_c^dagger does not (1-D, exact).
* ``primal-dual`` - W1 from the primal side (auto-encoder, constraint
  penalized, eq. (12)-(13)) and the dual side (critic, eq. (2)) against the
  exact value: values and gradients, translated Gaussians and mixtures,
  d = 2 to 128.
* ``blur`` - why VAE samples are blurry: VAE vs WAE-MMD on MNIST, same
  networks and budget (sharpness, feature-space distance, pixel W2).

``--quick`` runs a reduced setting in under a minute (the tests use it); the
full setting is what ``docs/theory.md`` reports.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from vegan.errors import ConfigError, OutputError, closest

#: name -> (module, one-line description)
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "theorem1": (
        "vegan.experiments.theorem1",
        "Theorem 1, eq. (9)-(11): the primal form of W_c, and its gap for random decoders",
    ),
    "remark1": (
        "vegan.experiments.remark1",
        "Remark 1: a Gaussian decoder adds exactly d sigma^2 to the primal value",
    ),
    "prop2": (
        "vegan.experiments.prop2",
        "Proposition 2: minimizers of W_c(P_X, P_G^sigma) move with sigma, of W_c^dagger not",
    ),
    "primal-dual": (
        "vegan.experiments.primal_dual",
        "W1 from the auto-encoder (primal) and the critic (dual) vs the exact value",
    ),
    "blur": (
        "vegan.experiments.blur",
        "why VAE samples are blurry: VAE vs WAE-MMD on MNIST, same networks and budget",
    ),
}

__all__ = ["EXPERIMENTS", "list_experiments", "get_experiment", "run_experiment"]


def list_experiments() -> list[tuple[str, str]]:
    """(name, description) of every experiment, in the order of the paper."""
    return [(name, desc) for name, (_, desc) in EXPERIMENTS.items()]


def get_experiment(name: str) -> ModuleType:
    """The module of experiment ``name``; :class:`ConfigError` naming the closest otherwise."""
    if name not in EXPERIMENTS:
        raise ConfigError(
            f"unknown experiment '{name}'{closest(name, list(EXPERIMENTS))}; "
            f"choose one of {', '.join(EXPERIMENTS)}"
        )
    return importlib.import_module(EXPERIMENTS[name][0])


def _prepare_out(out: str | Path) -> Path:
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise OutputError(f"output '{p}' exists and is not a folder; give a folder path")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the output folder '{p}' ({exc.strerror or exc}); choose another path"
        ) from exc
    return p


def run_experiment(
    name: str,
    out: str | Path,
    *,
    quick: bool = False,
    seed: int = 0,
    command: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run experiment ``name`` and write ``result.json``, figures and ``summary.md`` in ``out``.

    Parameters
    ----------
    name : str
        One of :data:`EXPERIMENTS`.
    out : path
        Output folder, created if missing; files of an earlier run there are replaced.
    quick : bool
        The reduced setting (under a minute) instead of the full one.
    seed : int
        Base seed of every random draw and initialization.
    command : str, optional
        The command line to record (default: the equivalent ``vegan experiment`` call).
    log : callable, optional
        Receives progress lines.

    Returns
    -------
    dict
        The content of ``result.json``.
    """
    from vegan.experiments._common import (
        Context,
        default_command,
        jsonable,
        provenance,
        summary_markdown,
    )
    from vegan.io import atomic_write_json, atomic_write_text

    module = get_experiment(name)
    out = _prepare_out(out)
    settings = module.settings(quick)
    ctx = Context(name, out, quick, int(seed), settings, log or (lambda _m: None))
    command = command or default_command(name, quick, int(seed), out)
    ctx.say(f"{'quick' if quick else 'full'} setting, seed {seed}, writing to {out}")
    outcome = module.run(ctx)
    seconds = ctx.elapsed()
    prov = provenance(command)
    result = jsonable(
        {
            "experiment": name,
            "title": module.TITLE,
            "paper": module.PAPER,
            "quick": quick,
            "seed": int(seed),
            "settings": settings,
            "results": outcome.results,
            "conclusions": outcome.conclusions,
            "figures": list(ctx.figures),
            "seconds": round(seconds, 1),
            "provenance": prov,
        }
    )
    # Round-trip check: the object must be plain JSON before it is written.
    json.dumps(result, allow_nan=False)
    atomic_write_json(out / "result.json", result)
    md = summary_markdown(
        module.TITLE, module.PAPER, command, outcome, ctx.figures, prov, seconds, quick
    )
    atomic_write_text(out / "summary.md", md)
    ctx.say(f"done in {seconds:.0f} s ({time.strftime('%H:%M:%S')})")
    return result
