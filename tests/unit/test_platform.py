"""The platform description: inferred from small compose models, declared, overridden, and its mistakes."""

import pytest

from fixtures.errors import HarnessError
from fixtures.platform import describe
from fixtures.platform.declaration import referenced_secrets


def _model(services: dict, **top) -> dict:
    return {"services": services, **top}


INFERENCE_CASES = [
    # (name, services, expected role -> services)
    ("reference names", {"nginx": {"image": "conformance/nginx:1", "ports": [{"target": 8443}]},
                         "api-gateway": {"image": "conformance/api-gateway:1", "expose": ["8000"],
                                         "environment": {"RABBITMQ_URL": "amqp://orders:x@rabbitmq:5672/"}},
                         "order-service": {"image": "conformance/order-service:1",
                                           "environment": ["RABBITMQ_URL=amqp://orders:x@rabbitmq:5672/"]},
                         "postgres": {"image": "conformance/postgres:1"}, "redis": {"image": "conformance/redis:1"},
                         "rabbitmq": {"image": "conformance/rabbitmq:1"}},
     {"edge": ["nginx"], "gateway": ["api-gateway"], "worker": ["order-service"], "event_store": ["postgres"],
      "cache": ["redis"], "broker": ["rabbitmq"]}),
    # No edge routes to it, so a built app is an application whatever its name says.
    ("a database named db, no broker, no edge", {"web": {"build": {"context": "."}}, "db": {"image": "postgres:16"}},
     {"application": ["web"], "event_store": ["db"]}),
    ("an edge named proxy (traefik), routed by the app's labels",
     {"proxy": {"image": "traefik:v3.0", "ports": [{"target": 443}]},
      "api": {"image": "team/api:2", "labels": {"traefik.http.routers.api.rule": "PathPrefix(`/api`)"}}},
     {"edge": ["proxy"], "gateway": ["api"]}),
    ("the edge's dependency is its gateway, not the word in a name",
     {"lb": {"image": "haproxy:2.9", "ports": [{"target": 8080}], "depends_on": {"shop": {}}},
      "shop": {"image": "acme/shop:1.4"}, "api": {"image": "acme/api-docs:1", "expose": ["80"], "networks": {"docs": None}}},
     {"edge": ["lb"], "gateway": ["shop"], "application": ["api"]}),
    ("an edge whose routes live in its image routes to the listening services beside it",
     {"lb": {"image": "haproxy:2.9", "ports": [{"target": 8080}]},
      "shop": {"image": "acme/shop:1.4", "healthcheck": {"test": ["CMD", "curl", "-f", "http://127.0.0.1:8080/ping"]}}},
     {"edge": ["lb"], "gateway": ["shop"]}),
    ("renamed data services by command", {"store": {"image": "internal/base:3", "command": ["postgres", "-c", "x=1"]},
                                          "kv": {"image": "internal/base:3", "command": "redis-server --appendonly yes"}},
     {"event_store": ["store"], "cache": ["kv"]}),
    ("workers by name", {"mail-worker": {"image": "acme/worker:1"}, "queue": {"image": "rabbitmq:3.13-management"}},
     {"worker": ["mail-worker"], "broker": ["queue"]}),
    ("observability", {"jaeger": {"image": "jaegertracing/all-in-one:1.57"}, "es": {"image": "opensearchproject/opensearch:2"},
                       "grafana": {"image": "grafana/grafana:11.5.0"}, "prom": {"image": "prom/prometheus:v2.53.0"}},
     {"tracing": ["jaeger"], "search": ["es"], "dashboards": ["grafana"], "metrics": ["prom"]}),
    ("a static site behind the proxy", {"edge": {"image": "nginx:1.27", "ports": [{"target": 443}]},
                                        "site": {"image": "nginx:1.27"}},
     {"edge": ["edge"], "web": ["site"]}),
    ("nothing recognisable", {"devbox": {"image": "ubuntu:24.04"}}, {}),
    # A migration by structure, whatever its name or image: a one-shot the services wait on
    # to complete that logs in to a database. A one-shot without a database login is none.
    ("a one-shot that logs in to the database", {
        "db": {"image": "postgres:16"},
        "schema-job": {"image": "postgres:16", "environment": {"PGHOST": "db", "PGUSER": "owner"}},
        "seed-files": {"image": "busybox:1"},
        "api": {"image": "team/api:2", "expose": ["8000"], "depends_on": {
            "schema-job": {"condition": "service_completed_successfully"},
            "seed-files": {"condition": "service_completed_successfully"}}}},
     {"event_store": ["db"], "migrations": ["schema-job"], "application": ["api"]}),
    ("a database client nobody waits on", {
        "db": {"image": "postgres:16"},
        "report": {"image": "acme/report:1", "environment": {"DATABASE_URL": "postgres://r:x@db/app"}}},
     {"event_store": ["db"]}),
]


@pytest.mark.parametrize("name, services, expected", INFERENCE_CASES, ids=[c[0] for c in INFERENCE_CASES])
def test_roles_are_inferred_from_images_commands_and_names(name, services, expected):
    platform = describe(_model(services))
    assert {role: binding.services for role, binding in platform.roles.items()} == expected
    assert platform.source == "inferred"


def test_a_plain_model_reports_a_summary_with_every_role_and_the_unassigned():
    platform = describe(_model({"db": {"image": "postgres:16"}, "devbox": {"image": "ubuntu:24.04"}}))
    summary = platform.summary()
    assert summary.startswith("edge=-, gateway=-")
    assert "event_store=db (postgres)" in summary and "broker=-" in summary and summary.endswith("no role: devbox")


def test_declared_roles_win_and_claim_their_services_from_inference():
    model = _model({"api": {"image": "a:1"}, "jobs": {"image": "a:1"}, "db": {"image": "postgres:16"}},
                   **{"x-conformance": {"roles": {"worker": "jobs", "gateway": {"services": ["api"], "ports": [8000]}}}})
    platform = describe(model)
    assert platform.services_of("worker") == ["jobs"] and platform.services_of("gateway") == ["api"]
    assert platform.roles["gateway"].ports == [8000] and platform.roles["gateway"].source == "declared"
    assert platform.services_of("event_store") == ["db"]  # not declared: still inferred
    assert platform.source == "x-conformance"


def test_an_empty_role_says_the_platform_has_none():
    model = _model({"q": {"image": "rabbitmq:3"}}, **{"x-conformance": {"roles": {"broker": []}}})
    assert not describe(model).has("broker")


def test_the_platform_file_overrides_the_compose_declaration(tmp_path):
    model = _model({"a": {"image": "x:1"}, "b": {"image": "x:1"}}, **{"x-conformance": {"roles": {"gateway": "a"}}})
    override = tmp_path / "platform.yml"
    override.write_text("roles:\n  gateway: b\napp:\n  health_path: /healthz\n")
    platform = describe(model, (), str(override))
    assert platform.services_of("gateway") == ["b"] and platform.app == {"health_path": "/healthz"}
    assert platform.source == f"--platform {override}"


def test_clients_follow_roles_to_services():
    model = _model({"api": {"image": "x:1"}, "db": {"image": "postgres:16"}, "cache": {"image": "redis:7"}},
                   **{"x-conformance": {"roles": {"gateway": "api"}, "clients": {"cache": ["gateway"]}}})
    assert describe(model).data_service_clients() == {"db": {"api"}, "cache": {"api"}}


@pytest.mark.parametrize("needs, reason", [
    (("broker",), "the platform has no broker"),
    (("event_store:postgres",), None),
    (("cache:redis",), "the cache (kv) runs memcached; this control judges redis"),
    (("app",), "the platform declares no application contract (x-conformance: app)"),
])
def test_a_missing_need_gives_one_reason(needs, reason):
    platform = describe(_model({"db": {"image": "postgres:16"}, "kv": {"image": "memcached:1.6"}}))
    assert platform.missing(needs) == reason


@pytest.mark.parametrize("declaration, fragment", [
    ({"roles": {"broker": "rabbit"}}, "role broker names service rabbit, which the compose model does not define"),
    ({"roles": {"database": "db"}}, "unknown key database"),
    ({"rolez": {}}, "unknown key rolez"),
    ({"clients": {"event_store": ["frontend"]}}, "unknown role frontend"),
    ({"app": {"health": "/h"}}, "unknown key health"),
    ({"roles": {"edge": {"services": "db", "technology": "apache2"}}}, "technology 'apache2' of role edge is unknown"),
])
def test_mistakes_in_a_description_are_one_line_of_bad_input(declaration, fragment):
    with pytest.raises(HarnessError) as error:
        describe(_model({"db": {"image": "postgres:16"}}, **{"x-conformance": declaration}))
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_secret_variables_are_the_secret_named_references_of_every_file():
    base = "environment:\n  - DB_PASSWORD=${DB_PASSWORD:-x}\n  - HOST=${DB_HOST}\n"
    override = "command: --token ${API_TOKEN}\n"
    assert referenced_secrets([base, override]) == ["API_TOKEN", "DB_PASSWORD"]


def test_platform_survives_its_json_round_trip():
    platform = describe(_model({"db": {"image": "postgres:16"}}))
    assert type(platform).from_dict(platform.to_dict()) == platform
