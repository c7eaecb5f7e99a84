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
from lstmbench.cli import main
from lstmbench.dashboard import is_loopback


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "lstmbench", "dashboard", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_json(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> dict:
    """Poll ``url`` until it answers with JSON (bounded); fail early if the server died."""
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
