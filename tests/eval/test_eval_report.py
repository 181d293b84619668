"""`vegan report`: valid, self-contained HTML; Markdown with PNG files; headless Chromium."""

from __future__ import annotations

import base64
import html.parser
import shutil
import subprocess

import pytest

PNG = b"\x89PNG\r\n\x1a\n"


class _Page(html.parser.HTMLParser):
    """Collects images, external references and checks that tags are balanced."""

    VOID = {"meta", "img", "br", "link", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.images, self.external, self.stack, self.errors = [], [], [], []
        self.best_cells = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a)
        for key in ("src", "href"):
            if key in a and not a[key].startswith(("data:", "#")):
                self.external.append(a[key])
        if tag == "td" and a.get("class") == "best":
            self.best_cells += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


@pytest.fixture(scope="module")
def report(tmp_path_factory, mnist_run, toy_gan_run):
    from vegan.cli import main

    out = tmp_path_factory.mktemp("report") / "report.html"
    code = main(["report", str(mnist_run), str(toy_gan_run), "--out", str(out), "--n", "120"])
    assert code == 0
    return out


def test_html_is_valid_and_embeds_every_image(report):
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page = _Page()
    page.feed(text)
    page.close()
    assert not page.errors and page.stack == []
    assert page.external == []  # nothing to fetch: opens offline
    # wae-mmd: samples, reconstructions, interpolations, codes, curves; gan (toy): samples
    assert len(page.images) >= 6
    for img in page.images:
        head, _, data = img["src"].partition(",")
        assert head == "data:image/png;base64"
        assert base64.b64decode(data, validate=True).startswith(PNG)
        assert img.get("alt")
    keys = [img["data-key"] for img in page.images]
    for key in ("samples", "reconstructions", "interpolations", "codes", "curves"):
        assert key in keys
    assert "FD (vegan-mnist-cnn features)" in text and "real data (mnist" in text


def test_best_value_is_marked_among_runs_on_the_same_data(tmp_path, mnist_run, vae_run):
    from vegan.eval.report import make_report

    out = make_report([mnist_run, vae_run], tmp_path / "r.html", n=120, save=False)
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert page.best_cells >= 5


def test_best_index_rules():
    from vegan.eval.names import best_index

    assert best_index("w2sq", [3.0, 1.0, 2.0]) == {1}
    assert best_index("recall", [0.2, 0.9, None]) == {1}
    assert best_index("sharpness", [0.05, 0.12, 0.3], reference=0.11) == {1}
    assert best_index("w2sq", [1.0, 1.0]) == set()  # all tied: nothing marked
    assert best_index("w2sq", [1.0, None]) == set()  # one value: nothing to compare
    assert best_index("w2sq_real", [1.0, 2.0]) == set()  # references are not ranked


def test_markdown_report_writes_png_files(tmp_path, mnist_run, run_cli):
    out = tmp_path / "report.md"
    code, stdout, err = run_cli("report", mnist_run, "--out", out, "--format", "md", "--n", "120")
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    files = sorted((tmp_path / "report_files").glob("*.png"))
    assert len(files) >= 5
    for f in files:
        assert f"report_files/{f.name}" in text and f.read_bytes().startswith(PNG)
    assert "| run | recipe |" in text and "*real data (mnist, train vs held-out" in text


def test_report_errors(run_cli, tmp_path, mnist_run):
    code, _, err = run_cli("report", mnist_run, "--out", tmp_path / "r.txt")
    assert code == 2 and ".html" in err
    code, _, err = run_cli("report", mnist_run, "--out", tmp_path / "no" / "r.html")
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli("report", mnist_run, "--out", tmp_path / "r.html", "--format", "md")
    assert code == 2 and ".md" in err


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHECK = """<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  }
  var d = document.createElement("div");
  d.id = "vegan-check";
  d.textContent = "images " + ok + "/" + imgs.length;
  document.body.appendChild(d);
});
</script></body>"""


@pytest.mark.chromium
@pytest.mark.skipif(_chromium() is None, reason="no chromium binary on this machine")
def test_every_image_loads_in_headless_chromium(report, tmp_path):
    import re

    page = tmp_path / "check.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", CHECK), "utf-8")
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    found = re.search(r'id="vegan-check">images (\d+)/(\d+)<', done.stdout)
    assert found, done.stderr[-2000:]
    ok, total = int(found.group(1)), int(found.group(2))
    assert total >= 6 and ok == total
