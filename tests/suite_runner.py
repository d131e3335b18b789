"""Running the conformance suite as a subprocess, the way users and CI run it.

Locust and the suite's own session hooks must never run inside this test process, so
every run of suites/ is a child `pytest` with its own reports directory.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from fixtures.engine import swarm
from fixtures.engine.swarm import STACK_LABEL

ROOT = Path(__file__).resolve().parent.parent
MUTANTS_DIR = Path(__file__).resolve().parent / "mutants"
OUR_PREFIX = "conformance-"
RUN_LABEL = "io.conformance.run"


@dataclass
class SuiteRun:
    returncode: int
    output: str
    reports_dir: Path
    project: str  # the compose project the run owned: conformance-<its pid>

    @property
    def report(self) -> dict:
        return json.loads((self.reports_dir / "conformance.json").read_text())

    def status_of(self, control_id: str) -> str:
        return next((c["status"] for c in self.report["controls"] if c["id"] == control_id), "absent")

    def failing(self) -> dict[str, str]:
        return {c["id"]: c["message"] for c in self.report["controls"] if c["status"] in ("failed", "error")}


# Below the edge ports the harness picks (15000-30000) and the kernel's ephemeral range
# (32768-60999): a port free here stays free until the stack binds it.
TEST_PORT_RANGE = (10000, 15000)


def free_ports(count: int) -> list[int]:
    """Ports free on every interface now, for a test platform that publishes fixed host ports."""
    ports: set[int] = set()
    while len(ports) < count:
        port = random.randrange(*TEST_PORT_RANGE)
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
        ports.add(port)
    return sorted(ports)


def suite_command(reports_dir: Path, *args: str) -> list[str]:
    paths = [] if any(arg.startswith("suites/") for arg in args) else ["suites/"]
    return [
        sys.executable, "-m", "pytest", *paths, "-p", "no:cacheprovider",
        "--reports-dir", str(reports_dir), f"--junitxml={reports_dir / 'junit.xml'}", *args,
    ]


def run_suite(reports_dir: Path, *args: str, timeout_s: int = 900) -> SuiteRun:
    process = subprocess.Popen(
        suite_command(reports_dir, *args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output = process.communicate(timeout=timeout_s)[0]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the run tears down, as CI cancelling it would
        output = process.communicate(timeout=120)[0]
        raise AssertionError(f"suite run exceeded {timeout_s}s:\n{output[-3000:]}")
    return SuiteRun(process.returncode, output, reports_dir, project_of(process))


def finish_or_explain(process: subprocess.Popen, timeout_s: float) -> str:
    """The rest of a run's output once it exits; a run still going after timeout_s fails the test
    with what it was doing: every process left in its group (state, command) and, from py-spy,
    the Python stacks of each (a hang is a cause to find, never a timeout to raise)."""
    try:
        return process.communicate(timeout=timeout_s)[0]
    except subprocess.TimeoutExpired:
        pass
    session = process.pid  # start_suite gives the run a session (and process group) of its own
    listing = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "-g", str(session)],
                             capture_output=True, text=True, check=False).stdout
    stacks = []
    for line in listing.splitlines()[1:]:
        pid, args = line.split()[0], line.split(None, 4)[-1]
        if "python" in args.split()[0]:
            dump = subprocess.run([str(Path(sys.executable).parent / "py-spy"), "dump", "--pid", pid],
                                  capture_output=True, text=True, check=False, timeout=60)
            stacks.append(f"--- {pid}: {args[:100]}\n{dump.stdout or dump.stderr}")
    os.killpg(session, signal.SIGKILL)
    output = process.communicate(timeout=60)[0]
    raise AssertionError(f"run still going {timeout_s:g}s on:\n{listing}\n" + "\n".join(stacks)
                         + f"\n--- its output:\n{output[-3000:]}")


def project_of(process: subprocess.Popen) -> str:
    return f"{OUR_PREFIX}{process.pid}"


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


def assert_nothing_left(run: SuiteRun) -> None:
    """No object of the run remains; when one does, the run's own teardown lines say what the engine answered."""
    left = objects_of_ours(run.project)
    teardown = [line for line in run.output.splitlines() if line.startswith("stack:")]
    assert left == [], f"{left}\n" + "\n".join(teardown[-12:])


def objects_of_ours(project: str) -> list[str]:
    """Every container, network and volume a run of the suite (compose project `project`) left."""
    client = docker.from_env()
    found = []
    for container in client.containers.list(ignore_removed=True, all=True):
        labels = container.labels
        if project in (labels.get("com.docker.compose.project"), labels.get(RUN_LABEL), labels.get(STACK_LABEL)):
            found.append(f"container {container.name}")
    for network in client.networks.list():
        if network.name.startswith(f"{project}_") or (network.attrs.get("Labels") or {}).get(RUN_LABEL) == project:
            found.append(f"network {network.name}")
    for volume in client.volumes.list():
        if volume.name.startswith(f"{project}_"):
            found.append(f"volume {volume.name}")
    if swarm.state(client) == "active" and swarm.is_manager(client):
        found += [f"service {s.name}" for s in client.services.list(filters={"label": f"{STACK_LABEL}={project}"})]
        found += [f"secret {s.name}" for s in client.secrets.list(filters={"label": f"{STACK_LABEL}={project}"})]
    return found
