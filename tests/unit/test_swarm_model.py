"""The SWARM chapter's reading of `deploy:` (fixtures/deploy_model.py) and who it applies to."""

from types import SimpleNamespace

import pytest
import yaml

from fixtures import targets
from fixtures import deploy_model
from fixtures.platform import Platform
from fixtures.platform.description import RoleBinding
from fixtures.paths import ROOT
from fixtures.stack import ComposeModel
from suites.test_runtime import restart_fault, swarm_restart_policies

SWARM = ("target:orchestrated_by_swarm",)


@pytest.mark.parametrize("value, expected", [
    ("1m20s", 80.0), ("80s", 80.0), ("500ms", 0.5), ("2m0s", 120.0), ("1h", 3600.0), (30, 30.0), ("15", 15.0),
    (None, None), ("", None),
])
def test_a_compose_duration_is_seconds(value, expected):
    assert deploy_model.seconds(value) == expected


def test_a_duration_that_is_none_is_said():
    with pytest.raises(ValueError, match="'soon' is not a duration"):
        deploy_model.seconds("soon")
    assert deploy_model.seconds(None, 5.0) == 5.0


def test_the_healthcheck_window_is_start_period_and_retries_of_interval_and_timeout():
    window = deploy_model.health_window({"healthcheck": {"test": ["CMD", "true"], "interval": "5s", "timeout": "5s", "retries": 6,
                                            "start_period": "20s"}})
    assert window.seconds == 80 and str(window) == (
        "start_period 20s + 6 retries x (interval 5s + timeout 5s) = 80s")
    # Docker's defaults for what is left out: 30 s, 30 s, 3 retries, no start period.
    assert deploy_model.health_window({"healthcheck": {"test": ["CMD", "true"]}}).seconds == 180
    assert deploy_model.health_window({"healthcheck": {"disable": True}}) is None
    assert deploy_model.health_window({"healthcheck": {"test": ["NONE"]}}) is None
    assert deploy_model.health_window({}) is None


def test_replicas_default_to_one_and_global_has_none():
    assert deploy_model.replicas_of({}) == 1
    assert deploy_model.replicas_of({"deploy": {"replicas": 3}}) == 3
    assert deploy_model.replicas_of({"deploy": {"mode": "global"}}) is None


def test_a_pin_names_a_node_or_labelled_nodes_or_the_managers():
    def pins(*constraints):
        return deploy_model.pinning_constraints({"deploy": {"placement": {"constraints": list(constraints)}}})

    assert pins("node.hostname == db1", "node.labels.db == true", "node.role == manager") == [
        "node.hostname == db1", "node.labels.db == true", "node.role == manager"]
    assert pins("node.role == worker", "node.platform.os == linux", "node.labels.db != true") == []
    assert deploy_model.pinning_constraints({}) == []


def test_an_unpinned_data_service_gives_its_reason_in_a_label():
    assert deploy_model.unpinned_reason({"labels": {"io.conformance.swarm.unpinned": "volume on NFS"}}) == "volume on NFS"
    assert deploy_model.unpinned_reason({"deploy": {"labels": {"io.conformance.swarm.unpinned": "shared"}}}) == "shared"
    assert deploy_model.unpinned_reason({"labels": {"other": "x"}}) == ""


def test_a_service_with_no_network_is_on_the_default_one():
    assert deploy_model.service_networks({}) == ["default"]
    assert deploy_model.service_networks({"network_mode": "host"}) == []
    assert deploy_model.service_networks({"networks": {"b": None, "a": {}}}) == ["a", "b"]


def test_updated_services_are_chosen_by_role_and_replicas_never_one_shots_nor_data():
    model = ComposeModel({"services": {
        "db": {"deploy": {"replicas": 2}}, "proxy": {}, "api": {"deploy": {"replicas": 3}}, "jobs": {},
        "scaled": {"deploy": {"replicas": 2}}, "everywhere": {"deploy": {"mode": "global"}}, "lonely": {},
        "migrate": {"deploy": {"replicas": 2}},
        "init": {}, "uses-init": {"depends_on": {"init": {"condition": "service_completed_successfully"}}},
    }})
    platform = Platform(roles={"event_store": RoleBinding(["db"]), "edge": RoleBinding(["proxy"]),
                               "gateway": RoleBinding(["api"]), "worker": RoleBinding(["jobs"]),
                               "migrations": RoleBinding(["migrate"])})
    assert deploy_model.updated_services(model, platform) == ["api", "everywhere", "jobs", "proxy", "scaled"]


def test_swarm_controls_apply_to_a_swarm_model_only():
    reason = ("SWARM controls judge a platform deployed on Docker Swarm: run with --target swarm, "
              "or --target static --orchestrator swarm to judge the compose file for Swarm")
    static = targets.get("static")
    assert static.unmet(SWARM) == reason
    assert static.unmet(SWARM, SimpleNamespace(orchestrator="compose")) == reason
    assert static.unmet(SWARM, SimpleNamespace(orchestrator="swarm")) is None
    # The option is static's: the compose target runs a compose platform whatever it says.
    assert targets.get("compose").unmet(SWARM, SimpleNamespace(orchestrator="swarm")) == reason
    assert static.unmet(("target:live",), SimpleNamespace(orchestrator="swarm")) == (
        "a live control: --target static judges the compose model only")


@pytest.mark.parametrize("service, compose, swarm", [
    ({"restart": "unless-stopped"}, ("unless-stopped", 0), ("always", 0)),  # Swarm ignores restart: and runs `any`
    ({"restart": "on-failure:3"}, ("on-failure", 3), ("always", 0)),
    ({}, ("no", 0), ("always", 0)),
    # deploy.restart_policy is what both run, whatever restart: says.
    ({"restart": "unless-stopped", "deploy": {"restart_policy": {"condition": "none"}}}, ("no", 0), ("no", 0)),
    ({"restart": "no", "deploy": {"restart_policy": {"condition": "on-failure", "max_attempts": 5}}},
     ("on-failure", 5), ("on-failure", 5)),
    ({"deploy": {"restart_policy": {"condition": "any"}}}, ("always", 0), ("always", 0)),
    # No condition: Swarm's default any; compose gives the engine an empty name, which is no.
    ({"restart": "always", "deploy": {"restart_policy": {"window": "120s"}}}, ("no", 0), ("always", 0)),
])
def test_the_restart_policy_is_the_one_the_orchestrator_runs(service, compose, swarm):
    assert deploy_model.restart_policy(service, False) == compose
    assert deploy_model.restart_policy(service, True) == swarm


@pytest.mark.parametrize("stack_file", ["stack/docker-compose.yml", "stack/pliers/docker-compose.yml"])
def test_the_reference_platforms_restart_on_failure_five_times_on_both(stack_file):
    """The reference files as written (x-restart-policy under every service's deploy:, beside
    `restart: unless-stopped`): RUNTIME-010 and CONFIG-002 read the same bounded policy on both."""
    services = yaml.safe_load((ROOT / stack_file).read_text())["services"]
    for orchestrated_by_swarm in (False, True):
        policies = {name: deploy_model.restart_policy(service, orchestrated_by_swarm) for name, service in services.items()}
        long_running = {p for name, p in policies.items() if name != "migrations"}
        assert long_running == {("on-failure", 5)}, policies
        assert policies.get("migrations", ("on-failure", 3)) == ("on-failure", 3)


def _runtime_010_on_swarm(services: dict) -> list[str]:
    return [fault for label, policy in swarm_restart_policies(services).items() if (fault := restart_fault(label, *policy))]


def test_runtime_010_on_swarm_judges_each_service_policy_not_the_tasks_containers():
    """The first `--target swarm` run failed RUNTIME-010 on every task (their containers' policy is
    `no`); read from the reference file as Swarm runs it, it passes, and the live Swarm mutant that
    stops the gateway restarting (tests/mutants/swarm/gateway-never-restarts-on-swarm.yml) fails it."""
    services = yaml.safe_load((ROOT / "stack/docker-compose.yml").read_text())["services"]
    assert _runtime_010_on_swarm(services) == []
    mutant = yaml.safe_load((ROOT / "tests/mutants/swarm/gateway-never-restarts-on-swarm.yml").read_text())
    services["api-gateway"]["deploy"]["restart_policy"] = mutant["services"]["api-gateway"]["deploy"]["restart_policy"]
    assert _runtime_010_on_swarm(services) == ["api-gateway's deploy.restart_policy (no)"]
    services["api-gateway"]["deploy"]["restart_policy"] = {"condition": "on-failure", "max_attempts": 9}
    assert _runtime_010_on_swarm(services) == ["api-gateway's deploy.restart_policy (on-failure:9)"]
    # Without a policy Swarm restarts the task forever: a restart policy, RUNTIME-010 passes (SWARM-005 bounds it).
    del services["api-gateway"]["deploy"]["restart_policy"]
    assert _runtime_010_on_swarm(services) == []
