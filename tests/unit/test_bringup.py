"""Whether a stack that did not come up is judged: the account of what compose held back, from container states."""

from fixtures.engine.bringup import Container, account, not_judged
from fixtures.stack import ComposeModel

HEALTHY = {"condition": "service_healthy"}
# The reference platform's shape: data services, gateways and workers waiting on them healthy, the edge on the gateways.
MODEL = ComposeModel({"services": {
    "postgres": {}, "redis": {}, "rabbitmq": {},
    "api-gateway": {"deploy": {"replicas": 3}, "depends_on": {"postgres": HEALTHY, "redis": HEALTHY, "rabbitmq": HEALTHY}},
    "order-service": {"deploy": {"replicas": 2}, "depends_on": {"postgres": HEALTHY, "rabbitmq": HEALTHY}},
    "nginx": {"depends_on": {"api-gateway": HEALTHY}},
}}, {})


def _stack(broker: Container, app_status: str = "created", nginx: Container | None = None) -> list[Container]:
    data = [Container("postgres", "p-postgres-1", "running", "healthy"), Container("redis", "p-redis-1", "running", "healthy")]
    apps = [Container("api-gateway", f"p-api-gateway-{i}", app_status) for i in (1, 2, 3)]
    apps += [Container("order-service", f"p-order-service-{i}", app_status) for i in (1, 2)]
    return [*data, broker, *apps, nginx or Container("nginx", "p-nginx-1", "created")]


def test_a_broker_without_a_healthcheck_holds_back_its_dependants_and_is_named():
    text = account(MODEL, _stack(Container("rabbitmq", "p-rabbitmq-1", "running", "")))
    assert text == ("api-gateway ×3, order-service ×2, nginx never started: api-gateway, order-service wait for "
                    "rabbitmq to be healthy: p-rabbitmq-1 runs without a healthcheck")
    assert not_judged(text).startswith("not judged: the stack did not come up healthy (see HEALTH-002): api-gateway ×3")


def test_the_verdict_does_not_depend_on_how_the_dependency_failed():
    for broker, said in [(Container("rabbitmq", "p-rabbitmq-1", "running", "unhealthy"), "p-rabbitmq-1 is unhealthy"),
                         (Container("rabbitmq", "p-rabbitmq-1", "running", "starting"), "p-rabbitmq-1 is still starting"),
                         (Container("rabbitmq", "p-rabbitmq-1", "exited", exit_code=137), "p-rabbitmq-1 exited with code 137"),
                         (Container("rabbitmq", "p-rabbitmq-1", "created", error="cannot bind :443"),
                          "p-rabbitmq-1 was refused by the engine: cannot bind :443")]:
        text = account(MODEL, _stack(broker))
        assert text.startswith("api-gateway ×3, order-service ×2, nginx never started") and text.endswith(said), text


def test_a_container_the_engine_refused_by_itself_leaves_the_rest_judged():
    # RUNTIME mutants keep nginx from starting; everything it would serve runs and is judged.
    containers = _stack(Container("rabbitmq", "p-rabbitmq-1", "running", "healthy"), app_status="running",
                        nginx=Container("nginx", "p-nginx-1", "created", error="privileged port"))
    assert account(MODEL, containers) == ""


def test_an_unhealthy_container_with_every_container_started_is_judged():
    containers = _stack(Container("rabbitmq", "p-rabbitmq-1", "running", "unhealthy"), app_status="running",
                        nginx=Container("nginx", "p-nginx-1", "running", "unhealthy"))
    assert account(MODEL, containers) == ""


def test_replicas_compose_never_created_count_as_never_started():
    containers = [c for c in _stack(Container("rabbitmq", "p-rabbitmq-1", "running", "healthy"), app_status="running",
                                    nginx=Container("nginx", "p-nginx-1", "running", "healthy"))
                  if c.name != "p-api-gateway-3"]
    assert account(MODEL, containers) == "api-gateway never started"


def test_a_stack_with_nothing_running_is_not_judged():
    assert account(MODEL, []) == "no container of the stack is running"
    exited = [Container(name, f"p-{name}-1", "exited", exit_code=1) for name in MODEL.services]
    assert account(MODEL, exited) == "no container of the stack is running"


def test_compose_stopping_at_a_refused_container_leaves_what_it_had_not_reached_judged():
    # RUNTIME mutants: one order-service replica refused (a capability), compose stops there with the
    # gateways still starting; the other replica and nginx stay created, waiting on nothing that failed.
    containers = _stack(Container("rabbitmq", "p-rabbitmq-1", "running", "healthy"), app_status="created")
    containers = [c if c.service != "api-gateway" else Container("api-gateway", c.name, "running", "starting")
                  for c in containers]
    containers = [c if c.name != "p-order-service-1" else Container("order-service", c.name, "created", error="unable to apply caps")
                  for c in containers]
    assert account(MODEL, containers) == ""


def test_a_dependency_still_starting_when_compose_gave_up_is_said():
    containers = [c if c.service != "api-gateway" else Container("api-gateway", c.name, "running", "starting")
                  for c in _stack(Container("rabbitmq", "p-rabbitmq-1", "running", "healthy"), app_status="running")]
    assert account(MODEL, containers) == ("nginx never started: nginx waits for api-gateway to be healthy: "
                                          "p-api-gateway-1 is still starting; p-api-gateway-2 is still starting; "
                                          "p-api-gateway-3 is still starting")


def test_a_refused_dependency_holds_back_its_dependants_like_any_other_failure():
    containers = _stack(Container("rabbitmq", "p-rabbitmq-1", "created", error="unable to apply caps"))
    assert account(MODEL, containers).endswith("p-rabbitmq-1 was refused by the engine: unable to apply caps")
