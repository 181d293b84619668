"""The one training loop: every recipe is a list of players, and this runs them.

Per iteration (one "step"): draw a batch; for each player in order, take
``player.steps`` optimizer steps on its loss (the first on the iteration's
batch, later ones on fresh batches); then log, draw pictures and checkpoint
on schedule. An epoch is ``len(data) // batch_size`` iterations.

Side effects are all visible here: ``metrics.jsonl`` every ``log_every``
steps, sample grids every ``samples_every`` epochs, checkpoints every epoch
(or ``checkpoint_every`` steps) and at the end. A non-finite loss or gradient
stops the run at the step it appears, naming the player, and leaves the last
good checkpoint intact (or, with ``on_nan = "rollback"``, reloads it and
halves the learning rates). Ctrl-C finishes the current step, writes a
checkpoint and raises :class:`Interrupted`.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vegan.errors import DivergenceError, OutputError, VeganError
from vegan.models.config import to_dict
from vegan.nets.layout import use_channels_last
from vegan.train import checkpoint as ckpt
from vegan.train.batches import BatchStream
from vegan.train.distributed import current
from vegan.train.players import make_optimizer
from vegan.train.schedule import lr_factor

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
        Built by a recipe; ``model.players`` is the game.
    x : torch.Tensor
        Training data (n, ...), float32; moved to ``device`` once.
    run_dir : Path
        Output folder (already prepared, see :mod:`vegan.train.rundir`).
    cfg : Config
        The recipe's resolved options (batch size, length, cadence, seed).
    x_show : torch.Tensor, optional
        Held-out inputs for the reconstruction pictures.
    """

    def __init__(
        self,
        model,
        x: torch.Tensor,
        run_dir: Path,
        cfg: Any,
        device: torch.device,
        x_show: torch.Tensor | None = None,
        progress: bool = True,
        reference: Any = None,
    ) -> None:
        self.model, self.cfg, self.device = model.to(device), cfg, device
        if getattr(cfg, "channels_last", False):
            use_channels_last(model, device)  # before the optimizers make their state
        self.run_dir = Path(run_dir)
        self.x = x.to(device, torch.float32)
        self.dist = current()
        self.stream = BatchStream(
            self.x, cfg.batch_size, cfg.seed, rank=self.dist.rank, world=self.dist.world
        )
        self.players = model.players
        self.optimizers = [make_optimizer(p, cfg.weight_decay) for p in self.players]
        self.per_epoch = self.stream.per_epoch
        self.total = cfg.steps if cfg.steps > 0 else cfg.epochs * self.per_epoch
        self.step, self.lr_scale, self.rollbacks = 0, 1.0, 0
        self.progress = progress
        self.x_show = (x_show if x_show is not None else x[:32])[:32].to(device, torch.float32)
        self.reference = reference
        self.grid_gen_seed = cfg.seed + 7919  # fixed codes: grids show the same z every epoch
        # A signal is *seen* by the handler at any moment; the run *stops* on it
        # (``_stop_signal``) only at the point of a step where every rank agrees,
        # so that no rank enters a collective the others skip.
        self._signal_seen: int | None = None
        self._stop_signal: int | None = None
        self.elapsed_before = 0.0

    # ------------------------------------------------------------------ state
    def state_tensors_and_json(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        optim_meta = {}
        for player, opt in zip(self.players, self.optimizers):
            t, meta = ckpt.optimizer_to_flat(player.name, opt)
            tensors.update(t)
            optim_meta[player.name] = meta
        rng = {"torch": ckpt.b64(torch.get_rng_state())}
        if self.device.type == "cuda":
            rng["cuda"] = [ckpt.b64(s) for s in torch.cuda.get_rng_state_all()]
        state = {
            "epoch": self.step / self.per_epoch,
            "players": [p.name for p in self.players],
            "optimizers": optim_meta,
            "rng": rng,
            "sampler": self.stream.state(),
            "lr_scale": self.lr_scale,
            "rollbacks": self.rollbacks,
            "seconds": self.elapsed_before + self._elapsed(),
            "recipe": self.model.recipe,
            "config": to_dict(self.cfg),
        }
        return tensors, state

    def save(self) -> Path | None:
        if not self.dist.is_main:  # rank 0 alone writes
            return None
        tensors, state = self.state_tensors_and_json()
        return ckpt.save_checkpoint(
            self.run_dir, self.step, tensors, state, keep=self.cfg.keep_checkpoints
        )

    def restore(self, c: ckpt.Checkpoint) -> None:
        """Load model, optimizers, RNG and sampler from checkpoint ``c`` (validated)."""
        s = c.state
        if s.get("recipe") != self.model.recipe:
            raise ckpt.CheckpointError(
                f"checkpoint '{c.path}' is from recipe '{s.get('recipe')}', not "
                f"'{self.model.recipe}'"
            )
        if s.get("players") != [p.name for p in self.players]:
            raise ckpt.CheckpointError(
                f"checkpoint '{c.path}' has players {s.get('players')}, "
                f"this recipe has {[p.name for p in self.players]}"
            )
        ckpt.load_model_tensors(self.model, c.tensors)
        optim_meta = s.get("optimizers")
        if not isinstance(optim_meta, dict):
            raise ckpt.CheckpointError(f"checkpoint '{c.path}' has no optimizer state")
        for player, opt in zip(self.players, self.optimizers):
            ckpt.optimizer_from_flat(player.name, opt, c.tensors, optim_meta.get(player.name))
        rng = s.get("rng")
        if not isinstance(rng, dict):
            raise ckpt.CheckpointError(f"checkpoint '{c.path}' has no RNG state")
        try:
            torch.set_rng_state(ckpt.unb64(rng.get("torch")))
            if self.device.type == "cuda" and isinstance(rng.get("cuda"), list):
                torch.cuda.set_rng_state_all([ckpt.unb64(r) for r in rng["cuda"]])
        except RuntimeError as exc:
            raise ckpt.CheckpointError(f"checkpoint '{c.path}' has an invalid RNG state") from exc
        self.stream.load(s.get("sampler"))
        lr_scale, rollbacks = s.get("lr_scale", 1.0), s.get("rollbacks", 0)
        if (
            not isinstance(lr_scale, int | float)
            or not 0 < lr_scale <= 1
            or not isinstance(rollbacks, int)
        ):
            raise ckpt.CheckpointError(f"checkpoint '{c.path}' has an invalid learning-rate state")
        self.step, self.lr_scale, self.rollbacks = c.step, float(lr_scale), rollbacks
        secs = s.get("seconds", 0.0)
        self.elapsed_before = float(secs) if isinstance(secs, int | float) else 0.0

    # ------------------------------------------------------------------ loop
    def _elapsed(self) -> float:
        return time.perf_counter() - self._t0 if hasattr(self, "_t0") else 0.0

    def _set_lr(self) -> None:
        f = self.lr_scale * lr_factor(
            self.cfg.schedule, self.step / self.per_epoch, self.step / max(1, self.total)
        )
        for player, opt in zip(self.players, self.optimizers):
            for group in opt.param_groups:
                group["lr"] = player.lr * f

    def _check_finite(self, player, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        """One host sync per player step: the loss and the gradient norm must be finite."""
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        probe = loss.detach()
        if grads:
            probe = probe + torch.stack(torch._foreach_norm(grads)).sum()
        if not bool(torch.isfinite(probe)):
            what = "loss" if not torch.isfinite(loss.detach()) else "gradient"
            raise _NonFinite(player.name, what)

    def train_step(self) -> dict[str, torch.Tensor]:
        """One iteration of every player. Returns detached loss terms by 'player/term'."""
        self._set_lr()
        cache: dict[str, Any] = {}
        x = self.stream.next()
        logged: dict[str, torch.Tensor] = {}
        for player, opt in zip(self.players, self.optimizers):
            for k in range(player.steps_at(self.step)):
                xb = (x if k == 0 else self.stream.next()) if player.uses_data else None
                opt.zero_grad(set_to_none=True)
                loss, terms = player.loss(xb, cache)
                loss.backward()
                self.dist.average_grads(opt.param_groups[0]["params"])
                self._check_finite(player, loss, opt)
                opt.step()
                if player.after_step is not None:
                    player.after_step()
            logged[f"{player.name}/loss"] = loss.detach()
            for name, value in terms.items():
                logged[f"{player.name}/{name}"] = value.detach()
        return logged

    def fit(self, resume: bool = False) -> TrainResult:
        """Train up to ``self.total`` steps (resuming from the last checkpoint if asked)."""
        if resume:
            last = ckpt.latest_checkpoint(self.run_dir)
            if last is not None:
                self.restore(last)
        self._truncate_metrics()
        self._t0 = time.perf_counter()
        handlers = self._install_signals()
        bar = _progress(self.total, self.step, self.progress and self.dist.is_main)
        sums: dict[str, torch.Tensor] = {}
        count, t_log = 0, time.perf_counter()
        try:
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
                if self._should_stop_early():
                    self.total = self.step  # a time budget ends the run here (logged, saved)
                if (
                    self.step % self.cfg.log_every == 0
                    or self.step == self.total
                    or self._stop_signal is not None
                ):
                    now = time.perf_counter()
                    record = self._log(sums, count, now - t_log)
                    bar.set_postfix(
                        {
                            k.split("/")[-1]: f"{v:.4g}"
                            for k, v in record.items()
                            if "/" in k and not k.endswith("/lr")
                        },
                        refresh=False,
                    )
                    sums, count, t_log = {}, 0, now
                end_of_epoch = self.step % self.per_epoch == 0
                if end_of_epoch:
                    self._epoch_end()
                if (self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0) or (
                    not self.cfg.checkpoint_every and end_of_epoch
                ):
                    self.save()
                if self._stop_signal is not None:
                    self.save()
                    raise Interrupted(
                        f"training interrupted at step {self.step}/{self.total}; checkpoint "
                        f"written to '{self.run_dir}'; continue with the same command and --resume"
                    )
            if self.dist.is_main:
                last = ckpt.list_checkpoints(self.run_dir)
                if not last or last[-1].name != f"step-{self.step:08d}.json":
                    self.save()
                self._pictures(final=True)
        finally:
            bar.close()
            if self._stop_signal is not None and self.dist.active:
                # Copies of the signal are still on their way (the terminal's and
                # torchrun's): ignore them while this process winds down.
                handlers = [(sig, signal.SIG_IGN) for sig, _ in handlers]
            self._restore_signals(handlers)
        return TrainResult(
            self.run_dir,
            self.step,
            self.step / self.per_epoch,
            self.elapsed_before + self._elapsed(),
            self._last_record,
        )

    # ------------------------------------------------------------- helpers
    _last_record: dict[str, float] = {}

    def _should_stop_early(self) -> bool:
        """Time budget reached (or, in a distributed run, Ctrl-C on any rank).

        Ranks agree through one tiny all-reduce so that they stop at the same step.
        """
        budget = self.cfg.time_budget
        over = bool(budget) and self.elapsed_before + self._elapsed() >= budget
        seen = self._signal_seen  # read once: the handler may set it at any moment
        if not self.dist.active:
            self._stop_signal = seen
            return over
        flags = self.dist.mean(torch.tensor([float(over), float(seen is not None)]))
        if flags[1] > 0:
            self._stop_signal = seen or signal.SIGINT
        return bool(flags[0] > 0)

    def _on_non_finite(self, bad: _NonFinite) -> None:
        last = ckpt.list_checkpoints(self.run_dir)
        where = (
            f"the last good checkpoint ({last[-1].stem}) is intact"
            if last
            else "no checkpoint was written yet"
        )
        if self.cfg.on_nan == "rollback" and last and self.rollbacks < MAX_ROLLBACKS:
            c = ckpt.latest_checkpoint(self.run_dir)
            rollbacks = self.rollbacks + 1
            self.restore(c)
            self.rollbacks, self.lr_scale = rollbacks, self.lr_scale * 0.5
            self._truncate_metrics()
            print(
                f"vegan: non-finite {bad.what} in player '{bad.player}'; rolled back to step "
                f"{self.step} with learning rates x{self.lr_scale:g}",
                flush=True,
            )
            return
        if self.cfg.on_nan != "rollback":
            fix = "lower the learning rate or set on_nan=rollback"
        elif not last:
            fix = "no checkpoint to roll back to; lower the learning rate"
        else:
            fix = f"gave up after {self.rollbacks} rollbacks; lower the learning rate"
        raise DivergenceError(
            f"non-finite {bad.what} in player '{bad.player}' at step {self.step + 1}; {where}; "
            f"{fix}"
        )

    def _log(self, sums: dict[str, torch.Tensor], count: int, seconds: float) -> dict[str, float]:
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
        record["time"] = round(self.elapsed_before + self._elapsed(), 3)
        self._append_metrics(record)
        self._last_record = record
        return record

    def _append_metrics(self, record: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        path = self.run_dir / "metrics.jsonl"
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise OutputError(
                f"could not write '{path}': {exc.strerror or exc}; free space or check the "
                "folder, then continue with --resume"
            ) from exc

    def _truncate_metrics(self) -> None:
        """Drop logged lines beyond the current step (they are about to be redone)."""
        path = self.run_dir / "metrics.jsonl"
        if not self.dist.is_main or not path.exists():
            return
        keep = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:  # a torn or corrupted line is dropped
                if json.loads(line).get("step", 0) <= self.step:
                    keep.append(line)
            except (json.JSONDecodeError, AttributeError, TypeError):
                continue
        from vegan.io import atomic_write_text

        atomic_write_text(path, "".join(k + "\n" for k in keep))

    def _epoch_end(self) -> None:
        if not self.dist.is_main:
            return
        epoch = self.step // self.per_epoch
        every = self.cfg.samples_every
        if every and epoch % every == 0:
            self._pictures(epoch=epoch)
        if self.cfg.eval_every and epoch % self.cfg.eval_every == 0:
            self._quick_eval(epoch)

    def _quick_eval(self, epoch: int) -> None:
        from vegan.eval.quick import quick_metrics  # small-n metrics (evaluation issue)

        record = {"step": self.step, "epoch": float(epoch), **quick_metrics(self.model, self)}
        self._append_metrics(record)

    def _pictures(self, epoch: int | None = None, final: bool = False) -> None:
        """Sample grid from fixed codes, and inputs over reconstructions for primal recipes."""
        from vegan.plots import save_image_grid, save_samples_picture

        gen = torch.Generator().manual_seed(self.grid_gen_seed)
        n = 64 if self.x.dim() == 4 else 2000
        noise = None
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # pictures leave the training RNG alone
            samples = self.model.sample(n, generator=gen, noise=noise)
            recon = (
                self.model.reconstruct(self.x_show)
                if self.model.encoder is not None and self.x.dim() == 4
                else None
            )
        ref = self.reference
        tag = f"epoch-{epoch:04d}.png" if epoch is not None else None
        title = f"{self.model.recipe}, step {self.step}"
        targets = [self.run_dir / "samples.png"]
        if tag:
            (self.run_dir / "samples").mkdir(exist_ok=True)
            targets.append(self.run_dir / "samples" / tag)
        for t in targets:
            save_samples_picture(samples, t, reference=ref, title=title)
        if recon is not None:
            both = torch.cat([self.x_show.cpu(), recon.cpu()])
            rtargets = [self.run_dir / "reconstructions.png"]
            if tag:
                (self.run_dir / "recon").mkdir(exist_ok=True)
                rtargets.append(self.run_dir / "recon" / tag)
            for t in rtargets:
                save_image_grid(both, t, nrow=16)

    def _install_signals(self) -> list:
        if threading.current_thread() is not threading.main_thread():
            return []

        def handler(signum, frame):
            # A second Ctrl-C stops a single process at once. In a distributed
            # run a repeated signal is expected (a terminal's Ctrl-C reaches every
            # rank and torchrun forwards it again): the ranks are already agreeing
            # to stop at the end of this step, so it is ignored.
            if self._signal_seen is not None and not self.dist.active:
                raise KeyboardInterrupt
            self._signal_seen = signum

        saved = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            saved.append((sig, signal.signal(sig, handler)))
        return saved

    @staticmethod
    def _restore_signals(saved: list) -> None:
        for sig, old in saved:
            signal.signal(sig, old)


class _NonFinite(Exception):
    def __init__(self, player: str, what: str) -> None:
        super().__init__(f"{what} of {player}")
        self.player, self.what = player, what


def _progress(total: int, initial: int, enabled: bool):
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


def steps_for(cfg: Any, n: int) -> int:
    """Total steps of a run with options ``cfg`` on ``n`` training samples."""
    per_epoch = max(1, n // min(cfg.batch_size, n))
    return cfg.steps if cfg.steps > 0 else cfg.epochs * per_epoch


__all__ = ["Trainer", "TrainResult", "Interrupted", "steps_for"]
