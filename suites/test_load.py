"""Load: the platform meets the capacity thresholds the load/ scenarios gate on."""

import pytest

from fixtures.controls import control


@pytest.mark.disruptive
@control("LOAD-001", severity="high", reference="seed 001 §Horizontal Scaling; seed 002 §Scaling Strategy",
         needs=("edge", "gateway", "app:orders"))
def test_default_scenario_meets_its_thresholds(load, observed):
    """The default load scenario (order_mix) meets its fail-ratio, p95 and rps thresholds for a bounded run.

    Rationale: the thresholds in pyproject's [tool.locust] are what a CI capacity gate holds a
    release to; the reference platform must meet them with room to spare on a small machine.
    Held alone (`disruptive`) so its figures are the platform's, not the other controls'.
    """
    result = load.run("load-001-order-mix", users=50, seconds=20)
    observed(result.summary())
    assert result.requests > 0, f"the load run made no request: {result.output[-500:]}"
    assert result.passed, f"thresholds missed: {'; '.join(result.missed) or result.output[-500:]} ({result.summary()})"
