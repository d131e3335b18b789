"""--target swarm end to end: the reference platform deployed on Docker Swarm passes HEALTH and the
live SWARM chapter, and the engine is left as it was found (no stack, secret, network or volume of
the run; the swarm inactive again when it was inactive). Its mutants: tests/mutant_catalogue.py
(swarm-gateway-faults)."""

import docker
import pytest

from fixtures.engine import swarm
from tests.suite_runner import assert_nothing_left, run_suite

SELECTION = "HEALTH,SWARM"


@pytest.mark.bringup
@pytest.mark.swarm
def test_the_reference_platform_passes_on_swarm_and_leaves_the_engine_as_found(reports_dir):
    client = docker.from_env()
    before = swarm.state(client)
    networks_before = {n.name for n in client.networks.list()}
    result = run_suite(reports_dir, "--target", "swarm", "--controls", SELECTION, timeout_s=1500)
    assert result.returncode == 0, result.output[-3000:]
    assert result.status_of("SWARM-101") == "passed", result.output[-3000:]
    assert "deployed and converged on Swarm" in result.output
    assert_nothing_left(result)
    assert swarm.state(client) == before
    if before == "inactive":
        made = {n.name for n in client.networks.list()} - networks_before
        assert not made & set(swarm.INIT_NETWORKS), f"networks swarm init made were left: {made}"
