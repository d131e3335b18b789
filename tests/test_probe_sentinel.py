"""The route-out sentinel's verdict holds while other stacks come and go on the engine.

Docker 20.10 re-inserts its isolation jump each time any network is created; a sentinel
behind a published port was reached from internal networks in that instant (NET-003 and
NET-008 failed on the reference platform beside other runs). The sentinel past the host's
router must be reached from a network with a route out every time and from an internal
one never, with networks created and removed beside the probes all along.
"""

import os
import threading
from contextlib import ExitStack

import docker
import pytest

from fixtures.engine import images
from fixtures.engine.docker_objects import RUN_LABEL
from fixtures.labs import probes
from tests.suite_runner import objects_of_ours

ROUNDS, ATTEMPTS = 5, 40  # a round is one probe container, its attempts all at once


def _churn(client, project: str, stop: threading.Event, created: list[int]) -> None:
    """What concurrent runs do to the engine's rules: networks created and removed, over and over."""
    while not stop.is_set():
        network = client.networks.create(f"{project}-churn", labels={RUN_LABEL: project})
        network.remove()
        created[0] += 1


@pytest.mark.bringup
def test_route_out_is_seen_from_open_networks_only_while_the_engine_churns():
    client = docker.from_env()
    image = images.ensure_base_image(client, lambda line: None)
    project = f"conformance-{os.getpid()}-sentinel"
    stop, created = threading.Event(), [0]
    with ExitStack() as cleanup:
        internal = client.networks.create(f"{project}-internal", internal=True, labels={RUN_LABEL: project})
        cleanup.callback(internal.remove)
        open_network = client.networks.create(f"{project}-open", labels={RUN_LABEL: project})
        cleanup.callback(open_network.remove)
        sentinel = probes._start_sentinel(client, project, image, cleanup)
        churn = threading.Thread(target=_churn, args=(client, project, stop, created))
        churn.start()
        cleanup.callback(churn.join)
        cleanup.callback(stop.set)
        request = {"timeout": 0.5, "names": [], "targets": [list(sentinel)] * ATTEMPTS}
        answered = {"internal": 0, "open": 0}
        for _ in range(ROUNDS):
            for key, network in (("internal", internal), ("open", open_network)):
                connects = probes._probe(client, project, image, key, network.name, request)["connects"]
                answered[key] += sum(ok for ok, _ in connects)
    assert created[0] > 0, "no network was created beside the probes: the test proved nothing"
    assert answered == {"internal": 0, "open": ROUNDS * ATTEMPTS}, (
        f"connects that answered, of {ROUNDS * ATTEMPTS}, with {created[0]} networks created beside them: {answered}")
    assert objects_of_ours(project) == []
