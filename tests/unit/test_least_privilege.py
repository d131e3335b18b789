"""Peers from roles, freeze waves, healthcheck windows and probe records, and NET-007/NET-008 on recorded observations."""

import importlib.util
from dataclasses import replace
from types import SimpleNamespace

import pytest

from fixtures.labs.freezer import Freezer, Healthcheck, engine_time, healthcheck_of, probes_of
from fixtures.labs.matrix import Observation, ReachabilityMatrix
from fixtures.paths import ROOT
from fixtures.platform import describe
from fixtures.platform.peers import independent_sets, peers, unknown
from fixtures.stack import ComposeModel

# The reference platform's shape: services, roles and networks as stack/docker-compose.yml has them.
NETWORKS = {"public": ["nginx"], "frontend": ["api-gateway", "nginx"], "backend": ["api-gateway", "order-service", "rabbitmq"],
            "database": ["api-gateway", "order-service", "postgres"], "cache": ["api-gateway", "redis"]}
INTERNAL = {"public": False, "frontend": True, "backend": True, "database": True, "cache": True}
IMAGES = {"nginx": "conformance/nginx:1", "api-gateway": "conformance/api-gateway:1",
          "order-service": "conformance/order-service:1", "postgres": "conformance/postgres:1",
          "redis": "conformance/redis:1", "rabbitmq": "conformance/rabbitmq:1"}
ROLES = {"edge": "nginx", "gateway": "api-gateway", "worker": "order-service", "event_store": "postgres",
         "cache": "redis", "broker": "rabbitmq"}
CLIENTS = {"event_store": ["gateway", "worker"], "cache": ["gateway"], "broker": ["gateway", "worker"]}


def _model(networks: dict[str, list[str]], internal: dict[str, bool], services: dict | None = None) -> ComposeModel:
    images = services or IMAGES
    return ComposeModel({
        "services": {name: {"image": image, "networks": {n: None for n, members in networks.items() if name in members}}
                     for name, image in images.items()},
        "networks": {n: {"internal": True} if internal[n] else {} for n in networks},
        "x-conformance": {"roles": {r: s for r, s in ROLES.items() if s in images}, "clients": CLIENTS, "egress": ["edge"]},
    })


def _matrix(networks=NETWORKS, internal=INTERNAL, services=None) -> ReachabilityMatrix:
    model = _model(networks, internal, services)
    observation = Observation(
        internal=dict(internal), members={n: sorted(m) for n, m in networks.items()},
        reach={n: {} for n in networks}, names={n: {} for n in networks},
        # as the sentinel answers: from every network that is not internal, and from no other
        route_out={n: [not internal[n], "answered" if not internal[n] else "timed out"] for n in networks},
        bindings=[], seconds=1.0,
    )
    return ReachabilityMatrix(model, describe(model.raw), observation)


def _suite(name: str):
    spec = importlib.util.spec_from_file_location(f"suite_{name}", ROOT / "suites" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NETWORK = _suite("test_network")


def _judge(control, matrix) -> tuple[str, str]:
    """(observed, failure message or '') of a NET control on a recorded matrix."""
    seen = []
    try:
        control(matrix, seen.append)
    except AssertionError as failure:
        return " ".join(seen), str(failure).splitlines()[0]
    return " ".join(seen), ""


def test_peers_follow_the_roles_and_the_clients_table():
    links = peers(_matrix().platform)
    assert links["nginx"] == {"api-gateway"}
    assert links["api-gateway"] == {"nginx", "postgres", "redis", "rabbitmq"}
    assert links["order-service"] == {"postgres", "rabbitmq"}  # the gateway only through the broker
    assert links["redis"] == {"api-gateway"}
    assert unknown(_matrix().platform) == set()


def test_no_two_peers_are_frozen_together_and_the_reference_takes_two_waves():
    services = sorted(IMAGES)
    waves = independent_sets(services, peers(_matrix().platform))
    assert waves == [["api-gateway", "order-service"], ["nginx", "postgres", "rabbitmq", "redis"]]


def test_the_reference_needs_every_network_it_joins_and_only_the_edge_has_a_route_out():
    observed, failure = _judge(NETWORK.test_no_service_joins_a_network_its_role_does_not_need, _matrix())
    assert failure == "", failure
    assert "nginx needs frontend, public" in observed and "redis needs cache" in observed
    observed, failure = _judge(NETWORK.test_only_egress_roles_have_a_route_out, _matrix())
    assert failure == "" and "route out over public (nginx)" in observed, (observed, failure)


def test_a_worker_on_the_edge_network_and_a_cache_on_the_broker_network_are_named():
    wider = {**NETWORKS, "public": ["nginx", "order-service"], "backend": NETWORKS["backend"] + ["redis"]}
    _, failure = _judge(NETWORK.test_no_service_joins_a_network_its_role_does_not_need, _matrix(wider))
    assert "order-service joins public, where none of its peers is (nginx)" in failure
    assert "redis joins backend for api-gateway, already reached over cache; there it also reaches " \
           "order-service, rabbitmq" in failure
    _, failure = _judge(NETWORK.test_only_egress_roles_have_a_route_out, _matrix(wider))
    assert failure == "order-service has a route out over public", failure


def test_a_gateway_behind_an_open_frontend_has_a_route_out_it_does_not_need():
    open_frontend = {**INTERNAL, "frontend": False}
    _, failure = _judge(NETWORK.test_only_egress_roles_have_a_route_out, _matrix(internal=open_frontend))
    assert failure == "api-gateway has a route out over frontend", failure
    # The edge can now publish through frontend, so public is one network too many for it.
    _, failure = _judge(NETWORK.test_no_service_joins_a_network_its_role_does_not_need, _matrix(internal=open_frontend))
    assert failure.startswith("nginx joins public, where none of its peers is"), failure


def test_a_sentinel_no_open_network_reached_proves_nothing():
    matrix = _matrix()
    matrix.route_out = {n: replace(cell, observed=False) for n, cell in matrix.route_out.items()}
    _, failure = _judge(NETWORK.test_only_egress_roles_have_a_route_out, matrix)
    assert "so a missing route out proves nothing" in failure


def test_a_service_without_a_role_is_not_judged_and_may_be_anyones_peer():
    services = {**IMAGES, "sidecar": "team/sidecar:1"}
    networks = {**NETWORKS, "public": ["nginx", "sidecar"], "backend": NETWORKS["backend"] + ["sidecar"]}
    observed, failure = _judge(NETWORK.test_no_service_joins_a_network_its_role_does_not_need,
                               _matrix(networks, services=services))
    assert failure == "" and "not judged (no role): sidecar" in observed, (observed, failure)


def _container(healthcheck: dict) -> SimpleNamespace:
    return SimpleNamespace(attrs={"Config": {"Healthcheck": healthcheck}})


@pytest.mark.parametrize("declared, window", [
    # retries x (interval + timeout), one probe more, and the margin
    ({"Test": ["CMD", "pg_isready"], "Interval": 5e9, "Timeout": 5e9, "Retries": 5}, 5 * 10 + 5 + 5),
    ({"Test": ["CMD-SHELL", "x"], "Interval": 5e9, "Timeout": 10e9, "Retries": 5}, 5 * 15 + 10 + 5),
    # Docker's defaults for what a check leaves out: 30 s, 30 s, 3 retries
    ({"Test": ["CMD", "true"]}, 3 * 60 + 30 + 5),
])
def test_a_healthchecks_window_is_counted_the_way_the_engine_runs_probes(declared, window):
    assert healthcheck_of(_container(declared)).window_s == window


def test_a_container_without_a_healthcheck_has_none_to_judge():
    assert healthcheck_of(_container({"Test": ["NONE"]})) is None
    assert healthcheck_of(_container({})) is None
    assert isinstance(healthcheck_of(_container({"Test": ["CMD", "true"]})), Healthcheck)


def test_the_engines_probe_records_read_with_their_times_and_exit_codes():
    container = SimpleNamespace(attrs={"State": {"Health": {"Status": "healthy", "Log": [
        {"Start": "2026-12-07T07:50:01.123456789Z", "End": "2026-12-07T07:50:01.2Z", "ExitCode": 0, "Output": ""},
        {"Start": "2026-12-07T08:50:06+01:00", "End": "2026-12-07T08:50:11+01:00", "ExitCode": -1,
         "Output": "Health check exceeded timeout (5s)"},
        {"Start": "2026-12-07T07:50:16Z", "End": "2026-12-07T07:50:16.5Z", "ExitCode": 1, "Output": "heartbeat\nis 20 s old"},
    ]}}})
    passed, timed_out, failed = probes_of(container)
    assert not passed.failed and timed_out.failed and failed.failed
    assert timed_out.start - passed.start == pytest.approx(4.876543211, abs=1e-6)
    assert timed_out.end == engine_time("2026-12-07T07:50:11Z")
    assert (str(timed_out), str(failed)) == ("timed out", "exit code 1: heartbeat is 20 s old")


def test_a_container_without_health_has_no_probe_records():
    assert probes_of(SimpleNamespace(attrs={"State": {}})) == []


class _Probing:
    """A container whose engine records one more probe at each reload (no engine needed)."""

    def __init__(self, probes: list[tuple[str, int]]):
        self.pending, self.attrs = list(probes), {"State": {"Health": {"Status": "healthy", "Log": []}}}

    def reload(self):
        if self.pending:
            second, code = self.pending.pop(0)
            stamp = f"2026-12-07T07:50:{second}Z"
            self.attrs["State"]["Health"]["Log"].append({"Start": stamp, "End": stamp, "ExitCode": code, "Output": ""})


def test_only_a_probe_started_after_the_freeze_and_failed_is_evidence(monkeypatch):
    monkeypatch.setattr("fixtures.labs.freezer.POLL_S", 0)
    freezer = Freezer(client=None, project="p", image="i")
    since = engine_time("2026-12-07T07:50:10Z")
    # failed before the freeze, passed after it (a heartbeat still fresh), then failed: the last one counts
    container = _Probing([("05", 1), ("15", 0), ("20", -1)])
    found, state = freezer.wait_for_probe(container, since, failed=True, timeout_s=5)
    assert (found.start - since, found.exit_code, state) == (10, -1, "healthy")
    # a check that keeps passing gives no evidence, and the wait ends with the window
    passing = _Probing([("11", 0), ("16", 0)])
    assert freezer.wait_for_probe(passing, since, failed=True, timeout_s=0.05)[0] is None
