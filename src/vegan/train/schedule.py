"""Learning-rate schedules as multipliers of each player's base rate.

A schedule is a pure function of the training position, so resuming needs
no scheduler state: the rate at step s is the same in every run.
"""

from __future__ import annotations

import math


def lr_factor(schedule: str, epoch: float, frac: float) -> float:
    """Multiplier of the base learning rate.

    Parameters
    ----------
    schedule : {"constant", "wae", "cosine"}
        ``wae`` is the WAE code's "manual" schedule: divide by 2 at epoch 30,
        by 5 more at epoch 50 and by 10 more at epoch 100. ``cosine`` decays
        from 1 to 0 over the run.
    epoch : float
        Epochs completed (fractional).
    frac : float
        Fraction of the run completed, in [0, 1].
    """
    if schedule == "wae":
        f = 1.0
        if epoch >= 30:
            f /= 2.0
        if epoch >= 50:
            f /= 5.0
        if epoch >= 100:
            f /= 10.0
        return f
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(max(frac, 0.0), 1.0)))
    return 1.0
