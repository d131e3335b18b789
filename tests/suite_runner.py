"""Running the conformance suite as a subprocess, the way users and CI run it.

Locust and the suite's own session hooks must never run inside this test process, so
every run of suites/ is a child `pytest` with its own reports directory.
"""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
MUTANTS_DIR = Path(__file__).resolve().parent / "mutants"
OUR_PREFIX = "conformance-"
RUN_LABEL = "io.conformance.run"


@dataclass
class SuiteRun:
    returncode: int
    output: str
    reports_dir: Path

    @property
    def report(self) -> dict:
        return json.loads((self.reports_dir / "conformance.json").read_text())

    def status_of(self, control_id: str) -> str:
        return next((c["status"] for c in self.report["controls"] if c["id"] == control_id), "absent")

    def failing(self) -> dict[str, str]:
        return {c["id"]: c["message"] for c in self.report["controls"] if c["status"] in ("failed", "error")}


def suite_command(reports_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider",
        "--reports-dir", str(reports_dir), f"--junitxml={reports_dir / 'junit.xml'}", *args,
    ]


def run_suite(reports_dir: Path, *args: str, timeout_s: int = 900) -> SuiteRun:
    result = subprocess.run(
        suite_command(reports_dir, *args), cwd=ROOT, capture_output=True, text=True, timeout=timeout_s
    )
    return SuiteRun(result.returncode, result.stdout + result.stderr, reports_dir)


def start_suite(reports_dir: Path, *args: str) -> subprocess.Popen:
    """Start a run in its own process group, as a terminal would, so Ctrl-C reaches all of it."""
    return subprocess.Popen(
        suite_command(reports_dir, *args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )


def wait_for_line(process: subprocess.Popen, needle: str, timeout_s: float) -> list[str]:
    """Read the run's output until a line contains needle; the lines read so far."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    for line in process.stdout:
        lines.append(line.rstrip())
        if needle in line or time.monotonic() > deadline:
            break
    return lines


def interrupt(process: subprocess.Popen, sig: int = signal.SIGINT, whole_group: bool = True) -> None:
    if whole_group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)


def objects_of_ours() -> list[str]:
    """Every container, network and volume left by a run of the suite."""
    client = docker.from_env()
    found = []
    for container in client.containers.list(all=True):
        labels = container.labels
        if labels.get("com.docker.compose.project", "").startswith(OUR_PREFIX) or RUN_LABEL in labels:
            found.append(f"container {container.name}")
    for network in client.networks.list():
        if network.name.startswith(OUR_PREFIX):
            found.append(f"network {network.name}")
    for volume in client.volumes.list():
        if volume.name.startswith(OUR_PREFIX):
            found.append(f"volume {volume.name}")
    return found
