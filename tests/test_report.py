"""The report (issue 14): content, escaping, self-containment, the Markdown twin, bad input,
and, in a real headless Chromium, that the page renders with every image decoded."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import secdilemma as sd
from secdilemma._paths import models_dir
from secdilemma.decision import decide
from secdilemma.errors import ParameterError
from secdilemma.interfaces.cli import app
from secdilemma.interfaces.report import (
    SECTIONS,
    build_context,
    from_folder,
    gather,
    parse_formats,
    render_html,
    render_md,
    report_figures,
    report_files,
    write_report,
)
from secdilemma.interfaces.report.inputs import prior_sensitivity
from secdilemma.interfaces.report.reasons import card_caveats, spec_reasons
from secdilemma.interfaces.report.render import md
from secdilemma.io import OutputRun, save_dataset

CASE = "anglo_german_naval"
N_SIMS = 200  # the decision's simulated futures: enough for a report, fast in a test


@pytest.fixture(scope="module")
def inputs() -> Any:
    """The exact observer's report inputs on a bundled case (no fit)."""
    return gather(sd.Study(CASE), engine="exact", n_sims=N_SIMS)


@pytest.fixture(scope="module")
def report_dir(inputs: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report") / "out"
    figures = report_figures(inputs)
    with OutputRun(folder, report_files(figures)) as run:
        write_report(inputs, run, figures=figures)
    return folder


# ------------------------------------------------------------------------------ content
def test_every_section_heading_is_in_both_formats(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    for anchor, heading in SECTIONS:
        assert f'<section id="{anchor}">' in page
        assert f"<h2>{html.escape(heading)}</h2>" in page
        assert f"\n## {md(heading)}\n" in text


def test_html_is_self_contained(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    # no src/href/url() pointing outside the file: only in-page anchors and data: URIs
    targets = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.I)
    assert targets, "the page should have links and images"
    for t in targets:
        assert t.startswith(("#", "data:image/png;base64,")), t
    assert not re.search(r"https?://[^\s\"'<]*\.(?:js|css|png|svg|woff2?)\b", page)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "url(" not in page
    assert "default-src 'none'" in page  # the CSP forbids any request


def test_images_are_embedded_pngs(report_dir: Path, inputs: Any) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    uris = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(uris) == 4  # belief, evidence, observers, decision (no fit, no sweep)
    for b64 in uris:
        png = base64.b64decode(b64, validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_markdown_figures_exist_beside_it(report_dir: Path) -> None:
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    files = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(files) == sorted(
        f"report_{n}.png" for n in ("belief", "evidence", "observers", "decision")
    )
    for f in files:
        img = mpimg.imread(report_dir / f)
        assert img.shape[0] > 100
        assert float(np.std(img[..., :3])) > 0.01


def test_report_states_what_it_rests_on(report_dir: Path, inputs: Any) -> None:
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "no Bayesian fit behind this report: it uses the exact observer" in text
    assert "Verdict: **not applicable**" in text
    # the spec's stated reason for omega, from the comment above it in models/CASE.toml
    assert "cult of the offensive" in text
    # a caveat from the data card, and the data's source
    assert "1914 is a war year" in text
    assert "COW National Material Capabilities" in text
    # the decision's numbers, as the decision computed them
    res = inputs.decision
    for a in res["action"].values:
        assert f"| {a} | {float(res['expected_utility'].sel(action=a)):.3f} |" in text
    assert f"{float(res['evpi']):.4f}" in text
    assert "No what-if sweep was found" in text


def test_prior_sensitivity_refilters_and_decides_on_the_same_table(inputs: Any) -> None:
    """Each row's belief is the study's under that prior; its choice, P(best) and EVPI follow
    from the decision's utility table by their definitions (computed here by hand)."""
    u = inputs.decision["utility"].transpose("action", "rival_type")
    actions = [str(a) for a in u["action"].values]
    table = u.values
    rows = {r["label"]: r for r in inputs.priors}
    assert set(rows) == {"the spec's prior", "leaning greedy", "leaning insecure", "leaning mixed"}
    for row in rows.values():
        prior = None if row["label"] == "the spec's prior" else row["prior"]
        want = sd.Study(CASE, prior=prior).belief()["filtered"].isel(period=-1)
        b = np.array([row["belief"][str(t)] for t in u["rival_type"].values])
        np.testing.assert_allclose(b, want.sel(rival_type=u["rival_type"]).values, rtol=1e-12)
        eu = table @ b
        assert row["recommended"] == actions[int(np.argmax(eu))]
        best = table.argmax(axis=0)
        for i, a in enumerate(actions):
            assert row["p_best"][a] == pytest.approx(float(b[best == i].sum()), abs=1e-12)
        evpi = float(b @ table.max(axis=0) - eu.max())
        assert row["evpi"] == pytest.approx(evpi, abs=1e-12)
    # the spec's prior reproduces the decision's own belief and recommendation
    assert rows["the spec's prior"]["recommended"] == inputs.decision.attrs["recommended"]


# ------------------------------------------------------------------------------ escaping
def test_strings_from_a_spec_are_escaped(inputs: Any, tmp_path: Path) -> None:
    text = (models_dir() / f"{CASE}.toml").read_text(encoding="utf-8")
    hostile = '# <script>alert("x")</script> & <img src=x onerror=alert(1)> | pipe\n'
    spec = tmp_path / "hostile.toml"
    spec.write_text(text.replace("omega = 0.7", hostile + "omega = 0.7"), encoding="utf-8")
    ctx = build_context(dataclasses.replace(inputs, study=sd.Study(spec)), set())
    ctx["data"]["title"] = "<b>bold</b> name"
    page = render_html(ctx, {})
    assert "<script" not in page
    assert "<img src=x" not in page
    assert "<b>bold" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt; name" in page
    mdtext = render_md(ctx, {})
    row = next(line for line in mdtext.splitlines() if line.startswith("| offense advantage"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 4  # three cells: the pipe is escaped
    assert r"\<script\>" in row


def test_md_filter() -> None:
    assert md("a|b") == r"a\|b"
    assert md("x_1 *y* [l](u) <t> #") == r"x\_1 \*y\* \[l\](u) \<t\> \#"
    assert md("two\nlines") == "two lines"


def test_every_action_of_the_decision_is_shown(inputs: Any) -> None:
    """Three actions (deter, defend, reassure): each has a row, and P(best) per prior."""
    types = [str(t) for t in inputs.decision["rival_type"].values]
    u = xr.DataArray(
        [[-1.0, -4.0, -2.0], [-2.0, -2.0, -2.0], [-5.0, 0.0, -3.0]],
        dims=("action", "rival_type"),
        coords={"action": ["deter", "defend", "reassure"], "rival_type": types},
    )
    res = decide(inputs.decision["belief"], payoffs=u)
    three = dataclasses.replace(
        inputs, decision=res, priors=prior_sensitivity(inputs.study, res, "aware")
    )
    ctx = build_context(three, set())
    page = render_html(ctx, {})
    for a in ("deter", "defend", "reassure"):
        assert f"<tr><td>{a}</td>" in page
    assert all(len(r["p_best"]) == 3 for r in three.priors)
    assert "deter or reassure" not in page  # the question names every action
    assert "deter, defend or reassure" in page


# ------------------------------------------------------------------------------ folders
def test_report_from_an_output_folder_reuses_its_results(inputs: Any, tmp_path: Path) -> None:
    folder = tmp_path / "main"
    (folder / "exact").mkdir(parents=True)
    save_dataset(inputs.posterior, folder / "exact" / "posterior.nc")
    save_dataset(inputs.decision, folder / "decision.nc")
    sweep = inputs.study.sweep(omega=[0.3, 0.7], delta=[0.25, 0.75])
    save_dataset(sweep, folder / "sweep.nc")
    again = from_folder(folder, n_sims=N_SIMS)
    assert sorted(again.reused) == ["decision.nc", "exact/posterior.nc", "sweep.nc"]
    assert again.engine == "exact"
    assert float(again.decision["evpi"]) == float(inputs.decision["evpi"])
    figs = report_figures(again)
    assert "whatif" in figs
    with OutputRun(folder, report_files(figs)) as run:
        write_report(again, run, figures=figs)
    assert (folder / "report_whatif.png").is_file()
    assert "No what-if sweep" not in (folder / "report.md").read_text(encoding="utf-8")


def test_bad_input_names_the_argument(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="STUDY_OR_FIT"):
        from_folder(tmp_path / "missing")
    with pytest.raises(ParameterError, match=r"STUDY_OR_FIT.*no fit\.nc"):
        from_folder(tmp_path)
    with pytest.raises(ParameterError, match="--format"):
        parse_formats("pdf")
    assert parse_formats("md") == ("md",)
    assert parse_formats("both") == ("html", "md")
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(tmp_path / "no" / "folder")])
    assert res.exit_code == 2
    assert "STUDY_OR_FIT" in res.output
    res = runner.invoke(app, ["report", CASE, "--format", "pdf"])
    assert res.exit_code == 2
    assert "--format" in res.output


def test_spec_reasons_and_card_caveats(tmp_path: Path) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(
        "[world]\n# first line\n# second line\nomega = 0.5  # inline '#' note\n\n"
        'delta = 0.5\nname = "a # not a comment"\n',
        encoding="utf-8",
    )
    assert spec_reasons(spec) == {"world.omega": "first line second line inline '#' note"}
    card = tmp_path / "README.md"
    card.write_text("# t\n## Caveats\n\n- **one** `a`\n  more\n- two\n## Next\n- no\n")
    assert card_caveats(card) == ["one a more", "two"]
    assert spec_reasons(tmp_path / "none.toml") == {}
    assert card_caveats(None) == []


# ------------------------------------------------------------------------------ browser
_CHECK = """<script nonce="reportcheck">
(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    var t = e.target || {};
    errors.push("error: " + (e.message || t.src || t.href || "resource"));
  }, true);
  window.addEventListener("securitypolicyviolation", function (e) {
    errors.push("csp: " + e.violatedDirective + " " + e.blockedURI);
  });
  var orig = console.error;
  console.error = function () {
    errors.push("console: " + Array.prototype.join.call(arguments, " "));
    orig.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    var imgs = Array.prototype.map.call(document.images, function (i) {
      return {ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth};
    });
    var pre = document.createElement("pre");
    pre.id = "report-check";
    pre.textContent = JSON.stringify({errors: errors, images: imgs,
      h2: Array.prototype.map.call(document.querySelectorAll("h2"),
                                   function (h) { return h.textContent; })});
    document.body.appendChild(pre);
  });
})();
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    why = "no headless Chromium on PATH (./dev.sh test installs Debian's `chromium`)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the report's browser test: {why}")
    pytest.skip(why)


def _run_chromium(exe: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'profile'}",
        "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
@pytest.mark.ci
def test_report_renders_in_a_browser(report_dir: Path, tmp_path: Path) -> None:
    exe = _chromium()
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    # a copy with a check script: the CSP lets only that script (by its nonce) run
    csp = "default-src 'none';"
    assert csp in page
    probe = page.replace(csp, csp + " script-src 'nonce-reportcheck';", 1)
    probe = probe.replace("<head>", "<head>\n" + _CHECK, 1)
    copy = tmp_path / "report-check.html"
    copy.write_text(probe, encoding="utf-8")
    done = _run_chromium(
        exe, tmp_path, "--virtual-time-budget=10000", "--dump-dom", copy.resolve().as_uri()
    )
    found = re.search(r'<pre id="report-check">(.*?)</pre>', done.stdout, flags=re.S)
    assert found, f"the check script did not run; chromium said: {done.stderr[-2000:]}"
    check = json.loads(html.unescape(found.group(1)))
    assert check["errors"] == []
    assert len(check["images"]) == 4, check
    assert all(i["ok"] for i in check["images"]), check
    assert check["h2"] == [heading for _, heading in SECTIONS]
    # the report itself, as a reader sees it
    shot = tmp_path / "report.png"
    done = _run_chromium(
        exe, tmp_path, f"--screenshot={shot}", "--window-size=1280,4000",
        (report_dir / "report.html").resolve().as_uri(),
    )  # fmt: skip
    assert shot.is_file(), done.stderr[-2000:]
    img = mpimg.imread(shot)
    assert img.shape[:2] == (4000, 1280)
    assert float(np.var(img[..., :3])) > 1e-3  # not blank
    if os.environ.get("REPORT_SHOT"):
        shutil.copyfile(shot, os.environ["REPORT_SHOT"])
