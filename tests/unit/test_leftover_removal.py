"""What the engine will not remove is named, never raised: one stuck leftover must not stop a run."""

import docker.errors

from fixtures.engine.removal import remove_one


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
