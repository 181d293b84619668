"""The report as one self-contained HTML page (images embedded, style inline)."""

from __future__ import annotations

import base64
import datetime as _dt
import html

from vegan.eval.names import METRICS
from vegan.eval.report_model import Figure, RunReport, fmt_seconds, notes, options_text, table_model

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;
max-width:1200px;padding:0 16px;color:#222;line-height:1.4}
h1{margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:36px}
.meta{color:#666;font-size:13px}.note{background:#fff8e1;border-left:4px solid #f0b400;
padding:8px 12px;font-size:13px}
table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f4f4f4;white-space:normal;vertical-align:bottom}.wide{overflow-x:auto}td.name,th.name{text-align:left}
td.best{font-weight:bold;background:#e6f4ea}td.best::after{content:" \\2605";color:#188038}
tr.ref td{color:#666;font-style:italic;background:#fafafa}
.figs{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
figure{margin:0;max-width:100%}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:12px;color:#555;max-width:560px}
ul.skip{font-size:12px;color:#666}code{font-size:12px}
"""


def _img_tag(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(fig.caption)}" '
        f'data-key="{fig.key}"><figcaption>{html.escape(fig.caption)}</figcaption></figure>'
    )


def render_html(reports: list[RunReport], title: str = "vegan report") -> str:
    """The report as one self-contained HTML page."""
    from vegan import __version__

    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">vegan {e(__version__)} &middot; '
        f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} &middot; {len(reports)} run(s)</p>",
        *[f'<p class="note">{e(note)}</p>' for note in notes(reports)],
    ]
    for t in table_model(reports):
        parts.append(f'<h3>{e(t["title"])}</h3><div class="wide"><table><thead><tr>')
        parts.append('<th class="name">run</th><th class="name">recipe</th>')
        parts += [f"<th>{e(METRICS[c].label)}</th>" for c in t["columns"]]
        parts.append("</tr></thead><tbody>")
        for row in t["rows"] + t["references"]:
            cls = ' class="ref"' if row["recipe"] == "reference" else ""
            parts.append(
                f'<tr{cls}><td class="name">{e(row["name"])}</td>'
                f'<td class="name">{e(row["recipe"])}</td>'
            )
            for c in row["cells"]:
                parts.append(
                    f'<td class="best">{e(c["text"])}</td>'
                    if c["best"]
                    else f"<td>{e(c['text'])}</td>"
                )
            parts.append("</tr>")
        parts.append("</tbody></table></div>")
    parts.append(
        '<p class="meta">&#9733; best value per column among runs on the same data '
        "(sharpness: closest to the data's). Rows in grey italics are references.</p>"
    )
    for r in reports:
        ev = r.evaluation
        parts.append(f'<h2 id="{e(r.name)}">{e(r.name)} &mdash; {e(ev.recipe)}</h2>')
        parts.append(
            f'<p class="meta">{e(r.summary)}<br>data <code>{e(ev.dataset)}</code>, '
            f"step {e(str(ev.step))}, training time {fmt_seconds(r.train_seconds)}, "
            f"evaluated on n = {ev.n} held-out samples, seed {ev.seed} "
            f"({ev.seconds:.0f} s); folder <code>{e(str(r.path))}</code></p>"
        )
        parts.append(f'<p class="meta">options: {e(options_text(r.info))}</p>')
        if ev.skipped:
            parts.append(
                '<ul class="skip">'
                + "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in ev.skipped.items())
                + "</ul>"
            )
        parts.append('<div class="figs">')
        parts += [_img_tag(f) for f in r.figures]
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
