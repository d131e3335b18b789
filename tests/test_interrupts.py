"""Ctrl-C and SIGTERM at any point leave no container, network or volume of ours."""

import signal

import pytest

from tests.suite_runner import interrupt, objects_of_ours, project_of, start_suite, wait_for_line


@pytest.mark.bringup
def test_ctrl_c_half_way_through_the_suite_leaves_nothing(reports_dir):
    process = start_suite(reports_dir, "-n", "2")
    lines = wait_for_line(process, "stack: up and healthy", timeout_s=400)
    assert "stack: up and healthy" in lines[-1], "\n".join(lines[-20:])
    interrupt(process, signal.SIGINT)
    output = process.communicate(timeout=180)[0]
    assert process.returncode != 0
    assert "torn down" in output, output[-2000:]
    assert objects_of_ours(project_of(process)) == []


@pytest.mark.bringup
def test_sigterm_during_bring_up_leaves_nothing(reports_dir):
    process = start_suite(reports_dir, "-n", "2")
    lines = wait_for_line(process, "stack: bringing up", timeout_s=400)
    assert "stack: bringing up" in lines[-1], "\n".join(lines[-20:])
    interrupt(process, signal.SIGTERM, whole_group=False)
    output = process.communicate(timeout=180)[0]
    assert process.returncode != 0
    assert objects_of_ours(project_of(process)) == [], output[-2000:]
