"""The reachability matrix: expected from the compose model, observed beside it, mismatches marked."""

from fixtures.labs.matrix import HOST, Binding, Observation, ReachabilityMatrix
from fixtures.platform import describe
from fixtures.stack import ComposeModel

MODEL = ComposeModel({
    "services": {
        "nginx": {"networks": {"frontend": None},
                  "ports": [{"target": 8443, "host_ip": "127.0.0.1", "published": "8443"}]},
        "api-gateway": {"networks": {"frontend": None, "database": None}},
        "postgres": {"image": "postgres:16", "networks": {"database": None}},
    },
    "networks": {"frontend": {}, "database": {"internal": True}},
    "x-conformance": {"roles": {"edge": {"services": "nginx", "ports": [8080, 8443]},
                                "gateway": {"services": "api-gateway", "ports": [8000]}}},
})
PLATFORM = describe(MODEL.raw)
# postgres answers from frontend too, as if Docker's isolation between networks were off.
OBSERVATION = Observation(
    internal={"frontend": False, "database": True},
    members={"frontend": ["api-gateway", "nginx"], "database": ["api-gateway", "postgres"]},
    reach={"frontend": {"postgres:5432": [True, "answered at 10.0.1.2"], "api-gateway:8000": [True, "answered"],
                        "nginx:8080": [True, "answered"], "nginx:8443": [True, "answered"]},
           "database": {"postgres:5432": [True, "answered at 10.0.1.2"], "api-gateway:8000": [True, "answered"]}},
    names={"frontend": {"postgres": []}, "database": {"postgres": ["10.0.1.2"]}},
    route_out={"frontend": [True, "answered"], "database": [False, "timed out"]},
    bindings=[Binding("nginx", 8443, "127.0.0.1", "49153", True)],
    seconds=4.2,
)


def test_expected_cells_come_from_shared_networks_and_published_ports():
    matrix = ReachabilityMatrix(MODEL, PLATFORM, OBSERVATION)
    assert matrix.ports == {"api-gateway": [8000], "nginx": [8080, 8443], "postgres": [5432]}
    assert matrix.tcp["database", "postgres", 5432].expected
    assert not matrix.tcp["frontend", "postgres", 5432].expected
    assert matrix.tcp[HOST, "nginx", 8443].expected and not matrix.tcp[HOST, "nginx", 8080].expected
    assert matrix.route_out["frontend"].expected and not matrix.route_out["database"].expected
    assert matrix.names["database", "postgres"].expected and not matrix.names["frontend", "postgres"].expected


def test_a_mismatch_is_marked_and_observed_clients_follow_the_networks_that_reached():
    matrix = ReachabilityMatrix(MODEL, PLATFORM, Observation.from_json(OBSERVATION.to_json()))
    assert str(matrix.tcp["frontend", "postgres", 5432]) == "✗ expected closed, observed open"
    assert str(matrix.tcp["database", "postgres", 5432]) == "✓ open"
    assert matrix.clients_of("postgres") == {"api-gateway": {"frontend", "database"}, "nginx": {"frontend"}}
    assert matrix.mismatches == 1
    assert "| frontend | ✓ open | ✓ open | ✓ open | ✗ expected closed, observed open | ✓ open |" in matrix.markdown()
