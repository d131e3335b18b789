"""The same gate however CI launches it: SIGINT ignored at start changes nothing.

A background job of a non-interactive shell (and nohup under some shells, and some CI
runners) starts with SIGINT ignored, and an ignored disposition survives exec. Measured
before the fix: Locust children ignored LoadRun.stop()'s SIGINT, every SCALE load run
lasted its full run time, and the suite itself ignored Ctrl-C.
"""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from fixtures.labs import load
from tests.local_http import serving
from tests.suite_runner import ROOT, objects_of_ours, suite_command

SIGINT_BIT = 1 << (signal.SIGINT - 1)


def _sigint_ignored(pid: int) -> bool:
    """Whether process `pid` ignores SIGINT, from the kernel's own account (/proc/PID/status SigIgn)."""
    fields = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
    return bool(int(fields["SigIgn"], 16) & SIGINT_BIT)


class _Platform(BaseHTTPRequestHandler):
    """Just enough of the order API on 127.0.0.1 for load/order_mix.py to make requests."""

    def _answer(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Replica", "tiny-1")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(202, {"order_id": "order-1"})

    def do_GET(self):
        self._answer(404, {"error": "not projected yet"})

    def log_message(self, *args):
        pass


@pytest.fixture
def tiny_edge():
    with serving(_Platform) as url:
        yield url


@contextmanager
def _sigint_ignored_here():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_load_run_stops_at_once_when_its_launcher_ignored_sigint(tiny_edge, tmp_path):
    run_time_s = 90
    with _sigint_ignored_here():
        started = time.monotonic()
        run = load.Load(tiny_edge, "x" * 32, "", tmp_path, []).start("probe", users=2, seconds=run_time_s)
    try:
        run.under_way(1)
        assert not _sigint_ignored(run.process.pid), "the Locust child inherited SIGINT ignored"
    finally:
        result = run.stop()
    elapsed = time.monotonic() - started
    assert elapsed < 40, f"stop() took {elapsed:.0f}s of a {run_time_s}s run: SIGINT was ignored"
    assert result.requests > 0, result.output
    # SIGINT, not the SIGTERM fallback, ended it: Locust writes its HTML report only then.
    assert (tmp_path / "probe.html").exists() and (tmp_path / "probe_verdict.json").exists()


def test_a_child_that_ignores_sigint_is_still_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "STOP_GRACE_S", 1)
    process = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                                "print('ready', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    started = time.monotonic()
    result = load.LoadRun(process, tmp_path / "probe", timeout_s=60, secrets=[]).stop()
    assert time.monotonic() - started < 15
    assert result.returncode == -signal.SIGTERM


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0
    except FileNotFoundError:
        return False


def test_the_suite_answers_ctrl_c_when_started_as_a_background_job(tmp_path):
    """`sh -c 'pytest ... &'`: the shell starts the job with SIGINT ignored (POSIX, no job control).

    The run is held at a known point, reading its waiver file from a FIFO the test opens
    and never writes, so the signal arrives mid-run whatever the machine's speed.
    """
    reports = tmp_path / "reports"
    reports.mkdir()
    fifo = tmp_path / "waivers.yml"
    os.mkfifo(fifo)
    command = suite_command(reports, "--target", "static", "--waivers", str(fifo))
    shell = subprocess.Popen(["sh", "-c", '"$@" & echo "job $!"; wait $!', "sh", *command], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pid = int(shell.stdout.readline().split()[1])
    writer = None
    try:
        deadline = time.monotonic() + 60
        while writer is None and time.monotonic() < deadline and _alive(pid):
            try:
                # Succeeds once the run has the FIFO open for reading; it then waits in read().
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.1)
        assert writer is not None, "the run never opened its waiver file"
        assert not _sigint_ignored(pid), "the suite kept the SIGINT disposition it was started with"
        os.kill(pid, signal.SIGINT)
        output = shell.communicate(timeout=120)[0]  # a loaded CI machine is slow, not stuck
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        if writer is not None:
            os.close(writer)
        if shell.poll() is None:
            shell.communicate(timeout=30)
    assert shell.returncode == 2, output[-2000:]  # pytest's "interrupted"
    assert "KeyboardInterrupt" in output, output[-2000:]
    assert objects_of_ours(f"conformance-{pid}") == []
