"""The reference platform passes every control, the run leaves nothing, and images are reused."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import docker
import pytest

from fixtures import secrets
from fixtures.engine.engine_facts import read_engine_facts
from tests.mutant_catalogue import MUTANT_RUNS
from tests.suite_runner import ROOT, assert_nothing_left, objects_of_ours, run_suite


CRASHED_RUN = "conformance-9999999"  # beyond any pid_max: its owner is surely gone


def _leave_crashed_run_leftovers() -> None:
    client = docker.from_env()
    labels = {"com.docker.compose.project": CRASHED_RUN}
    client.networks.create(f"{CRASHED_RUN}_backend", labels=labels)
    client.volumes.create(f"{CRASHED_RUN}_postgres-data", labels=labels)


@pytest.mark.bringup
@pytest.mark.full_run
def test_reference_platform_passes_every_control(reports_dir):
    _leave_crashed_run_leftovers()
    chosen = {name: f"chosen-{name.lower()}-{os.getpid()}-x9" for name in secrets.SECRET_VARIABLES}
    env_backup = dict(os.environ)
    os.environ.update(chosen)  # the harness keeps caller-set secrets: we can grep for them
    try:
        result = run_suite(reports_dir, "-n", "auto")
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    assert result.returncode == 0, result.output[-4000:]
    statuses = {c["id"]: c["status"] for c in result.report["controls"]}
    # Not applicable here, never passed: KUBE controls judge manifests (--target manifests,
    # tests/test_kube.py); AppArmor/SELinux (CIS 5.2, 5.3) on a host without them; RUNTIME-023
    # on a platform without Docker secrets (Pliers has them: tests/test_seed_platforms.py).
    facts = read_engine_facts(docker.from_env())
    expected = {c: "passed" for c in statuses}
    # Kubernetes manifests and Docker Swarm are other targets: on compose their chapters do not apply.
    expected |= {c: "not_applicable" for c in statuses if c.startswith(("KUBE-", "SWARM-"))}
    expected |= {c: "not_applicable" for run in MUTANT_RUNS for c, lsm in run.host_confined if not facts.supports(lsm)}
    expected["RUNTIME-023"] = "not_applicable"
    assert statuses and statuses == expected, {c: s for c, s in statuses.items() if expected.get(c) != s}
    assert "images: building" not in result.output, "an unchanged tree rebuilt an image"
    # make test runs stacks side by side: whichever run starts first sweeps the crashed one's leftovers.
    assert objects_of_ours(CRASHED_RUN) == [], "a crashed run's leftovers survived a bring-up"

    junit = ET.parse(reports_dir / "junit.xml")
    ids = {p.get("value") for p in junit.iter("property") if p.get("name") == "control_id"}
    assert ids == set(statuses)

    page = (reports_dir / "report.html").read_text()
    assert all(f'id="{control_id}"' in page for control_id in statuses), "the HTML report lacks controls"

    written = [p for p in reports_dir.rglob("*") if p.is_file()]
    for name, text in [("the run's output", result.output)] + [(p.name, p.read_text(errors="replace")) for p in written]:
        leaked = [variable for variable, value in chosen.items() if value in text]
        assert not leaked, f"{name} carries {leaked}"
    assert_nothing_left(result)


def test_an_unchanged_tree_builds_no_image():
    """Run the image builder twice: the second run finds every tag and builds nothing."""
    first = subprocess.run([sys.executable, "-m", "fixtures.engine.images"], cwd=ROOT, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run([sys.executable, "-m", "fixtures.engine.images"], cwd=ROOT, capture_output=True, text=True)
    assert second.returncode == 0 and "building" not in second.stdout, second.stdout
