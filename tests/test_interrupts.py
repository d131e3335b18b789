"""Ctrl-C and SIGTERM at any point, or a crashed xdist worker, leave no container, network or volume of ours.

Signals go to the whole process group, as a terminal's Ctrl-C or a CI runner's cancel
does, except at bring-up, where SIGTERM goes to the controller alone (a runner that
signals only its direct child).
"""

import os
import signal
import time
from pathlib import Path

import pytest

from tests.suite_runner import finish_or_explain, interrupt, objects_of_ours, project_of, start_suite, wait_for_line

# A few controls are enough to reach each phase; the whole suite would only make it slower, and
# so would the disruptive ones (HEALTH-010 freezes every service in turn: minutes before teardown).
SHORT_RUN = ("-m", "not disruptive", "suites/test_health.py", "suites/test_config.py")
PHASES = {
    # phase: (the line that marks it, signal the whole group?)
    "bring-up": ("stack: bringing up", False),
    "mid-suite": ("stack: up and healthy", True),
    "teardown": ("conformance: ", True),  # the summary, printed as teardown begins
}


def _interrupted_run(reports_dir: Path, phase: str, sig: int):
    marker, whole_group = PHASES[phase]
    process = start_suite(reports_dir, "-n", "2", *SHORT_RUN)
    lines = wait_for_line(process, marker, timeout_s=400)
    assert marker in lines[-1], "\n".join(lines[-20:])
    interrupt(process, sig, whole_group=whole_group)
    output = "\n".join(lines) + finish_or_explain(process, timeout_s=180)
    return process, output


@pytest.mark.bringup
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", list(PHASES))
def test_an_interrupted_run_leaves_nothing(phase, sig, reports_dir):
    process, output = _interrupted_run(reports_dir, phase, sig)
    if phase != "teardown":
        assert process.returncode != 0, output[-2000:]
    if phase != "bring-up":
        assert "torn down" in output, output[-2000:]
    assert objects_of_ours(project_of(process)) == [], output[-2000:]


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def _xdist_workers(controller: int) -> list[int]:
    # execnet starts each worker as `python -c ...`; by mid-suite they are the run's only Python children.
    return [child for child in _children(controller) if Path(f"/proc/{child}/comm").read_text().startswith("python")]


@pytest.mark.bringup
@pytest.mark.parametrize("moment", ["workers-starting", "mid-suite"])
def test_a_killed_worker_leaves_nothing(moment, reports_dir):
    """SIGKILL an xdist worker as the workers start (xdist fails in its sessionstart) or while it runs controls."""
    process = start_suite(reports_dir, "-n", "2", "-v", *SHORT_RUN, "suites/test_credentials.py")
    marker = "stack: up and healthy" if moment == "workers-starting" else " PASSED "
    lines = wait_for_line(process, marker, timeout_s=400)
    assert marker in lines[-1], "\n".join(lines[-20:])
    deadline = time.monotonic() + 30
    while not (workers := _xdist_workers(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers, f"no xdist worker under {process.pid}: {_children(process.pid)}"
    os.kill(workers[0], signal.SIGKILL)
    output = "\n".join(lines) + finish_or_explain(process, timeout_s=300)
    if moment == "mid-suite":
        assert process.returncode != 0 and "crashed" in output, output[-2000:]
    assert "torn down" in output, output[-2000:]
    assert objects_of_ours(project_of(process)) == [], output[-2000:]
