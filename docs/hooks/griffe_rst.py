"""A griffe extension: render the reST markup of vegan's docstrings as Markdown.

vegan's docstrings follow POT's style (NumPy sections, Sphinx roles such as
``:func:`wasserstein``` and ``.. math::`` blocks). mkdocstrings renders
docstrings as Markdown, where those roles would show literally. This
extension rewrites them while the API reference is collected (the source is
untouched):

* ``:func:`~vegan.ot.exact.exact_ot``` and the other object roles become
  inline code with the short name (``exact_ot``);
* ``:math:`x^2``` becomes inline math ``\\(x^2\\)``;
* a ``.. math::`` block becomes a display-math block.

Enabled in mkdocs.yml under the python handler's ``extensions``.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):`(~?)([^`<]+?)(?:\s*<[^>]+>)?`"
)
MATH_ROLE = re.compile(r":math:`([^`]+)`")


def _role(m: re.Match) -> str:
    target = m[2].strip()
    short = target.rsplit(".", 1)[-1] if m[1] == "~" else target
    return f"`{short}`"


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith(".. math::"):
            indent = line[: len(line) - len(stripped)]
            inline = stripped[len(".. math::") :].strip()
            body = [inline] if inline else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(indent + " ")):
                body.append(lines[i].strip())
                i += 1
            while body and not body[-1]:
                body.pop()
            out += [f"{indent}\\[", *(f"{indent}{b}" for b in body if b), f"{indent}\\]", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def convert(text: str) -> str:
    """The docstring ``text`` with its reST roles and math blocks turned into Markdown."""
    text = _math_blocks(text)
    text = MATH_ROLE.sub(lambda m: f"\\({m[1]}\\)", text)
    return ROLE.sub(_role, text)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring as it is loaded (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
