"""``lstmbench dashboard``: optuna-dashboard on the same storage, loopback unless told."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import optuna
import pytest

from _browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from _storages import free_port
from _sweeps import TINY, run_cli, write_spec
from lstmbench.cli import main
from lstmbench.dashboard import is_loopback


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "lstmbench", "dashboard", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_json(url: str, proc: subprocess.Popen[str], timeout: float = 300) -> dict:
    """Poll ``url`` until it answers with JSON; fail early if the server died. The bound only
    ends a broken test: on a loaded machine the dashboard may take a minute to start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dashboard exited {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return json.loads(resp.read())
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"no answer from {url} within {timeout} s")


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.terminate()
    try:
        return proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False),
])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_dashboard_serves_the_study(report_study):
    url, name, _ = report_study
    port = free_port()
    proc = start("--storage", url, "--port", str(port))
    try:
        data = wait_for_json(f"http://127.0.0.1:{port}/api/studies", proc)
        assert name in [s["study_name"] for s in data["study_summaries"]]
    finally:
        out, err = stop(proc)
    assert f"on http://127.0.0.1:{port}/" in out
    assert "warning" not in err  # loopback: no warning


@needs_chromium
def test_a_browser_shows_the_study_on_the_dashboard(report_study):
    from playwright.sync_api import sync_playwright

    url, name, _ = report_study
    port = free_port()
    proc = start("--storage", url, "--port", str(port))
    try:
        wait_for_json(f"http://127.0.0.1:{port}/api/studies", proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/dashboard", wait_until="load")
                # The study list is drawn by JavaScript from /api/studies: "1. tiny".
                page.wait_for_function("name => document.body.innerText.includes(name)",
                                       arg=name, timeout=30_000)
                assert f"1. {name}" in page.inner_text("body")
            finally:
                browser.close()
    finally:
        stop(proc)


def test_dashboard_says_when_the_port_is_taken(report_study):
    url, _, _ = report_study
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "lstmbench", "dashboard", "--storage", url,
                              "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in res.stderr and "--port" in res.stderr


def test_dashboard_warns_when_not_on_loopback(report_study):
    url, _name, _ = report_study
    port = free_port()
    proc = start("--storage", url, "--host", "0.0.0.0", "--port", str(port))
    try:
        wait_for_json(f"http://127.0.0.1:{port}/api/studies", proc)
    finally:
        _, err = stop(proc)
    assert "warning: listening on 0.0.0.0" in err and "no authentication" in err


def test_dashboard_refuses_empty_and_foreign_storages(tmp_path, capsys):
    missing = tmp_path / "none.db"
    assert main(["dashboard", "--storage", f"sqlite:///{missing}"]) == 1
    assert "no such database" in capsys.readouterr().err and not missing.exists()
    url = f"sqlite:///{tmp_path / 'foreign.db'}"
    optuna.create_study(study_name="someone-else", storage=url)
    assert main(["dashboard", "--storage", url]) == 1
    assert "none made by lstmbench" in capsys.readouterr().err


# Fixed configurations and seeds: two that learn the first bit, one in its first epoch (stateful,
# whole sequences of 4 steps, seed 0) and one in about 17 (chunks of 1 step, 5 sequences an
# update, seed 1: some ten times the training seconds), and one that cannot (windows of 1 step).
EXPLAINED = TINY.split("[space]")[0].replace("epochs = 3", "epochs = 40").replace(
    "replicates = 2", "replicates = 1") + "".join(
    f"""
[[variants]]
name = "{name}"
stateful = {str(stateful).lower()}
{"timesteps" if stateful else "window"} = {steps}
batch_size = {batch}
units = 4
seeds = [{seed}]
""" for name, stateful, steps, batch, seed in (("fast", True, 4, 1, 0), ("slow", True, 1, 5, 1),
                                                ("never", False, 1, 10, 0)))


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    """(storage URL, trials by variant) of a study swept by the command, which leaves the note."""
    folder = tmp_path_factory.mktemp("explained")
    spec = write_spec(folder, EXPLAINED, "explained")
    url = f"sqlite:///{folder / 'explained.db'}"
    res = run_cli(folder, "sweep", "--jobs", "1", "--spec", str(spec), "--storage", url, "--quiet",
                  timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    study = optuna.load_study(study_name="explained", storage=url)
    by_variant = {t.user_attrs["variant"]: t for t in study.trials}
    # What the checks below rest on: two converged trials of different cost, one that failed.
    tts = {name: t.user_attrs["time_to_solution_s"] for name, t in by_variant.items()}
    assert tts["never"] is None and tts["fast"] and tts["slow"], tts
    assert tts["slow"] > 2 * tts["fast"], tts
    return url, study, by_variant


def test_a_sweep_names_the_objective_and_leaves_the_verdict_as_the_studys_note(explained):
    from optuna_dashboard import get_note

    url, study, _ = explained
    assert study.metric_names == ["log10 time to solution (s)"]
    body = get_note(study)
    assert body.startswith("## Verdict\n\n```text\nverdict")
    assert "In short:" in body  # the verdict's last sentence, as the sweep prints it
    assert f"`lstmbench report --study explained --storage {url}`" in body


@needs_chromium
def test_a_browser_shows_converged_trials_apart_and_the_note(explained, tmp_path):
    """The history plot as chromium draws it: the converged trials (milliseconds) are visibly
    apart from each other and below the failed one (a penalty of over 100 s), and the note
    shows the verdict. Screenshots in ``tmp_path`` (history.png, note.png) for a look."""
    from playwright.sync_api import sync_playwright

    url, study, by_variant = explained
    port = free_port()
    proc = start("--storage", url, "--port", str(port))
    try:
        api = f"http://127.0.0.1:{port}/api"
        (sid,) = [s["study_id"] for s in wait_for_json(f"{api}/studies", proc)["study_summaries"]]
        plottable = {a["key"] for a in wait_for_json(f"{api}/studies/{sid}", proc)["union_user_attrs"]
                     if a["sortable"]}
        assert {"converged_share", "median_epoch"} <= plottable  # offered as the y axis
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/dashboard/studies/{sid}", wait_until="load")
                history = f"[...document.querySelectorAll('.js-plotly-plot')].find(d => " \
                          f"d.layout?.yaxis?.title?.text === '{study.metric_names[0]}')"
                page.wait_for_function(f"() => {history}?._fullLayout?.yaxis?._length > 0",
                                       timeout=300_000)
                page.screenshot(path=str(tmp_path / "history.png"))
                # Where each trial's point sits, as a share of the y axis from its bottom.
                height = page.evaluate(f"""() => {{
                    const plot = {history}, axis = plot._fullLayout.yaxis;
                    const [lo, hi] = axis.range;
                    const trace = plot.data.find(t => t.x && t.x.length === {len(by_variant)});
                    return Object.fromEntries(trace.x.map((x, i) => [x, (trace.y[i] - lo) / (hi - lo)]));
                }}""")
                page.goto(f"http://127.0.0.1:{port}/dashboard/studies/{sid}/note", wait_until="load")
                page.wait_for_function("() => document.body.innerText.includes('In short:')",
                                       timeout=300_000)
                page.screenshot(path=str(tmp_path / "note.png"), full_page=True)
                text = page.inner_text("body")
            finally:
                browser.close()
    finally:
        stop(proc)
    at = {name: height[str(t.number)] for name, t in by_variant.items()}
    # Seconds on a linear axis would put both converged trials within 0.1 % of the floor.
    assert at["slow"] - at["fast"] > 0.05, at
    assert at["never"] > at["slow"] > at["fast"], at  # the ranking, seen
    assert "Verdict" in text and f"lstmbench report --study explained --storage {url}" in text
