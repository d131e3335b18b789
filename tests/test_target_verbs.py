"""The compose target's verbs on a running reference platform: what disruptive controls build on.

One bring-up, in this process (the controller's side of fixtures/targets/compose.py), and
the verbs as a worker calls them; everything is removed at the end, tags included.
"""

import time
from types import SimpleNamespace

import docker
import pytest

from fixtures import targets
from fixtures.stack import Stack
from fixtures.targets.compose import ComposeTarget
from tests.suite_runner import objects_of_ours


def _images(target, service: str) -> list[str]:
    return [c.attrs["Config"]["Image"] for c in target.containers(service, include_stopped=False)]


@pytest.mark.bringup
def test_the_compose_target_stops_scales_updates_rolls_back_restarts_and_takes_down():
    options = SimpleNamespace(project=None, stack_file=None, stack_override=[], platform=None, keep_stack=False,
                              up_timeout=240)
    controller = ComposeTarget(options, lambda line: None)
    client = docker.from_env()
    next_image = ""
    try:
        info = controller.prepare()
        controller.bring_up()
        assert info.stack_running, info.bringup_error
        stack = Stack(info)
        target = targets.attach(stack)
        gateway = stack.platform.service("gateway")
        declared = stack.model.replicas(gateway)
        declared_image = stack.model.service(gateway)["image"]

        stopped = target.stop_replica(gateway, 1, "SIGTERM", grace_s=15)
        time.sleep(2)  # long enough for a restart policy to act, were it to
        assert stopped not in [c.id[:12] for c in target.containers(gateway, include_stopped=False)]
        assert len(target.containers(gateway, include_stopped=False)) == declared - 1

        target.scale(gateway, declared + 1)
        assert len(target.containers(gateway, include_stopped=False)) == declared + 1

        next_image = f"{declared_image}-next"
        client.images.get(declared_image).tag(next_image)
        target.update(gateway, next_image)
        assert _images(target, gateway) == [next_image] * (declared + 1)
        assert stack.wait_healthy(gateway, timeout_s=60) == ["healthy"] * (declared + 1)

        target.rollback(gateway)
        assert _images(target, gateway) == [declared_image] * (declared + 1)

        cache = stack.platform.service("cache")
        started = [c.attrs["State"]["StartedAt"] for c in target.containers(cache)]
        target.restart(cache)
        restarted = [c.attrs["State"]["StartedAt"] for c in target.containers(cache)]
        assert restarted != started and stack.health_states(cache) == ["healthy"]

        target.take_down(cache)
        time.sleep(2)  # a restart policy would have started it again by now
        assert target.containers(cache, include_stopped=False) == []
        assert target.bring_back(cache) == ["healthy"]
    finally:
        controller.tear_down()
        if next_image:
            client.images.remove(next_image, noprune=True)
    assert controller.info is None or objects_of_ours(controller.info.project) == []
