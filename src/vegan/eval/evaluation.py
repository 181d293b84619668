"""Evaluate a trained run: every metric that applies, with its reference beside it.

``evaluate(run_dir)`` loads the run, draws ``n`` samples (seeded), and
compares them with the first ``n`` images of the dataset's held-out split:

* in data space: exact W2^2 / W2 (``l2sq``), exact W1 (``l2``), sliced W2,
  MMD^2; and the same numbers between ``n`` train images and the held-out
  ones (the real-vs-real reference: pixel transport rewards blur, so a model
  can score below two real samples; never rank on pixel W2 alone), plus the
  sharpness (mean gradient magnitude) of samples and of data;
* MNIST only: Frechet distance and k-NN precision/recall in the features of
  ``vegan-mnist-cnn`` (with the real-vs-real reference and the classifier's
  held-out accuracy); Inception FID when torch-fidelity and its weights are
  present;
* toy mixtures: modes covered and the share of high-quality samples (the
  held-out split of a toy dataset is a fresh draw of the true distribution);
* primal recipes: reconstruction cost |x - G(E(x))|^2 on held-out data, and
  codes of held-out data vs prior samples (MMD^2 and exact W2^2, with
  prior-vs-prior references); the -ELBO where it is defined (VAE, AVB);
* primal recipes on ``shapes64`` (or on a ``FILE.npy`` that ``vegan data
  shapes64`` wrote, with its ``FILE.factors.csv`` beside it): how well each
  generative factor can be read back from the codes by a linear probe (:mod:`vegan.eval.probe`: R^2
  per factor group, accuracy for the shape).

Whatever does not apply lands in ``skipped`` with a one-line reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vegan.errors import ConfigError, flag
from vegan.eval import metrics as M

#: File a run's evaluation is saved to (``vegan eval`` writes it; reports read it).
EVAL_FILE = "eval.json"
DEFAULT_N = 2000
DEFAULT_K = 3


@dataclass(frozen=True)
class EvalOptions:
    """How to evaluate: samples per side, seed, neighbours, which metric groups, where.

    One object carries these from the command line (``vegan eval``, ``vegan
    report``, ``vegan zoo``) to :func:`evaluate` and :func:`evaluate_model`.
    ``n = None`` (the default) evaluates on min(``DEFAULT_N``, the held-out
    split's size) samples (:func:`choose_n`); an ``n`` larger than the
    held-out split is an error.
    """

    n: int | None = None
    seed: int = 0
    k: int = DEFAULT_K
    features: bool = True
    inception: bool = True
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.n is not None and self.n < 2:
            raise ConfigError(
                f"{flag('n', None)} must be at least 2 (a sample, not a point), got {self.n}"
            )
        if self.k < 1:
            raise ConfigError(f"{flag('k', None)} must be at least 1, got {self.k}")


@dataclass
class Part:
    """What one group of metrics found: values, the metrics it skipped (why), its settings."""

    metrics: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def into(self, out: Evaluation) -> None:
        out.metrics.update(self.metrics)
        out.skipped.update(self.skipped)
        out.settings.update(self.settings)


@dataclass
class Evaluation:
    """The result of evaluating one run."""

    run: str
    recipe: str
    dataset: str
    n: int
    seed: int
    seconds: float = 0.0
    step: int | None = None
    split: str = "heldout"
    metrics: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    _HEAD = ("run", "recipe", "dataset", "split", "n", "seed", "seconds", "step")

    def to_json(self) -> dict[str, Any]:
        """One flat object: run, recipe, dataset, split, n, seed, seconds, step, every metric
        by name, then ``skipped`` (metric group -> reason) and ``settings``."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self._HEAD}
        out.update({k: _finite(v) for k, v in self.metrics.items()})
        out["skipped"] = dict(self.skipped)
        out["settings"] = dict(self.settings)
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Evaluation:
        head = {k: obj.get(k) for k in cls._HEAD}
        rest = {
            k: v
            for k, v in obj.items()
            if k not in cls._HEAD and k not in ("skipped", "settings") and _is_number(v)
        }
        return cls(
            run=str(head["run"]),
            recipe=str(head["recipe"]),
            dataset=str(head["dataset"]),
            n=int(head["n"] or 0),
            seed=int(head["seed"] or 0),
            seconds=float(head["seconds"] or 0.0),
            step=head["step"],
            split=str(head["split"] or "heldout"),
            metrics={k: float(v) for k, v in rest.items() if v is not None},
            skipped=dict(obj.get("skipped") or {}),
            settings=dict(obj.get("settings") or {}),
        )


def _finite(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------------------- data


def choose_n(n: int | None, available: int | None, spec: str) -> int:
    """The number of samples per side: ``n``, or min(``DEFAULT_N``, ``available``) when None.

    ``available`` is the size of the held-out split (None: as many as asked,
    e.g. fresh draws of a toy distribution). An explicit ``n`` above it is a
    :class:`ConfigError` that says the largest ``n`` that works.
    """
    if n is None:
        return DEFAULT_N if available is None else min(DEFAULT_N, available)
    if available is not None and available < n:
        raise ConfigError(
            f"the held-out split of '{spec}' has {available} samples, fewer than "
            f"{flag('n', n)}; use {flag('n', available)} or less (or leave it out: the default "
            f"is min({DEFAULT_N}, the held-out size))"
        )
    return n


def n_note(n: int | None, used: int) -> str:
    """How ``used`` samples per side were chosen, for people (printed by ``vegan eval``)."""
    if n is not None:
        return f"n = {used} (asked)"
    rule = f"the default n is min({DEFAULT_N}, the held-out size)"
    if used < DEFAULT_N:
        return f"n = {used}, the whole held-out split ({rule})"
    return f"n = {used} ({rule})"


def resolve_n(spec: str, n: int | None, run_seed: int = 0) -> int:
    """The n that :func:`eval_data` takes for ``spec`` (an explicit ``n`` is checked)."""
    from vegan.data import load_dataset, shapes

    if spec.lower().startswith("toy:"):
        return choose_n(n, None, spec)
    if shapes.is_shapes_spec(spec):
        return choose_n(n, shapes.split_size(shapes.parse_spec(spec).size, "heldout"), spec)
    return choose_n(n, len(load_dataset(spec, "heldout", seed=run_seed)), spec)


def eval_data(spec: str, n: int | None, seed: int, run_seed: int = 0):
    """(held-out x (n, ...), train reference x (<= n, ...), held-out Dataset) for ``spec``.

    The held-out sample is the first ``n`` items of the split (for toy data, ``n``
    fresh points drawn with the run's seed); the reference is ``n`` train items
    chosen with ``seed``. ``n = None`` takes min(``DEFAULT_N``, the split's
    size) (:func:`choose_n`): the n used is ``len`` of the first array.
    """
    from vegan.data import load_dataset, shapes

    if shapes.is_shapes_spec(spec):
        return _shapes_eval_data(spec, n, seed)
    toy = spec.lower().startswith("toy:")
    if toy:
        n = choose_n(n, None, spec)
    held = load_dataset(spec, "heldout", n=n if toy else None, seed=run_seed)
    n = choose_n(n, len(held), spec)
    if not toy:
        held = held.first(n)  # large data: only these n items are read
    train = load_dataset(spec, "train", n=n if toy else None, seed=run_seed)
    g = torch.Generator().manual_seed(seed)
    take = torch.randperm(len(train), generator=g)[:n]
    return held.x, train.take(take.numpy()), held


def _shapes_eval_data(spec: str, n: int | None, seed: int):
    """:func:`eval_data` for ``shapes64``: the same items, but only those are generated.

    The generic path loads both splits whole; here the held-out sample is the
    split's first ``n`` items and the reference the same ``n`` train
    positions ``torch.randperm(train size, seed)[:n]``, drawn one by one.
    """
    from vegan.data import load_dataset, shapes

    parsed = shapes.parse_spec(spec)
    n = choose_n(n, shapes.split_size(parsed.size, "heldout"), spec)
    held = load_dataset(spec, "heldout", n=n)
    g = torch.Generator().manual_seed(seed)
    take = torch.randperm(shapes.split_size(parsed.size, "train"), generator=g)[:n]
    ref = shapes.generate(shapes.items_of("train", take.numpy()), parsed.seed).images
    return held.x, torch.from_numpy(ref).to(torch.float32).div_(255.0), held


def shapes_factors(spec: str, n: int):
    """(factors (n, 13), shape ids (n,)) of the held-out sample :func:`eval_data` takes, or None.

    For ``shapes64``, and for a ``FILE.npy`` written by ``vegan data shapes64
    --out FILE.npy`` (its ``FILE.factors.csv`` beside it; held-out = rows
    i % 5 == 4 of the file, as :func:`vegan.data.load_dataset` splits it).
    None for any other data.
    """
    from vegan.data import shapes
    from vegan.data.shapes_files import factors_beside
    from vegan.data.splits import split_indices

    if shapes.is_shapes_spec(spec):
        batch = shapes.factors_for(spec, "heldout", n)
        return batch.factors, batch.shapes
    if spec.lower().endswith(".npy"):
        return factors_beside(spec, split_indices(5 * n, "heldout")[:n])
    return None


# ------------------------------------------------------------------------ evaluate


def evaluate(
    run_dir: str | Path,
    options: EvalOptions | None = None,
    log: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> Evaluation:
    """Evaluate the newest checkpoint of ``run_dir`` (see the module docstring).

    ``options`` (or its fields as keywords: ``n``, ``seed``, ``k``, ``features``,
    ``inception``, ``device``) say how.
    """
    from vegan.train.api import load

    opts = options or EvalOptions(**kwargs)
    log = log or _quiet
    t0 = time.perf_counter()
    model = load(run_dir, device=opts.device)
    spec = model.info["data"]
    from vegan.data.registry import OBJECT_SPECS

    if spec in OBJECT_SPECS:
        raise ConfigError(
            f"run '{run_dir}' was trained on an in-memory {spec}: there is no held-out split "
            "to load; use vegan.eval.evaluate_model(model, heldout, reference) from Python"
        )
    held, ref, _ = eval_data(spec, opts.n, opts.seed, int(model.config.seed))
    log(n_note(opts.n, len(held)))
    factors = shapes_factors(spec, len(held))
    result = evaluate_model(model, held, ref, dataset=spec, options=opts, log=log, factors=factors)
    result.settings["n"] = n_note(opts.n, len(held))
    result.run = str(run_dir)
    result.step = model.info.get("step")
    result.seconds = round(time.perf_counter() - t0, 2)
    return result


def evaluate_model(
    model,
    heldout: torch.Tensor,
    reference: torch.Tensor | None = None,
    dataset: str = "",
    options: EvalOptions | None = None,
    log: Callable[[str], None] | None = None,
    factors: tuple[Any, Any] | None = None,
    **kwargs: Any,
) -> Evaluation:
    """Evaluate ``model`` against held-out samples (and a train ``reference`` of the same size).

    ``len(heldout)`` sets n (``options.n`` is not used). ``dataset`` (a spec)
    decides which metric groups apply; ``options`` (or its fields as keywords)
    the seed, k and the groups turned off. ``factors``: (float factors (n, k),
    int labels (n,)) of the held-out samples, for the linear probe of the
    codes (:func:`shapes_factors` gives those of ``shapes64``).
    """
    held = torch.as_tensor(heldout).float().cpu()
    n = len(held)
    opts = options or EvalOptions(**{"n": max(2, n), **kwargs})
    log = log or _quiet
    t0 = time.perf_counter()
    seed = opts.seed
    out = Evaluation(run="", recipe=getattr(model, "recipe", "?"), dataset=dataset, n=n, seed=seed)
    out.settings = {
        "cost_w2": "l2sq (squared Euclidean, summed over pixels)",
        "cost_w1": "l2 (Euclidean)",
        "samples": "decoder means G(z) for images, draws of P_G(Y|Z) for vectors",
        "sliced_projections": M.SLICED_PROJECTIONS,
        "mmd_kernel": "imq, WAE scales, C = 2 d sigma^2 of the held-out data (codes: of P_Z)",
    }
    gen = _sample(model, n, seed)
    log(f"transport metrics, n = {n}")
    part, ref = _transport_metrics(gen, held, reference, seed)
    part.into(out)
    _toy_metrics(dataset, gen, held).into(out)
    if opts.features:
        _feature_metrics(dataset, gen, held, ref, opts.k, log).into(out)
        if held.dim() == 4:
            _inception(gen, held, opts.inception, log).into(out)
    else:
        out.skipped["features"] = f"feature metrics turned off ({flag('no-features')})"
    part, codes = _primal_metrics(model, held, seed, log)
    part.into(out)
    _probe_metrics(dataset, codes, factors, log).into(out)
    out.seconds = round(time.perf_counter() - t0, 2)
    return out


def _transport_metrics(gen, held, reference, seed: int) -> tuple[Part, torch.Tensor | None]:
    """Data-space metrics of the samples, beside the real-vs-real reference; and the reference."""
    part, n = Part(), len(held)
    c_base = M.pixel_c_base(held)
    part.metrics.update(M.transport_metrics(gen, held, seed=seed, c_base=c_base))
    ref = None
    if reference is not None and len(reference) == n:
        ref = torch.as_tensor(reference).float().cpu()
        real = M.transport_metrics(ref, held, seed=seed, c_base=c_base)
        part.metrics.update({f"{key}_real": v for key, v in real.items()})
    else:
        part.skipped["reference"] = (
            f"the train split has fewer than n = {n} samples: no real-vs-real reference"
        )
    if held.dim() == 4:
        part.metrics["sharpness"] = M.sharpness(gen)
        part.metrics["sharpness_data"] = M.sharpness(held)
    else:
        part.skipped["sharpness"] = "vector data: sharpness is defined for images"
    return part, ref


def _sample(model, n: int, seed: int) -> torch.Tensor:
    device = model.device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        gen = torch.Generator(device=device).manual_seed(seed)
        return model.sample(n, generator=gen).float().cpu()


def _toy_metrics(dataset: str, gen, held) -> Part:
    part = Part()
    if not dataset.lower().startswith("toy:"):
        return part
    from vegan.data import modes

    try:
        centers, std = modes(dataset)
    except ConfigError:
        part.skipped["modes"] = f"{dataset} is not a mixture of Gaussians: no modes to count"
        return part
    part.metrics.update(M.mode_metrics(gen, centers, std))
    part.metrics["high_quality_data"] = M.mode_metrics(held, centers, std)["high_quality"]
    return part


def _feature_metrics(dataset, gen, held, ref, k, log) -> Part:
    from vegan.eval import features as feats
    from vegan.eval.frechet import frechet_distance
    from vegan.eval.prdc import precision_recall

    part = Part()
    m = part.metrics
    if held.dim() != 4:
        part.skipped["features"] = "vector data: feature-space metrics are defined for images"
    elif not feats.mnist_like(dataset, tuple(held.shape[1:])):
        part.skipped["features"] = (
            f"{feats.NAME} features need MNIST (data 'mnist' or 'mnist-full', 1x28x28), "
            f"not '{dataset}'"
        )
    else:
        log(f"feature metrics ({feats.NAME})")
        net = feats.mnist_features(log=True)
        fg, fh = net(gen), net(held)
        m["fd_mnist_cnn"] = frechet_distance(fg, fh)
        m["precision"], m["recall"] = precision_recall(fh, fg, k=k)
        if ref is not None:
            fr = net(ref)
            m["fd_mnist_cnn_real"] = frechet_distance(fr, fh)
            m["precision_real"], m["recall_real"] = precision_recall(fh, fr, k=k)
        m["classifier_accuracy"] = net.accuracy
        part.settings["features"] = (
            f"{feats.NAME} (128 ReLU units), held-out accuracy {net.accuracy:.4f}"
        )
        part.settings["prdc_k"] = k
    return part


def _inception(gen, held, inception, log) -> Part:
    from vegan.eval import inception as inc

    part = Part()
    if not inception:
        part.skipped["fid_inception"] = f"turned off ({flag('no-inception')})"
        return part
    why = inc.unavailable()
    if why is None and held.shape[1] not in (1, 3):
        why = f"Inception takes grey or RGB images, the data has {held.shape[1]} channels"
    if why is not None:
        part.skipped["fid_inception"] = why
        return part
    log("Inception FID (torch-fidelity)")
    try:
        part.metrics["fid_inception"] = inc.inception_fid(gen, held)
    except Exception as exc:  # noqa: BLE001 - an optional extra must not sink the evaluation
        first = f"{type(exc).__name__}: {exc}".splitlines()[0]
        part.skipped["fid_inception"] = f"torch-fidelity failed ({first})"
    return part


def _primal_metrics(model, held, seed, log) -> tuple[Part, torch.Tensor | None]:
    """Reconstruction, codes vs prior and -ELBO; and the codes of ``held`` (None: no encoder)."""
    from vegan.eval.elbo import ELBO_SAMPLES, elbo_unavailable, negative_elbo

    part = Part()
    m = part.metrics
    if model.encoder is None:
        part.skipped["primal"] = "dual recipe: no encoder, so no reconstructions or codes"
        return part, None
    log("reconstructions and codes")
    n = len(held)
    # A random encoder (gaussian, implicit) draws from the global generator: seed it
    # here, in a forked state, so that the numbers depend on the seed alone and the
    # caller's random stream is left as it was.
    cuda = sorted({p.device.index or 0 for p in model.parameters() if p.is_cuda})
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed + 2)
        recon = model.reconstruct(held).cpu()
        codes = model.encode(held).cpu()
    m["recon_l2sq"] = float((recon - held).flatten(1).pow(2).sum(1).mean())
    prior = model.prior
    pz = prior.sample(2 * n, torch.Generator(device=prior.device).manual_seed(seed + 1)).cpu()
    p1, p2 = pz[:n], pz[n:]
    c = 2.0 * prior.dim * prior.variance
    m["codes_mmd"] = M.mmd_imq(codes, p1, c)
    m["codes_mmd_ref"] = M.mmd_imq(p2, p1, c)
    m["codes_w2sq"] = M.exact_cost(codes, p1, "l2sq")
    m["codes_w2sq_ref"] = M.exact_cost(p2, p1, "l2sq")
    why = elbo_unavailable(model)
    if why is None:
        log(f"-ELBO ({ELBO_SAMPLES} draws of z per image)")
        m["neg_elbo"] = negative_elbo(model, held, samples=ELBO_SAMPLES, seed=seed)
        part.settings["elbo_samples"] = ELBO_SAMPLES
    elif model.recipe in ("vae", "avb"):
        part.skipped["neg_elbo"] = why
    return part, codes


def _probe_metrics(dataset: str, codes, factors, log) -> Part:
    """Linear probes of the known factors from the codes (:mod:`vegan.eval.probe`)."""
    from vegan.data import shapes
    from vegan.eval.probe import factor_probe, min_codes

    part = Part()
    if factors is None:
        if shapes.is_shapes_spec(dataset):
            part.skipped["factors"] = (
                "no factors given for the held-out samples (pass factors=shapes_factors(spec, n))"
            )
        return part
    if codes is None:
        part.skipped["factors"] = "dual recipe: no encoder, so no codes to read factors from"
        return part
    values, labels = factors
    if len(values) != len(codes) or len(labels) != len(codes):
        raise ConfigError(
            f"factors of {len(values)} samples for {len(codes)} held-out samples; give one row "
            "per held-out sample"
        )
    codes = codes.reshape(len(codes), -1)
    need = min_codes(codes.shape[1])
    if len(codes) < need:
        part.skipped["factors"] = (
            f"the linear probe needs n >= 4 (d_z + 1) = {need} held-out codes (half to fit, "
            f"half to score), n = {len(codes)}"
        )
        return part
    log("factors read back from the codes (linear probe)")
    part.metrics.update(
        factor_probe(codes.numpy(), values, labels, shapes.FACTORS, shapes.FACTOR_GROUPS)
    )
    part.settings["probe"] = (
        f"ridge read-out fitted on {len(codes) // 2} held-out codes, scored on the other "
        f"{len(codes) - len(codes) // 2} (R^2; shape: accuracy)"
    )
    return part


# ----------------------------------------------------------------------- files


def save_evaluation(run_dir: str | Path, result: Evaluation) -> Path:
    """Write ``RUN/eval.json`` atomically."""
    from vegan.io import atomic_write_json

    return atomic_write_json(Path(run_dir) / EVAL_FILE, result.to_json())


def load_evaluation(run_dir: str | Path) -> Evaluation | None:
    """The saved evaluation of a run, or None when there is none (or it is unreadable)."""
    import json

    path = Path(run_dir) / EVAL_FILE
    if not path.is_file():
        return None
    try:
        return Evaluation.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


__all__ = [
    "DEFAULT_K",
    "DEFAULT_N",
    "EVAL_FILE",
    "EvalOptions",
    "Evaluation",
    "choose_n",
    "eval_data",
    "n_note",
    "resolve_n",
    "shapes_factors",
    "evaluate",
    "evaluate_model",
    "load_evaluation",
    "save_evaluation",
]
