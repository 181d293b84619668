"""The report as Markdown, with its pictures as PNG files beside it."""

from __future__ import annotations

import datetime as _dt

from vegan.eval.names import METRICS
from vegan.eval.report_model import RunReport, fmt_seconds, notes, options_text, table_model


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def render_markdown(reports: list[RunReport], files_dir: str, title: str = "vegan report"):
    """(Markdown text, {relative file name: PNG bytes}) of the report."""
    from vegan import __version__

    lines = [
        f"# {title}",
        "",
        f"vegan {__version__}, {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
        f"{len(reports)} run(s).",
        "",
    ]
    for note in notes(reports):
        lines += [f"> {note}", ""]
    files: dict[str, bytes] = {}
    for t in table_model(reports):
        lines += [f"### {t['title']}", ""]
        head = ["run", "recipe"] + [METRICS[c].label for c in t["columns"]]
        lines.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
        lines.append("|" + "---|" * 2 + "---:|" * len(t["columns"]))
        for row in t["rows"] + t["references"]:
            ref = row["recipe"] == "reference"
            cells = [(f"**{c['text']}** ★" if c["best"] else c["text"]) for c in row["cells"]]
            name = f"*{row['name']}*" if ref else row["name"]
            lines.append(
                "| " + " | ".join(_md_escape(s) for s in [name, row["recipe"], *cells]) + " |"
            )
        lines.append("")
    lines += [
        "★ best value per column among runs on the same data (sharpness: closest to "
        "the data's). Italic rows are references.",
        "",
    ]
    for r in reports:
        ev = r.evaluation
        lines += [
            f"## {r.name} — {ev.recipe}",
            "",
            r.summary,
            "",
            f"data `{ev.dataset}`, step {ev.step}, training time "
            f"{fmt_seconds(r.train_seconds)}, evaluated on n = {ev.n} held-out samples, "
            f"seed {ev.seed}; folder `{r.path}`",
            "",
            f"options: {options_text(r.info)}",
            "",
        ]
        for k, v in ev.skipped.items():
            lines.append(f"- skipped {k}: {v}")
        if ev.skipped:
            lines.append("")
        for f in r.figures:
            fname = f"{_slug(r.name)}-{f.key}.png"
            files[fname] = f.png
            lines += [f"![{f.caption}]({files_dir}/{fname})", "", f"*{f.caption}*", ""]
    return "\n".join(lines) + "\n", files


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in s).strip("-") or "run"
