"""Extract and run the code blocks of the documentation (used by tests/docs).

Every fenced block of a Markdown page is run, in page order, in one
temporary folder per page:

* ```` ```python ```` blocks run in one namespace shared by the page (a page
  reads top to bottom like a notebook);
* ```` ```bash ```` blocks whose commands all start with ``vegan `` run each
  command through ``vegan.cli.main`` (in-process, so fast) and must exit 0;
  a bash block made of other commands (``pip``, ``make``, ``torchrun``...)
  is shown, not run;
* a block of any language preceded by ``<!-- file: NAME -->`` is written to
  ``NAME`` in the page's folder (a TOML config that a later command reads).

An HTML comment on the line before a block changes that:

* ``<!-- skip: REASON -->`` - never run (a GPU, ``torchrun``, a download);
* ``<!-- slow -->`` - run only by the slow docs test (``pytest -m slow``);
* ``<!-- expect-error -->`` - a bash block whose commands must exit 2 (a
  documented error message).

Quick mode (``VEGAN_DOCS_QUICK=1``, what the tests use) shrinks training so a
page runs in seconds; the page still shows the real budget. The rewrites are
textual and stated here so nobody is surprised:

* ``--epochs E`` / ``epochs=E``  ->  ``--steps S`` / ``steps=S`` with
  S = min(4, ceil(E / 10));
* ``--steps N`` / ``steps=N``    ->  min(4, ceil(N / 20)) (so 30 < 60 stays true);
* ``--budget M`` (``vegan zoo``)  ->  ``--budget 0.02``;
* on ``vegan eval`` / ``report`` / ``zoo`` lines, ``--n N``  ->  ``--n min(N, 256)``,
  and ``--n 256`` is added when absent; on a line calling ``evaluate(`` or
  ``evaluate_model(``, ``n=N``  ->  ``n=min(N, 256)``;
* ``vegan experiment NAME ...``  ->  ``--quick`` added (its under-a-minute setting).

Run a page by hand::

    VEGAN_DOCS_QUICK=1 python docs/tools/codeblocks.py docs/getting-started.md
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shlex
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)[^\n]*$")
MARKER = re.compile(
    r"^\s*<!--\s*(?P<kind>skip|slow|expect-error|file)\s*(?::\s*(?P<arg>.*?))?\s*-->\s*$"
)


@dataclass
class Block:
    """One fenced code block of a page."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str = ""  # skip, slow, expect-error, file or ""
    arg: str = ""  # the marker's argument (skip reason, file name)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def vegan_commands(self) -> list[str] | None:
        """The ``vegan ...`` commands of a bash block, or None when it is not a vegan block."""
        if self.lang not in ("bash", "sh", "shell", "console"):
            return None
        commands = _shell_lines(self.code)
        if not commands or not all(c.startswith("vegan ") for c in commands):
            return None
        return commands


def _shell_lines(code: str) -> list[str]:
    """Commands of a shell block: continuation lines joined, comments and blanks dropped."""
    out, current = [], ""
    for raw in code.splitlines():
        line = raw.strip() if current else raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1].rstrip() + " "
            continue
        line = current + line
        current = ""
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        out.append(stripped.removeprefix("$ "))
    return out


def extract(path: str | Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the marker on the line before it."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m["indent"], m["fence"], m["lang"].lower()
        j = i + 1
        body = []
        while j < len(lines) and not re.match(
            rf"^{re.escape(indent)}{fence[0]}{{{len(fence)},}}\s*$", lines[j]
        ):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        marker = arg = ""
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0 and (mm := MARKER.match(lines[k])):
            marker, arg = mm["kind"], (mm["arg"] or "")
        blocks.append(
            Block(path, i + 1, lang, textwrap.dedent("\n".join(body)) + "\n", marker, arg)
        )
        i = j + 1
    return blocks


# ---------------------------------------------------------------- quick mode


def _steps_from_epochs(e: int) -> int:
    return max(1, min(4, math.ceil(e / 10)))


def _steps_from_steps(n: int) -> int:
    return max(1, min(4, math.ceil(n / 20)))


def quicken(code: str) -> str:
    """Apply the quick-mode rewrites listed in the module docstring."""
    # steps first, so that the steps an epochs rewrite produces are not shrunk again
    code = re.sub(r"--steps[ =](\d+)", lambda m: f"--steps {_steps_from_steps(int(m[1]))}", code)
    code = re.sub(r"\bsteps=(\d+)", lambda m: f"steps={_steps_from_steps(int(m[1]))}", code)
    code = re.sub(r"--epochs[ =](\d+)", lambda m: f"--steps {_steps_from_epochs(int(m[1]))}", code)
    code = re.sub(r"\bepochs=(\d+)", lambda m: f"steps={_steps_from_epochs(int(m[1]))}", code)
    code = re.sub(r"--budget[ =][\d.]+", "--budget 0.02", code)
    lines = []
    for line in code.split("\n"):
        if re.match(r"\s*vegan (eval|report|zoo) ", line):
            line = re.sub(r"--n[ =](\d+)", lambda m: f"--n {min(int(m[1]), 256)}", line)
            if not re.search(r"--n\b", line):
                command, hash_, comment = line.partition(" #")
                line = command.rstrip() + " --n 256" + (f"  #{comment}" if hash_ else "")
        if re.match(r"\s*vegan experiment ", line) and "--quick" not in line:
            command, hash_, comment = line.partition(" #")
            line = command.rstrip() + " --quick" + (f"  #{comment}" if hash_ else "")
        if re.search(r"\bevaluate(_model)?\(", line):
            line = re.sub(r"\bn=(\d+)", lambda m: f"n={min(int(m[1]), 256)}", line)
        lines.append(line)
    code = "\n".join(lines)
    return code


def quick() -> bool:
    """Whether quick mode is on (``VEGAN_DOCS_QUICK=1``)."""
    return os.environ.get("VEGAN_DOCS_QUICK", "") not in ("", "0")


# ---------------------------------------------------------------- running


class BlockFailed(AssertionError):
    """A documented block did not do what the page says."""


def run_vegan(command: str) -> tuple[int, str]:
    """Run one ``vegan ...`` command in-process; returns (exit code, stderr text)."""
    import io

    from vegan.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(shlex.split(command, comments=True)[1:])
        except SystemExit as exc:  # argparse errors and --help
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return code, err.getvalue()


def run_blocks(blocks: list[Block], workdir: Path, include_slow: bool = False) -> list[str]:
    """Run ``blocks`` in order inside ``workdir``; returns one line per block run or skipped.

    Raises :class:`BlockFailed` naming the file and line of the first block
    that fails.
    """
    import time

    log: list[str] = []
    import types

    # The page's code runs in a real module, so that dataclasses and pickling
    # find their module; it is removed afterwards.
    page_module = types.ModuleType("__docs_page__")
    sys.modules[page_module.__name__] = page_module
    namespace = page_module.__dict__
    old = Path.cwd()
    os.chdir(workdir)
    try:
        for b in blocks:
            t0 = time.perf_counter()
            code = quicken(b.code) if quick() else b.code
            if b.marker == "file":
                Path(b.arg).write_text(b.code, encoding="utf-8")
                log.append(f"{b.where}: wrote {b.arg}")
                continue
            if b.marker == "skip":
                log.append(f"{b.where}: skipped ({b.arg or 'marked skip'})")
                continue
            if b.marker == "slow" and not include_slow:
                log.append(f"{b.where}: slow, not run")
                continue
            if b.lang in ("python", "py"):
                try:
                    exec(compile(code, b.where, "exec"), namespace)  # noqa: S102 - the docs' own code
                except Exception as exc:
                    raise BlockFailed(f"{b.where}: python block raised {exc!r}") from exc
                log.append(f"{b.where}: python ok ({time.perf_counter() - t0:.1f} s)")
                continue
            commands = Block(b.path, b.line, b.lang, code).vegan_commands()
            if commands is None:
                continue
            for command in commands:
                status, err = run_vegan(command)
                want = 2 if b.marker == "expect-error" else 0
                if status != want:
                    raise BlockFailed(
                        f"{b.where}: '{command}' exited {status}, expected {want}: "
                        f"{err.strip()[-800:]}"
                    )
            log.append(
                f"{b.where}: {len(commands)} vegan command(s) ok ({time.perf_counter() - t0:.1f} s)"
            )
    finally:
        os.chdir(old)
        sys.modules.pop(page_module.__name__, None)
    return log


def main(argv: list[str]) -> int:
    import tempfile

    os.environ.setdefault("MPLBACKEND", "Agg")
    for page in [a for a in argv if not a.startswith("--")]:
        with tempfile.TemporaryDirectory() as tmp:
            for line in run_blocks(extract(page), Path(tmp), include_slow="--slow" in argv):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
