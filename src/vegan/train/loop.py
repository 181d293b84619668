"""The one training loop: every recipe is a list of players, and this runs them.

Per iteration (one "step"): draw a batch; for each player in order, take
``player.steps`` optimizer steps on its loss (the first on the iteration's
batch, later ones on fresh batches); then log, call the callbacks at the end
of an epoch, and checkpoint on schedule. An epoch is
``len(data) // batch_size`` iterations.

Side effects are all visible here: ``metrics.jsonl`` every ``log_every``
steps (:mod:`vegan.train.metricslog`), checkpoints every epoch (or
``checkpoint_every`` steps) and at the end (:mod:`vegan.train.checkpoint`),
and the callbacks (:mod:`vegan.train.callbacks`: sample pictures, periodic
evaluation, a user's loggers). A non-finite loss or gradient stops the run
at the step it appears, naming the player, and leaves the last good
checkpoint intact (or, with ``on_nan = "rollback"``, reloads it and halves
the learning rates). Ctrl-C finishes the current step, writes a checkpoint
and raises :class:`Interrupted` (:mod:`vegan.train.signals`).

With the run option ``precision`` at ``"bf16"`` or ``"16"`` each loss is
computed under autocast and, at ``"16"``, back-propagated through its
player's gradient scaler (:mod:`vegan.train.precision`); there a step whose
gradients overflowed is skipped by the scaler, not counted as a divergence,
unless the loss itself is not finite or the scale collapses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vegan.errors import ConfigError, DivergenceError, VeganError, flag
from vegan.models.config import to_dict
from vegan.nets.layout import use_channels_last
from vegan.parallel import current
from vegan.train import checkpoint as ckpt
from vegan.train.callbacks import CallbackError, RunView, callback_name
from vegan.train.feed import make_feed
from vegan.train.metricslog import MetricsLog
from vegan.train.options import RunOptions, run_dict
from vegan.train.players import make_optimizer
from vegan.train.precision import MixedPrecision
from vegan.train.schedule import lr_factor
from vegan.train.signals import StopSignals

MAX_ROLLBACKS = 3


class Interrupted(VeganError):
    """Training stopped by Ctrl-C (SIGINT) or SIGTERM after writing a checkpoint."""


@dataclass
class TrainResult:
    """What a finished run reports."""

    run_dir: Path
    step: int
    epoch: float
    seconds: float
    last: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Runs the players of ``model`` on ``data`` and writes the run folder.

    Parameters
    ----------
    model : GenerativeModel
        Built by a recipe; ``model.players`` is the game, ``model.config`` its
        options (batch size, seed, learning-rate schedule).
    x : torch.Tensor or vegan.data.Dataset or LoaderData
        Training data: a tensor (n, ...) or an in-memory Dataset is moved to
        ``device`` once (uint8 images stay uint8 there); a Dataset read on
        demand is streamed batch by batch, a user's DataLoader iterated
        (:mod:`vegan.train.feed`).
    run_dir : Path
        Output folder (already prepared, see :mod:`vegan.train.rundir`).
    options : RunOptions
        The run's length and cadence.
    callbacks : sequence of Callback
        Called on the main process (see :mod:`vegan.train.callbacks`).
    """

    def __init__(
        self,
        model,
        x: Any,
        run_dir: Path,
        options: RunOptions,
        device: torch.device,
        callbacks: Sequence[Any] = (),
        progress: bool = True,
    ) -> None:
        cfg = model.config
        self.model, self.cfg, self.options, self.device = model.to(device), cfg, options, device
        if getattr(cfg, "channels_last", False):
            use_channels_last(model, device)  # before the optimizers make their state
        self.run_dir = Path(run_dir)
        self.dist = current()
        # The batches: from memory, streamed from stored items, or a user's DataLoader.
        self.stream = make_feed(x, cfg, options, device, self.dist)
        self.x = self.stream.preview  # float32 samples on the device, for the callbacks
        self.players = model.players
        self.optimizers = [make_optimizer(p, cfg.weight_decay) for p in self.players]
        self.amp = MixedPrecision(options.precision, device, len(self.players))
        self.per_epoch = self.stream.per_epoch
        self.total = options.total_steps(self.per_epoch)
        self.step, self.lr_scale, self.rollbacks = 0, 1.0, 0
        self.callbacks = list(callbacks)
        self.progress = progress
        self.metrics = MetricsLog(self.run_dir, self.dist.is_main)
        self.signals = StopSignals(self.dist)
        self.elapsed_before, self._t0 = 0.0, None
        self.last: dict[str, float] = {}
        self._pictures: dict[str, Path] = {}  # written by callbacks in this round of calls

    # ------------------------------------------------------------------ state
    def save(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0 alone writes)."""
        if not self.dist.is_main:
            return None
        tensors, state = ckpt.training_state(
            self.model,
            self.players,
            self.optimizers,
            self.device,
            step=self.step,
            epoch=self.step / self.per_epoch,
            sampler=self.stream.state(),
            lr_scale=self.lr_scale,
            rollbacks=self.rollbacks,
            seconds=self.elapsed(),
            config=to_dict(self.cfg),
            options=run_dict(self.options),
        )
        if self.amp.scaling:
            state["scalers"] = self.amp.state([p.name for p in self.players])
        path = ckpt.save_checkpoint(
            self.run_dir, self.step, tensors, state, keep=self.options.keep_checkpoints
        )
        self._call("on_checkpoint", path)
        return path

    def restore(self, c: ckpt.Checkpoint) -> None:
        """Load model, optimizers, RNG, sampler and loss scalers from checkpoint ``c`` (validated).

        A checkpoint of another ``precision`` is refused (:class:`ConfigError`):
        the precision of a run is fixed.
        """
        run = c.state.get("run")
        saved = run.get("precision", "32") if isinstance(run, dict) else "32"
        if saved != self.options.precision:
            raise ConfigError(
                f"checkpoint '{c.path}' was trained with precision={saved}, this run asks "
                f"precision={self.options.precision}; the precision cannot change on "
                f"{flag('resume')}: resume with precision={saved}, or start a new run"
            )
        back = ckpt.restore_training_state(
            c, self.model, self.players, self.optimizers, self.device
        )
        self.amp.load(c.state.get("scalers"), [p.name for p in self.players], str(c.path))
        self.stream.load(back.sampler)
        self.step, self.lr_scale, self.rollbacks = back.step, back.lr_scale, back.rollbacks
        self.elapsed_before = back.seconds

    def elapsed(self) -> float:
        """Seconds of training of this run, over every resume."""
        now = 0.0 if self._t0 is None else time.perf_counter() - self._t0
        return self.elapsed_before + now

    # ------------------------------------------------------------------ loop
    def train_step(self) -> dict[str, torch.Tensor]:
        """One iteration of every player. Returns detached loss terms by 'player/term'.

        Each loss is computed under the run's autocast (none at precision
        32) and back-propagated outside it; at precision 16 through the
        player's gradient scaler, whose unscaled gradients the optimizer steps on.
        """
        self._set_lr()
        cache: dict[str, Any] = {"step": self.step}  # for step-dependent losses (lam_warmup)
        x = self.stream.next()
        logged: dict[str, torch.Tensor] = {}
        amp = self.amp
        for i, (player, opt) in enumerate(zip(self.players, self.optimizers)):
            for k in range(player.steps_at(self.step)):
                xb = (x if k == 0 else self.stream.next()) if player.uses_data else None
                opt.zero_grad(set_to_none=True)
                with amp.autocast():
                    loss, terms = player.loss(xb, cache)
                amp.backward(i, loss)
                self.dist.average_grads(opt.param_groups[0]["params"])
                amp.unscale(i, opt)
                self._check_finite(player, loss, opt, grads=not amp.scaling)
                if not amp.step(i, opt):
                    raise _NonFinite(player.name, "gradient")
                if player.after_step is not None:
                    player.after_step()
            logged[f"{player.name}/loss"] = loss.detach()
            for name, value in terms.items():
                logged[f"{player.name}/{name}"] = value.detach()
        return logged

    def fit(self, resume: bool = False) -> TrainResult:
        """Train up to ``self.total`` steps (resuming from the last checkpoint if asked)."""
        if resume and (last := ckpt.latest_checkpoint(self.run_dir)) is not None:
            self.restore(last)
        self.metrics.truncate(self.step)
        self._t0 = time.perf_counter()
        self.signals.install()
        bar = _progress(self.total, self.step, self.progress and self.dist.is_main)
        sums: dict[str, torch.Tensor] = {}
        count, t_log = 0, time.perf_counter()
        started = reached = False
        try:
            self._call("on_start")
            started = True
            while self.step < self.total:
                try:
                    logged = self.train_step()
                except _NonFinite as bad:
                    self._on_non_finite(bad)
                    sums, count = {}, 0
                    continue
                self.step += 1
                for key, value in logged.items():
                    sums[key] = sums[key] + value if key in sums else value.clone()
                count += 1
                bar.update(1)
                over = self.options.time_budget and self.elapsed() >= self.options.time_budget
                if self.signals.agree(bool(over)):
                    self.total = self.step  # a time budget ends the run here (logged, saved)
                stopping = self.signals.stop is not None
                if self.step % self.options.log_every == 0 or self.step == self.total or stopping:
                    now = time.perf_counter()
                    self._log(sums, count, now - t_log, bar)
                    sums, count, t_log = {}, 0, now
                end_of_epoch = self.step % self.per_epoch == 0
                if end_of_epoch:
                    self._epoch_end()
                every = self.options.checkpoint_every
                if (every and self.step % every == 0) or (not every and end_of_epoch) or stopping:
                    self.save()
                if stopping:
                    raise Interrupted(
                        f"training interrupted at step {self.step}/{self.total}; checkpoint "
                        f"written to '{self.run_dir}'; continue with the same command and "
                        f"{flag('resume')}"
                    )
            if self.dist.is_main:
                last = ckpt.list_checkpoints(self.run_dir)
                if not last or last[-1].name != f"step-{self.step:08d}.json":
                    self.save()
                self._collect("on_end", round(self.step / self.per_epoch, 4))
            reached = True
        finally:
            bar.close()
            self.signals.restore()
            if started and not reached:
                self._stopped()
        return TrainResult(
            self.run_dir, self.step, self.step / self.per_epoch, self.elapsed(), self.last
        )

    # ------------------------------------------------------------- helpers
    def _set_lr(self) -> None:
        f = self.lr_scale * lr_factor(
            self.cfg.schedule, self.step / self.per_epoch, self.step / max(1, self.total)
        )
        for player, opt in zip(self.players, self.optimizers):
            for group in opt.param_groups:
                group["lr"] = player.lr * f

    def _check_finite(
        self, player, loss: torch.Tensor, opt: torch.optim.Optimizer, grads: bool = True
    ) -> None:
        """One host sync per player step: the loss and the gradient norm must be finite.

        ``grads=False`` (precision 16) checks the loss alone: there the
        gradient scaler skips the steps whose gradients overflowed.
        """
        probe = loss.detach()
        found = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if grads and found:
            probe = probe + torch.stack(torch._foreach_norm(found)).sum()
        if not bool(torch.isfinite(probe)):
            what = "loss" if not torch.isfinite(loss.detach()) else "gradient"
            raise _NonFinite(player.name, what)

    def _on_non_finite(self, bad: _NonFinite) -> None:
        last = ckpt.list_checkpoints(self.run_dir)
        where = (
            f"the last good checkpoint ({last[-1].stem}) is intact"
            if last
            else "no checkpoint was written yet"
        )
        on_nan = self.options.on_nan
        if on_nan == "rollback" and last and self.rollbacks < MAX_ROLLBACKS:
            rollbacks = self.rollbacks + 1
            self.restore(ckpt.latest_checkpoint(self.run_dir))
            self.rollbacks, self.lr_scale = rollbacks, self.lr_scale * 0.5
            self.metrics.truncate(self.step)
            print(
                f"vegan: non-finite {bad.what} in player '{bad.player}'; rolled back to step "
                f"{self.step} with learning rates x{self.lr_scale:g}",
                flush=True,
            )
            return
        if on_nan != "rollback":
            fix = "lower the learning rate or set on_nan=rollback"
        elif not last:
            fix = "no checkpoint to roll back to; lower the learning rate"
        else:
            fix = f"gave up after {self.rollbacks} rollbacks; lower the learning rate"
        raise DivergenceError(
            f"non-finite {bad.what} in player '{bad.player}' at step {self.step + 1}; {where}; "
            f"{fix}"
        )

    def _log(self, sums: dict[str, torch.Tensor], count: int, seconds: float, bar) -> None:
        record: dict[str, float] = {
            "step": self.step,
            "epoch": round(self.step / self.per_epoch, 4),
        }
        if sums:
            keys = list(sums)
            stacked = torch.stack([sums[k].float() for k in keys]).div(max(count, 1))
            values = self.dist.mean(stacked).tolist()  # averaged over ranks
            record.update({k: v for k, v in zip(keys, values)})
        for player, opt in zip(self.players, self.optimizers):
            record[f"{player.name}/lr"] = opt.param_groups[0]["lr"]
        record["steps_per_s"] = count / seconds if seconds > 0 else 0.0
        record["time"] = round(self.elapsed(), 3)
        self.metrics.append(record)
        self.last = record
        losses = {k: v for k, v in record.items() if "/" in k and not k.endswith("/lr")}
        bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
        self._call("on_log", record)

    def _epoch_end(self) -> None:
        self._collect("on_epoch_end", float(self.step // self.per_epoch))

    def _collect(self, method: str, epoch: float) -> None:
        """Call ``method`` of every callback in order, gathering what each returns.

        Numbers become a line of metrics.jsonl (and an ``on_log`` call);
        paths are pictures, which the later callbacks see in ``run.pictures``.
        """
        self._pictures = {}
        try:
            for cb in self.callbacks if self.dist.is_main else ():
                out = self._call_one(cb, method)
                if not out:
                    continue
                numbers = {k: v for k, v in out.items() if not isinstance(v, (str, Path))}
                self._pictures.update({k: Path(v) for k, v in out.items() if k not in numbers})
                if numbers:
                    record = {"step": self.step, "epoch": epoch, **numbers}
                    self.metrics.append(record)
                    self._call("on_log", record)
        finally:
            self._pictures = {}

    def view(self) -> RunView:
        """The run's values as callbacks see them."""
        return RunView(
            run_dir=self.run_dir,
            model=self.model,
            config=self.cfg,
            options=self.options,
            step=self.step,
            total=self.total,
            epoch=self.step / self.per_epoch,
            seconds=self.elapsed(),
            device=self.device,
            data=self.x,
            is_main=self.dist.is_main,
            pictures=dict(self._pictures),
        )

    def _call(self, method: str, *args: Any) -> None:
        if self.dist.is_main:
            for cb in self.callbacks:
                self._call_one(cb, method, *args)

    def _call_one(self, cb: Any, method: str, *args: Any) -> Any:
        hook = getattr(cb, method, None)
        if hook is None:
            return None
        try:
            return hook(self.view(), *args)
        except VeganError:
            raise
        except Exception as exc:
            if method != "on_checkpoint":  # a checkpoint is on disk then
                self.save_quietly()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise CallbackError(
                f"callback '{callback_name(cb)}' failed in {method} at step {self.step}: "
                f"{type(exc).__name__}" + (f": {first}" if first else "") + "; a checkpoint "
                f"is in '{self.run_dir}'; fix the callback and continue with {flag('resume')}"
            ) from exc

    def _stopped(self) -> None:
        """``on_stop`` of every callback, on the way out of a run that ends early.

        Called while the run's own exception propagates: a failing hook is
        ignored, so the user sees why the run ended, not a second error.
        """
        if not self.dist.is_main:
            return
        for cb in self.callbacks:
            hook = getattr(cb, "on_stop", None)
            if hook is not None:
                try:
                    hook(self.view())
                except Exception:  # see the docstring
                    pass

    def save_quietly(self) -> None:
        """Write a checkpoint without calling the callbacks (one of them just failed)."""
        callbacks, self.callbacks = self.callbacks, []
        try:
            self.save()
        finally:
            self.callbacks = callbacks


class _NonFinite(Exception):
    def __init__(self, player: str, what: str) -> None:
        super().__init__(f"{what} of {player}")
        self.player, self.what = player, what


#: Seconds between the one-line summaries printed when stderr is not a terminal.
SUMMARY_SECONDS = 30.0


def _progress(total: int, initial: int, enabled: bool):
    """The run's progress display: a tqdm bar on a terminal, summary lines elsewhere.

    On a terminal (or in a notebook) a tqdm bar shows the steps, the speed,
    the time left and the current losses. When stderr is a file or a pipe (a
    log file, a batch job) a bar's carriage-return redraws would fill it with
    partial lines, so :class:`ProgressLines` prints a whole line every
    :data:`SUMMARY_SECONDS` instead.
    """
    import sys

    if enabled and not _interactive(sys.stderr):
        return ProgressLines(total, initial, stream=sys.stderr)
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        disable=not enabled,
        unit="step",
        dynamic_ncols=True,
        leave=True,
        smoothing=0.05,
        mininterval=0.5,
    )


def _interactive(stream) -> bool:
    """Whether ``stream`` redraws in place: a terminal, or a notebook's output."""
    import sys

    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return "ipykernel" in sys.modules


class ProgressLines:
    """Progress as whole lines: ``vegan: step 1200/5000 (24%) 41.2 step/s, 1:32 left, ...``.

    The same calls as the tqdm bar the loop uses (``update``,
    ``set_postfix``, ``close``). A line is printed at most every ``every``
    seconds (:data:`SUMMARY_SECONDS` by default), and a last one on close.
    """

    def __init__(self, total: int, initial: int = 0, stream=None, every: float | None = None):
        import sys

        self.total, self.n, self.start = total, initial, initial
        self.stream = stream if stream is not None else sys.stderr
        self.every = SUMMARY_SECONDS if every is None else every
        self.postfix: dict[str, str] = {}
        self.t0 = self.t_line = time.perf_counter()
        self.closed = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` steps; print a line when ``every`` seconds passed since the last."""
        self.n += n
        now = time.perf_counter()
        if now - self.t_line >= self.every and self.n < self.total:
            self.t_line = now
            self._print(now)

    def set_postfix(self, values: dict[str, Any], refresh: bool = False) -> None:
        """The current losses shown at the end of the next line."""
        self.postfix = {str(k): str(v) for k, v in values.items()}

    def close(self) -> None:
        """Print the last line (once)."""
        if not self.closed:
            self.closed = True
            self._print(time.perf_counter())

    def line(self, now: float | None = None) -> str:
        """The summary line of the progress so far."""
        now = time.perf_counter() if now is None else now
        seconds = max(now - self.t0, 1e-9)
        done = self.n - self.start
        rate = done / seconds
        pct = 100.0 * self.n / self.total if self.total else 100.0
        parts = [f"vegan: step {self.n}/{self.total} ({pct:.0f}%)"]
        if done:
            left = (self.total - self.n) / rate if rate > 0 else 0.0
            parts.append(f"{rate:.3g} step/s, {_clock(seconds)} elapsed, {_clock(left)} left")
        losses = ", ".join(f"{k} {v}" for k, v in self.postfix.items())
        return ", ".join(parts) + (f"; {losses}" if losses else "")

    def _print(self, now: float) -> None:
        try:
            print(self.line(now), file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed or full log must not stop training
            pass


def _clock(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss``."""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


__all__ = ["Trainer", "TrainResult", "Interrupted", "ProgressLines"]
