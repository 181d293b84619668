"""``metrics.jsonl``: one JSON object per logged step, appended by the main process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vegan.errors import OutputError, flag
from vegan.io import atomic_write_text

FILE = "metrics.jsonl"


class MetricsLog:
    """The metrics file of a run folder (written by rank 0 only)."""

    def __init__(self, run_dir: Path, is_main: bool = True) -> None:
        self.path, self.is_main = Path(run_dir) / FILE, is_main

    def append(self, record: dict[str, Any]) -> None:
        if not self.is_main:
            return
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise OutputError(
                f"could not write '{self.path}': {exc.strerror or exc}; free space or check the "
                f"folder, then continue with {flag('resume')}"
            ) from exc

    def truncate(self, step: int) -> None:
        """Drop lines beyond ``step`` (they are about to be redone); torn lines are dropped."""
        if not self.is_main or not self.path.exists():
            return
        keep = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    keep.append(line)
            except (json.JSONDecodeError, AttributeError, TypeError):
                continue
        atomic_write_text(self.path, "".join(k + "\n" for k in keep))
