"""Pages that other issues write, stood in for until they exist.

``theory.md`` (the theory issue), ``distributed.md`` (the scale-out
issue) and ``reliability.md`` (the reliability issue) are in the navigation. Until their authors commit them, this hook
adds an in-memory page that says so, so that ``mkdocs build --strict``
passes without a stub file on disk. Once the real file exists the hook does
nothing.
"""

from __future__ import annotations

from mkdocs.structure.files import File

PENDING = {
    "theory.md": (
        "Theory",
        "The paper's claims checked by running code: Theorem 1, Remark 1, "
        "Proposition 2, the primal-versus-dual study and why VAE samples are "
        "blurry. Each is one command: `vegan experiment NAME --out DIR` "
        "(`vegan experiment --help` lists them).",
    ),
    "distributed.md": (
        "Running distributed",
        "Multi-process and multi-node training with `torchrun`: "
        "`torchrun --nproc_per_node 2 -m vegan train ...` runs `vegan train` data-parallel.",
    ),
    "reliability.md": (
        "Reliability",
        "How vegan answers bad input, crashes, divergence and untrusted files, "
        "with the counts of the tests that prove it.",
    ),
}


def on_files(files, config):  # MkDocs hook
    for name, (title, text) in PENDING.items():
        if files.get_file_from_path(name) is None:
            content = f'# {title}\n\n!!! note "This page is being written"\n\n    {text}\n'
            files.append(File.generated(config, name, content=content))
    return files
