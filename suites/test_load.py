"""Load: the platform meets the capacity thresholds the load/ scenarios gate on."""

import pytest

from fixtures.controls import control


@pytest.mark.disruptive
@pytest.mark.load_phase("steady")
@control("LOAD-001", severity="high", reference="seed 001 §Horizontal Scaling; seed 002 §Scaling Strategy",
         needs=("edge", "gateway", "app:orders"))
def test_default_scenario_meets_its_thresholds(load_window, load_timeline, observed):
    """The default load scenario (order_mix) meets its fail-ratio, p95 and rps thresholds in the steady phase of the load timeline.

    Rationale: the thresholds in pyproject's [tool.locust] are what a CI capacity gate holds a
    release to; the reference platform must meet them with room to spare on a small machine.
    Judged on the timeline's steady phase (the declared shape, nothing else disrupted, the
    stack held alone), so its figures are the platform's, not the other controls'.
    """
    window = load_window.window
    observed(window.summary())
    assert load_timeline.thresholds, f"the load run wrote no verdict with its thresholds: {load_timeline.output[-500:]}"
    assert window.requests > 0, f"no request in the steady phase's window ({window.summary()})"
    missed = window.missed(load_timeline.thresholds)
    missed += [f"exception in the scenario: {e}" for e in load_timeline.scenario_exceptions]
    assert not missed, f"thresholds missed: {'; '.join(missed)} ({window.summary()})"
