"""The inference table: technologies recognised by image, command, build context and ports, never by a name.

Each case is a service as a public compose file writes it (Sentry, Supabase, Zulip, the
OpenTelemetry demo, Mastodon, awesome-compose ...), reduced to what recognition reads.
"""

import pytest

from fixtures.platform import describe
from fixtures.platform.technologies import base_image, recognise

RECOGNISED = [
    # (what, service, technology)
    ("MongoDB", {"image": "mongo:7.0"}, "mongodb"),
    ("MongoDB community server", {"image": "mongodb/mongodb-community-server:7.0-ubi8"}, "mongodb"),
    ("bitnami MongoDB", {"image": "bitnami/mongodb:7.0"}, "mongodb"),
    ("MSSQL (image named `server`)", {"image": "mcr.microsoft.com/mssql/server:2022-latest"}, "mssql"),
    ("Azure SQL Edge", {"image": "mcr.microsoft.com/azure-sql-edge:1.0.7"}, "mssql"),
    ("ClickHouse", {"image": "clickhouse/clickhouse-server:24.3"}, "clickhouse"),
    ("ClickHouse by Altinity", {"image": "altinity/clickhouse-server:23.8.11.29.altinitystable"}, "clickhouse"),
    ("Kafka (Confluent)", {"image": "confluentinc/cp-kafka:7.6.1"}, "kafka"),
    ("Kafka (Apache)", {"image": "apache/kafka:3.7.0"}, "kafka"),
    ("Redpanda", {"image": "docker.redpanda.com/redpandadata/redpanda:v23.3.11"}, "kafka"),
    ("Memcached", {"image": "memcached:1.6.26-alpine"}, "memcached"),
    ("Valkey (judged as Redis)", {"image": "valkey/valkey:8.0"}, "redis"),
    ("KeyDB (judged as Redis)", {"image": "eqalpha/keydb:alpine_x86_64_v6.3.4"}, "redis"),
    ("redismod", {"image": "redislabs/redismod:latest"}, "redis"),
    ("Redis Stack", {"image": "redis/redis-stack-server:7.2.0-v10"}, "redis"),
    ("Envoy", {"image": "envoyproxy/envoy:v1.30-latest"}, "envoy"),
    ("Kong (Supabase)", {"image": "kong:2.8.1"}, "kong"),
    ("Kong Gateway", {"image": "kong/kong-gateway:3.6"}, "kong"),
    ("Caddy", {"image": "caddy:2.8-alpine"}, "caddy"),
    ("HAProxy", {"image": "haproxy:2.9"}, "haproxy"),
    ("Traefik", {"image": "traefik:v3.0"}, "traefik"),
    ("Zulip's PostgreSQL", {"image": "zulip/zulip-postgresql:14"}, "postgres"),
    ("Supabase's PostgreSQL", {"image": "supabase/postgres:15.1.1.78"}, "postgres"),
    ("PgBouncer", {"image": "edoburu/pgbouncer:1.22.1-p0"}, "pgbouncer"),
    ("Supavisor (a pooler)", {"image": "supabase/supavisor:1.1.56"}, "pgbouncer"),
    ("Redis by its command", {"image": "internal/base:3", "command": "redis-server --appendonly yes"}, "redis"),
    ("a database by a port only it uses", {"image": "internal/base:3", "expose": ["5432"]}, "postgres"),
]
NOT_RECOGNISED = [
    ("an exporter of Redis", {"image": "oliver006/redis_exporter:v1.62.0"}),
    ("a UI for Kafka", {"image": "provectuslabs/kafka-ui:v0.7.2"}),
    ("Mongo Express", {"image": "mongo-express:1.0.2"}),
    ("Supabase's postgres-meta", {"image": "supabase/postgres-meta:v0.80.0"}),
    ("PostgREST", {"image": "postgrest/postgrest:v12.0.1"}),
    ("Supabase's storage API", {"image": "supabase/storage-api:v1.0.6"}),
    ("Snuba", {"image": "getsentry/snuba:24.5.0"}),
    ("an app on a port that says nothing", {"image": "team/app:1", "expose": ["3000", "9000"]}),
]


@pytest.mark.parametrize("what, service, technology", RECOGNISED, ids=[c[0] for c in RECOGNISED])
def test_a_technology_is_recognised_by_its_image_command_or_port(what, service, technology):
    found = recognise(service)
    assert found is not None and found.name == technology, found


@pytest.mark.parametrize("what, service", NOT_RECOGNISED, ids=[c[0] for c in NOT_RECOGNISED])
def test_tools_around_a_technology_are_not_the_technology(what, service):
    assert recognise(service) is None


def _dockerfile(tmp_path, text: str) -> dict:
    (tmp_path / "Dockerfile").write_text(text)
    return {"context": str(tmp_path)}


@pytest.mark.parametrize("dockerfile, image", [
    ("FROM envoyproxy/envoy:v1.32-latest\nCOPY envoy.tmpl.yaml /\n", "envoyproxy/envoy:v1.32-latest"),
    ("FROM node:20 AS build\nRUN npm ci\nFROM nginx:1.27-alpine\nCOPY --from=build /app /usr/share/nginx/html\n",
     "nginx:1.27-alpine"),
    ("FROM --platform=$BUILDPLATFORM altinity/clickhouse-server:23.8 AS base\nFROM base\n",
     "altinity/clickhouse-server:23.8"),
    ("ARG BASE\nFROM ${BASE}\n", ""),
])
def test_a_build_context_names_its_base_image(tmp_path, dockerfile, image):
    assert base_image(_dockerfile(tmp_path, dockerfile)) == image


def test_a_build_only_service_is_recognised_by_its_dockerfile(tmp_path):
    """The OpenTelemetry demo's frontend-proxy: built from a Dockerfile FROM envoy, its image a project's tag."""
    build = _dockerfile(tmp_path, "FROM envoyproxy/envoy:v1.32-latest\n")
    assert recognise({"image": "ghcr.io/open-telemetry/demo:1.12.0-frontend-proxy", "build": build}).name == "envoy"
    assert recognise({"build": {"context": str(tmp_path / "missing")}}) is None


def test_a_build_only_nginx_is_the_edge(tmp_path):
    build = _dockerfile(tmp_path, "FROM node:20 AS build\nRUN npm ci\nFROM nginx:1.27-alpine\nCOPY --from=build /a /b\n")
    platform = describe({"services": {"frontend": {"build": build, "ports": [{"target": 8080}]},
                                      "api": {"image": "team/api:2"}}})
    assert platform.services_of("edge") == ["frontend"] and platform.technology("edge") == "nginx"


ROLE_CASES = [
    # (what, services, role -> services, summary fragment)
    ("ClickHouse is data, not a gateway by the word `server`",
     {"clickhouse": {"image": "clickhouse/clickhouse-server:24.3"}, "web": {"image": "getsentry/sentry:24.5.0"}},
     {"event_store": ["clickhouse"], "gateway": ["web"]}, "event_store=clickhouse (clickhouse)"),
    ("Supabase: Kong is the edge",
     {"kong": {"image": "kong:2.8.1", "ports": [{"target": 8000, "published": "8000"}]},
      "storage": {"image": "supabase/storage-api:v1.0.6"}, "db": {"image": "supabase/postgres:15.1.1.78"},
      "rest": {"image": "postgrest/postgrest:v12.0.1", "command": "postgrest"}},
     {"edge": ["kong"], "event_store": ["db"], "gateway": ["storage"]}, "edge=kong (kong)"),
    ("a mixed cache is one role judged as Redis, each service named with its technology",
     {"memcached": {"image": "memcached:1.6.26-alpine"}, "redis": {"image": "redis:6.2.14-alpine"}},
     {"cache": ["redis", "memcached"]}, "cache=redis (redis)+memcached (memcached)"),
    ("a built app that listens is an application",
     {"plausible": {"image": "ghcr.io/plausible/community-edition:v2.1.1", "ports": [{"target": 8000}]},
      "plausible_db": {"image": "postgres:16-alpine"}},
     {"application": ["plausible"], "event_store": ["plausible_db"]}, "application=plausible"),
    ("a Celery worker by its command",
     {"taiga-async": {"image": "taigaio/taiga-back:latest", "command": ["/taiga-back/docker/async_entrypoint.sh"]},
      "celery": {"image": "team/app:1", "command": "celery -A proj worker"}},
     {"worker": ["celery"]}, "worker=celery"),
]


@pytest.mark.parametrize("what, services, expected, fragment", ROLE_CASES, ids=[c[0] for c in ROLE_CASES])
def test_roles_follow_technologies_not_service_names(what, services, expected, fragment):
    platform = describe({"services": services})
    assert {role: binding.services for role, binding in platform.roles.items()} == expected
    assert fragment in platform.summary()


def test_a_mixed_cache_is_judged_as_redis_on_its_redis_service():
    platform = describe({"services": {"cache": {"image": "memcached:1.6"}, "redis": {"image": "redis:7.2"}}})
    assert platform.technology("cache") == "redis" and platform.service("cache") == "redis"
    assert platform.missing(("cache:redis",)) is None
    assert platform.technology_of("cache") == "memcached"


def test_technologies_recognised_but_not_judged_live_are_named():
    platform = describe({"services": {"cache": {"image": "memcached:1.6"}, "redis": {"image": "redis:7.2"},
                                      "db": {"image": "mongo:7.0"}, "proxy": {"image": "caddy:2.8"}}})
    assert platform.not_judged_live() == ["db (mongodb)", "cache (memcached)"]


def test_a_declared_role_of_two_technologies_names_each():
    model = {"services": {"kv": {"image": "memcached:1.6"}, "sessions": {"image": "valkey/valkey:8.0"}},
             "x-conformance": {"roles": {"cache": ["kv", "sessions"]}}}
    platform = describe(model)
    assert platform.technology("cache") == "redis" and platform.service("cache") == "sessions"
    assert platform.roles["cache"].ports == [6379, 11211] and platform.roles["cache"].source == "declared"
