"""The public face: :func:`fit` trains with the built-in evaluation plugged in; :func:`load`.

``vegan.fit`` is :func:`vegan.train.api.fit` with the periodic evaluation
(:class:`vegan.eval.quick.QuickEval`, every ``eval_every`` epochs) and the
experiment trackers of the run option ``log_to``
(:class:`vegan.track.Trackers`) before the user's callbacks: training
itself knows nothing of evaluation or trackers, and this module, above
them, joins them. ``vegan train`` calls it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from vegan.eval.quick import QuickEval
from vegan.track import Trackers
from vegan.train import api as _train
from vegan.train.api import load


@functools.wraps(_train.fit)
def fit(*args: Any, callbacks: Sequence[Any] = (), **kwargs: Any):
    return _train.fit(*args, callbacks=[QuickEval(), Trackers(), *callbacks], **kwargs)


__all__ = ["fit", "load"]
