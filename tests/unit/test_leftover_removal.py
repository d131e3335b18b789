"""What the engine will not remove is named, never raised: one stuck leftover must not stop a run."""

import docker.errors

from fixtures.engine import docker_objects
from fixtures.engine.removal import release_endpoints, remove_one


class Network:
    """An object as the docker SDK hands it out, whose removal the engine refuses every time."""

    name = "conformance-17836_database"

    def __init__(self):
        self.tries = 0

    def remove(self, **kwargs):
        self.tries += 1
        raise docker.errors.APIError("403 Client Error", explanation="error while removing network: has active endpoints")


def test_a_refused_removal_is_named_after_its_attempts_not_raised():
    network, stuck = Network(), []
    assert remove_one(network, stuck, attempts=1) == 0
    assert network.tries == 1
    assert stuck == ["network conformance-17836_database: error while removing network: has active endpoints"]


class NetworkWithAStaleEndpoint:
    """A network the engine refuses to remove while it counts an endpoint of a container already removed."""

    name = "conformance-17836_backend"

    def __init__(self):
        self.attrs = {"Containers": {"ep-0f3a": {"Name": "conformance-17836-api-gateway-1"}}}
        self.disconnected = []

    def reload(self):
        pass

    def disconnect(self, container, force=False):
        self.disconnected.append((container, force))
        self.attrs["Containers"] = {}

    def remove(self, **kwargs):
        if self.attrs["Containers"]:
            raise docker.errors.APIError("403 Client Error", explanation="error while removing network: has active endpoints")


def test_a_stale_endpoint_is_disconnected_by_force_and_the_network_removed():
    network, stuck = NetworkWithAStaleEndpoint(), []
    assert remove_one(network, stuck, attempts=2, release=release_endpoints) == 1
    assert network.disconnected == [("conformance-17836-api-gateway-1", True)]
    assert stuck == []


def test_the_engine_saying_it_has_no_address_pool_left_is_recognised():
    said = ('404 Client Error for http+docker://localhost/v1.41/networks/create: Not Found ("could not find an '
            'available, non-overlapping IPv4 address pool among the defaults to assign to the network")')
    assert docker_objects.address_pools_exhausted(said)
    assert not docker_objects.address_pools_exhausted("network with name conformance-1_backend already exists")
