"""`locust -f load/ --headless` against a kept reference stack, as load/README.md tells users to run it.

One bring-up (a suite run of one control with --keep-stack), then bounded Locust runs: thresholds
met (exit 0, CSV + HTML + replica shares + a record of every request under the output prefix),
thresholds missed (exit 1), and distributed mode (--processes; and one --master with --worker
processes, as across machines) aggregating the workers' figures and records on the master,
gating on the same thresholds and spreading requests over the replicas as one process does.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures import secrets
from fixtures.labs.timeline import RequestLog
from tests.suite_runner import ROOT, free_ports, objects_of_ours, run_suite

# A replica's share within ±15 points of an even split: SCALE-001's ±10, widened for runs of a
# few hundred requests.
SHARE_TOLERANCE = 0.15
# The thresholds' gate is what is tested, not this machine's speed: the runs that must pass get
# bounds a loaded 2-core machine meets, the one that must fail an rps no machine reaches.
LOOSE = {"LOAD_MAX_P95_MS": "20000", "LOAD_MIN_RPS": "1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def kept_stack(tmp_path_factory):
    """(edge url, environment for locust) of a reference stack kept running for this module."""
    chosen = secrets.generate({})
    port = _free_port()
    env_backup = dict(os.environ)
    os.environ.update(chosen, EDGE_HTTPS_PORT=str(port))  # the harness keeps caller-set values
    try:
        reports = tmp_path_factory.mktemp("reports")
        result = run_suite(reports, "suites/test_health.py", "-n", "0", "-k", "every_container_is_running",
                           "--keep-stack")
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    project = result.project
    try:
        assert result.returncode == 0, result.output[-3000:]
        ca_file = next(Path("/tmp").glob(f"{project}-*/tls/server.crt"))
        yield f"https://127.0.0.1:{port}", {"JWT_SECRET": chosen["JWT_SECRET"], "EDGE_CA_FILE": str(ca_file)}
    finally:
        subprocess.run([sys.executable, "-m", "fixtures.engine.cleanup", project], cwd=ROOT, capture_output=True)
        for run_dir in Path("/tmp").glob(f"{project}-*"):
            subprocess.run(["rm", "-rf", str(run_dir)])
        assert objects_of_ours(project) == []


def _locust(edge_url: str, env: dict, prefix: Path, *args: str, extra_env: dict | None = None):
    command = [sys.executable, "-m", "locust", "-f", "load/", "--headless", "-H", edge_url,
               "--csv", str(prefix), "--html", f"{prefix}.html", "--only-summary", *args]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env, **(extra_env or {})}, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.bringup
def test_headless_run_writes_reports_and_exits_0_when_thresholds_hold(kept_stack, tmp_path):
    edge_url, env = kept_stack
    prefix = tmp_path / "order_mix"
    result = _locust(edge_url, env, prefix, "-u", "50", "-r", "10", "-t", "15s", extra_env=LOOSE)
    assert result.returncode == 0, result.stderr[-3000:]
    for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv", ".html", "_replica_shares.json",
                   "_requests.csv"):
        assert Path(f"{prefix}{suffix}").exists(), f"no {prefix.name}{suffix}"
    shares = json.loads(Path(f"{prefix}_replica_shares.json").read_text())
    assert len([r for r in shares if r != "(no answer)"]) == 3, shares
    # One record per request, each under its own X-Request-ID, naming the replica that answered.
    records = RequestLog(Path(f"{prefix}_requests.csv")).read()
    assert len(records) == json.loads(Path(f"{prefix}_verdict.json").read_text())["requests"]
    assert len({r.request_id for r in records}) == len(records)
    assert {r.replica for r in records if not r.failed} == {r for r in shares if r != "(no answer)"}
    assert env["JWT_SECRET"] not in result.stdout + result.stderr


@pytest.mark.bringup
def test_headless_run_exits_1_when_a_threshold_is_missed(kept_stack, tmp_path):
    edge_url, env = kept_stack
    result = _locust(edge_url, env, tmp_path / "order_mix", "-u", "5", "-r", "5", "-t", "3s",
                     extra_env={"LOAD_MIN_RPS": "1000000"})
    assert result.returncode == 1, result.stderr[-3000:]
    assert "thresholds missed" in result.stderr and "rps <" in result.stderr


@pytest.mark.bringup
def test_distributed_run_aggregates_workers(kept_stack, tmp_path):
    edge_url, env = kept_stack
    prefix = tmp_path / "order_mix"
    result = _locust(edge_url, env, prefix, "--processes", "2", "-u", "20", "-r", "20", "-t", "6s", extra_env=LOOSE)
    assert result.returncode == 0, result.stderr[-3000:]
    verdict = json.loads(Path(f"{prefix}_verdict.json").read_text())
    assert sum(verdict["replica_shares"].values()) == verdict["requests"] > 0, verdict
    # The workers' request records reach the master's file with their stats.
    assert len(RequestLog(Path(f"{prefix}_requests.csv")).read()) == verdict["requests"]


def _distributed(edge_url: str, env: dict, prefix: Path, workers: int, *args: str, extra_env: dict | None = None):
    """One --master and `workers` --worker processes on loopback (load/README.md, "Distributed mode"): the master's result."""
    port = str(free_ports(1)[0])
    environment = {**os.environ, **env, **(extra_env or {})}
    base = [sys.executable, "-m", "locust", "-f", "load/"]
    started = [subprocess.Popen([*base, "--worker", "--master-host", "127.0.0.1", "--master-port", port], cwd=ROOT,
                                env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for _ in range(workers)]
    try:
        return subprocess.run([*base, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
                               "--expect-workers", str(workers), "--expect-workers-max-wait", "30", "--headless",
                               "-H", edge_url, "--csv", str(prefix), "--html", f"{prefix}.html", "--only-summary", *args],
                              cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False)
    finally:
        for worker in started:  # each quits when its master does
            try:
                worker.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.communicate()


def _even_shares(prefix: Path) -> dict[str, float]:
    verdict = json.loads(Path(f"{prefix}_verdict.json").read_text())
    answered = {r: n for r, n in verdict["replica_shares"].items() if r != "(no answer)"}
    return {r: n / sum(answered.values()) for r, n in answered.items()}


@pytest.mark.bringup
def test_master_and_workers_gate_and_share_as_one_process_does(kept_stack, tmp_path):
    """The same run from one process and from a master with two workers: both pass the thresholds,
    both spread the requests evenly over the three replicas, and a missed threshold fails the master."""
    edge_url, env = kept_stack
    run = ("-u", "12", "-r", "4", "-t", "10s")
    single = _locust(edge_url, env, tmp_path / "single", *run, extra_env=LOOSE)
    distributed = _distributed(edge_url, env, tmp_path / "distributed", 2, *run, extra_env=LOOSE)
    assert single.returncode == 0, single.stderr[-3000:]
    assert distributed.returncode == 0, distributed.stderr[-3000:]
    rps = {name: json.loads((tmp_path / f"{name}_verdict.json").read_text())["rps"] for name in ("single", "distributed")}
    print(f"rps through the edge, 12 users for 10 s: one process {rps['single']:.1f}, "
          f"master + 2 workers {rps['distributed']:.1f}")
    shares = {name: _even_shares(tmp_path / name) for name in ("single", "distributed")}
    assert len(shares["single"]) == len(shares["distributed"]) == 3, shares
    assert all(abs(share - 1 / 3) <= SHARE_TOLERANCE for run in shares.values() for share in run.values()), shares
    records = RequestLog(tmp_path / "distributed_requests.csv").read()
    assert len(records) == json.loads((tmp_path / "distributed_verdict.json").read_text())["requests"]
    missed = _distributed(edge_url, env, tmp_path / "missed", 2, "-u", "4", "-r", "4", "-t", "3s",
                          extra_env={"LOAD_MIN_RPS": "1000000"})
    assert missed.returncode == 1, missed.stderr[-3000:]
    assert "thresholds missed" in missed.stderr and "rps <" in missed.stderr
