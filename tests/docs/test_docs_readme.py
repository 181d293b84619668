"""README.md and the code agree: its commands run (with tiny settings) and its CLI table parses.

* The Python quick start runs, in quick mode (see docs/tools/codeblocks.py).
* Every ``vegan ...`` line of a bash block runs; ``make demo`` and
  ``make test`` are not run, but the ``vegan`` command behind ``make demo``
  (read from the Makefile) runs with ``--steps 1``.
* Every command of the "command line at a glance" table names a real
  subcommand, and every ``--option`` it shows exists in that subcommand's
  parser.
* Every dataset spec the README names is known to ``vegan data --list``.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    from vegan.cli import build_parser

    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("vegan's parser has no subcommands")


def _table_commands() -> list[str]:
    """The backticked ``vegan ...`` synopses of the README's tables."""
    out = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            out += [c for c in re.findall(r"`(vegan [^`]*)`", line)]
    return out


def test_readme_code_blocks_run(codeblocks, docs_env):
    blocks = codeblocks.extract(README)
    assert any(b.lang == "python" for b in blocks), "README lost its Python quick start"
    log = codeblocks.run_blocks(blocks, docs_env)
    assert any("python ok" in line for line in log)
    print("\n".join(log))


def test_readme_bash_blocks_are_make_or_vegan(codeblocks):
    """A shell line of the README is either the two make commands or a vegan command."""
    for b in codeblocks.extract(README):
        if b.lang not in ("bash", "sh", "shell"):
            continue
        for line in codeblocks._shell_lines(b.code):
            assert line.startswith(("make demo", "make test", "vegan ")), (b.where, line)


def test_make_demo_command_runs(codeblocks, docs_env, monkeypatch):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    demo = re.search(r"^demo:.*\n(?P<body>(?:\t.+\n)+)", makefile, re.M)
    assert demo, "the Makefile has no demo target"
    cmds = [
        line.strip().replace("$(BIN)/vegan", "vegan").replace("$(DEMO_OUT)", "runs/demo")
        for line in demo["body"].splitlines()
    ]
    assert cmds[0].startswith("vegan train "), cmds
    assert all(c.startswith("vegan ") for c in cmds), cmds
    # Shrunk so the test takes seconds: one step, a small evaluation without the classifier.
    shrink = {"train": " --steps 1 --no-progress", "report": " --n 100 --no-features"}
    monkeypatch.chdir(docs_env)
    for cmd in cmds:
        sub = cmd.split()[1]
        assert sub in shrink, f"update this test's shrinking for '{cmd}'"
        assert "--epochs" not in cmd and "--steps" not in cmd and "--n " not in cmd, cmd
        status, err = codeblocks.run_vegan(cmd + shrink[sub])
        assert status == 0, (cmd, err)
    assert (docs_env / "runs" / "demo" / "samples.png").is_file()
    assert (docs_env / "runs" / "demo" / "report.html").is_file()
    readme = README.read_text(encoding="utf-8")
    assert "runs/demo" in readme and "wae-mmd" in readme.lower()
    guide = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    for cmd in cmds:
        assert f"`{cmd}`" in guide, f"docs/getting-started.md should quote the demo command `{cmd}`"


@pytest.mark.parametrize("synopsis", _table_commands())
def test_readme_cli_table_matches_the_parser(synopsis):
    subs = _subparsers()
    words = shlex.split(synopsis.replace("\\|", "|"))
    command = words[1]
    assert command in subs, f"README names 'vegan {command}', which does not exist"
    known = {s for a in subs[command]._actions for s in a.option_strings}
    for flag in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", synopsis):
        assert flag in known, (
            f"README shows '{flag}' for 'vegan {command}'; its options: {sorted(known)}"
        )


def test_readme_dataset_specs_exist():
    from vegan.data import list_datasets

    names = {name for name, _ in list_datasets()}
    readme = README.read_text(encoding="utf-8")
    for spec in re.findall(r"`(mnist(?:-full)?|toy:[a-z0-9]+)`", readme):
        assert spec in names, f"README names dataset '{spec}', not in 'vegan data --list'"


def test_readme_points_to_the_docs():
    readme = README.read_text(encoding="utf-8").lower()
    assert "docs/getting-started.md" in readme and "mkdocs" in readme
