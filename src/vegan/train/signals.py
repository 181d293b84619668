"""Ctrl-C and SIGTERM: seen at any moment, acted on at a step where every process agrees.

The handler only notes the signal. Once per step the loop asks
:meth:`StopSignals.agree`, which in a distributed run is one small
all-reduce: every rank then stops at the same step (a rank that acted alone
would skip a collective the others enter). A second Ctrl-C stops a single
process at once; in a distributed run repeated signals are expected (a
terminal sends Ctrl-C to every process and torchrun forwards it again) and
are ignored, also while the processes write their checkpoint and leave.
"""

from __future__ import annotations

import signal
import threading

import torch


class StopSignals:
    """The stop requests of one training run (SIGINT and SIGTERM)."""

    def __init__(self, dist) -> None:
        self.dist = dist
        self.seen: int | None = None  # set by the handler, at any moment
        self.stop: int | None = None  # set at a step where every rank agrees
        self._saved: list = []

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, frame):
            if self.seen is not None and not self.dist.active:
                raise KeyboardInterrupt  # a second Ctrl-C: stop now
            self.seen = signum

        sigs = (signal.SIGINT, signal.SIGTERM)
        self._saved = [(sig, signal.signal(sig, handler)) for sig in sigs]

    def agree(self, over_budget: bool) -> bool:
        """Whether every rank is past the time budget; sets :attr:`stop` when a signal came."""
        seen = self.seen  # read once: the handler may set it at any moment
        if not self.dist.active:
            self.stop = seen
            return over_budget
        flags = self.dist.mean(torch.tensor([float(over_budget), float(seen is not None)]))
        if flags[1] > 0:
            self.stop = seen or signal.SIGINT
        return bool(flags[0] > 0)

    def restore(self) -> None:
        """Put back the previous handlers (a stopped distributed run ignores the signals)."""
        latch = self.stop is not None and self.dist.active
        for sig, old in self._saved:
            signal.signal(sig, signal.SIG_IGN if latch else old)
        self._saved = []
