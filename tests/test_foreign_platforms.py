"""Compose files of shapes this repo never wrote, judged with zero configuration (roles inferred).

Each must be judged — exit 0 or 1, never 4, no traceback — with exactly the controls its
shape breaks failing and every other control passed or not applicable.
"""

from pathlib import Path

import pytest

from tests.suite_runner import run_suite

FOREIGN = Path(__file__).resolve().parent / "platforms" / "foreign"

# file -> {control: why it fails there}
EXPECTED_FINDINGS = {
    "webapp-db.yml": {
        "CONFIG-001": "no limits anywhere",
        "CONFIG-003": "web is build-only: no pinned image",
        "CONFIG-004": "POSTGRES_PASSWORD falls back to `changeme`, and so does the URL",
        "CONFIG-009": "web publishes 8000 on every interface",
        "CONFIG-010": "there is no edge; web publishes",
        "HEALTH-001": "web has no healthcheck",
        "CONFIG-011": "no service declares read_only",
        "OBS-003": "no service declares logging: the engine's defaults, unbounded json-file unless daemon.json says otherwise",
    },
    "traefik-api-cache.yml": {
        "CONFIG-004": "the cache's healthcheck passes its password on the command line (redis-cli -a)",
        "CONFIG-005": "the cache keeps /data on no volume",
        "CONFIG-011": "no service declares read_only",
        "OBS-003": "no service declares logging",
    },
    "haproxy-queue-workers.yml": {
        "CONFIG-004": "the broker's password comes from a variable nobody sets: it resolves to nothing",
        "CONFIG-005": "MySQL keeps its data on a tmpfs",
        "CONFIG-011": "no service declares read_only",
        "OBS-003": "no service declares logging",
    },
    "observability.yml": {
        "CONFIG-001": "no limits", "CONFIG-002": "no restart policy",
        "CONFIG-003": "prometheus:latest", "CONFIG-004": "Grafana's admin password is written in",
        "CONFIG-009": "Elasticsearch and Jaeger on every interface", "CONFIG-010": "no edge; everything publishes",
        "HEALTH-001": "no healthchecks", "CONFIG-011": "no service declares read_only",
        "OBS-003": "no service declares logging, Elasticsearch's own included",
        "CRED-020": "Elasticsearch runs with xpack.security.enabled=false",
    },
    "pliers-seed-002.yml": {
        "CONFIG-001": "no limits", "CONFIG-003": "api, ai-service and web are build-only",
        "CONFIG-008": "traefik mounts the Docker socket", "CONFIG-009": "every port on every interface",
        "CONFIG-010": "postgres, redis, api, ai-service and web publish besides the edge",
        "HEALTH-001": "traefik has no healthcheck", "CONFIG-011": "no service declares read_only",
        "CONFIG-017": "traefik publishes 80 and 443, privileged ports",
        "OBS-003": "seed 002's compose file declares no logging for any service",
        "CRED-020": "redis runs as the image starts it, with no password (redis-server --appendonly yes)",
    },
    "mastodon-trust-auth.yml": {
        "CONFIG-010": "web and streaming publish (on loopback) and there is no edge",
        "CRED-020": "the database trusts every connection (POSTGRES_HOST_AUTH_METHOD=trust); Redis has no password",
        "OBS-003": "no service declares logging",
    },
    "sentry-mixed-cache.yml": {
        "CONFIG-011": "no service declares read_only",
        "CRED-020": "PostgreSQL trusts every connection; memcached without SASL and Redis without a password",
        "OBS-003": "no service declares logging",
    },
    "clickhouse-analytics.yml": {
        "CONFIG-010": "the app publishes (on loopback) and there is no edge",
        "CONFIG-011": "no service declares read_only",
        "OBS-003": "no service declares logging",
    },
    "supabase-kong-edge.yml": {
        "CONFIG-009": "analytics publishes 4000 on every interface", "CONFIG-010": "analytics publishes besides Kong",
        "OBS-003": "no service declares logging",
    },
    "mongo-app.yml": {
        "CONFIG-010": "the app publishes (on loopback) and there is no edge",
        "CRED-020": "MongoDB has no root user, so no auth",
        "OBS-003": "no service declares logging",
    },
    "kafka-pipeline.yml": {
        "CONFIG-009": "the Kafka UI publishes on every interface", "CONFIG-010": "the Kafka UI publishes; there is no edge",
        "OBS-003": "no service declares logging",
    },
    "otel-envoy-frontend.yml": {
        "CRED-020": "the Valkey cart cache has no password",
        "OBS-003": "no service declares logging",
    },
    # Issue 21's shapes. Every secret a Docker secret; `>/dev/null`, `>> "$FILE"` and `>&2` on
    # healthcheck lines are no Redis ACL passwords, and `disable: false` keeps the image's check.
    "zulip-like-redirect-healthchecks.yml": {"OBS-003": "no service declares logging: rotation is left to daemon.json"},
    "netbox-like-env-files/docker-compose.yml": {
        "CONFIG-001": "no limits",
        "CONFIG-004": "env/*.env hold the database, Redis and Django secrets (and an empty EMAIL_PASSWORD)",
        "CONFIG-011": "no service declares read_only", "OBS-003": "no service declares logging",
    },
    "taiga-like-committed-dotenv/docker-compose.yml": {
        "CONFIG-001": "no limits", "CONFIG-003": "taiga-back and taiga-async on latest",
        "CONFIG-004": "the committed .env sets taiga/taiga, taiga-secret-key, an Erlang cookie, an SMTP password",
        "CONFIG-009": "the gateway publishes 9000 on every interface", "CONFIG-011": "no service declares read_only",
        "HEALTH-001": "only the database has a healthcheck (and none of the images is here to read)",
        "OBS-003": "no service declares logging",
    },
    "capabilities-host-paths.yml": {
        "CONFIG-008": "/lib/modules, /usr/src and /var/run (it holds the Docker socket)",
        "CONFIG-009": "the VPN publishes 51820/udp on every interface (a VPN must: declare it the edge and waive)",
        "CONFIG-010": "the VPN publishes and is no edge the suite knows",
        "CONFIG-018": "NET_ADMIN, SYS_MODULE, SYS_ADMIN, BPF, PERFMON, SYS_RESOURCE added",
        "OBS-003": "no service declares logging",
    },
    "root-user-floating-tags.yml": {
        "CONFIG-003": "alpine, release, nightly channels and postgres:16",
        "CONFIG-019": "web runs as root, migrate as 0:0",
        "OBS-003": "no service declares logging",
    },
}
EXPECTED_PLATFORM = {
    "webapp-db.yml": "edge=-, gateway=-, worker=-, web=-, event_store=db (postgres), cache=-, broker=-, tracing=-, "
                   "metrics=-, dashboards=-, search=-, application=web",
    "traefik-api-cache.yml": "edge=proxy (traefik), gateway=api, worker=-, web=-, event_store=database (postgres), "
                             "cache=cache (redis), broker=-",
    "haproxy-queue-workers.yml": "edge=lb (haproxy), gateway=app, worker=mail-worker, web=-, event_store=mysql (mysql), "
                                 "cache=-, broker=queue (rabbitmq)",
    "observability.yml": "tracing=jaeger (jaeger), metrics=prometheus (prometheus), dashboards=grafana (grafana), "
                         "search=elasticsearch (elasticsearch)",
    "pliers-seed-002.yml": "edge=traefik (traefik), gateway=ai-service+api+web, worker=-, web=-, "
                           "event_store=postgres (postgres), cache=redis (redis), broker=-",
    # The data roles only: which role an application service gets is inference's (issue 21 item 4).
    "zulip-like-redirect-healthchecks.yml": "event_store=db (postgres), cache=redis (redis), broker=rabbitmq (rabbitmq)",
    "netbox-like-env-files/docker-compose.yml": "event_store=postgres (postgres), cache=redis+redis-cache (redis)",
    "taiga-like-committed-dotenv/docker-compose.yml": "event_store=taiga-db (postgres)",
    "capabilities-host-paths.yml": "event_store=db (postgres)",
    "root-user-floating-tags.yml": "event_store=db (postgres), cache=cache (redis)",
    "mastodon-trust-auth.yml": "edge=-, gateway=-, worker=sidekiq, web=-, event_store=db (postgres), cache=redis (redis), "
                               "broker=-, tracing=-, metrics=-, dashboards=-, search=-, application=streaming+web",
    "sentry-mixed-cache.yml": "edge=nginx (nginx), gateway=web, worker=worker, web=-, "
                              "event_store=postgres (postgres)+clickhouse (clickhouse), "
                              "cache=redis (redis)+memcached (memcached), broker=kafka (kafka)",
    "clickhouse-analytics.yml": "gateway=-, worker=-, web=-, "
                                "event_store=plausible_db (postgres)+plausible_events_db (clickhouse), cache=-, broker=-, "
                                "tracing=-, metrics=-, dashboards=-, search=-, application=plausible",
    "supabase-kong-edge.yml": "edge=kong (kong), gateway=auth+meta+rest+storage, worker=-, web=-, event_store=db (postgres), cache=-, "
                              "broker=-, tracing=-, metrics=-, dashboards=-, search=-, application=analytics",
    "mongo-app.yml": "edge=-, gateway=-, worker=-, web=-, event_store=db (mongodb), cache=-, broker=-, tracing=-, "
                     "metrics=-, dashboards=-, search=-, application=app",
    "kafka-pipeline.yml": "edge=-, gateway=-, worker=enricher, web=-, event_store=-, cache=-, broker=kafka (kafka), "
                          "tracing=-, metrics=-, dashboards=-, search=-, application=ingest+kafka-ui",
    "otel-envoy-frontend.yml": "edge=frontend-proxy (envoy), gateway=frontend, worker=-, web=-, event_store=-, "
                               "cache=valkey-cart (redis), broker=-, tracing=-, metrics=-, dashboards=-, search=-, "
                               "application=-",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_FINDINGS))
def test_a_foreign_compose_file_is_judged_with_zero_configuration(name, reports_dir):
    result = run_suite(reports_dir, "--target", "static", "--stack-file", str(FOREIGN / name), timeout_s=120)
    assert result.returncode in (0, 1), result.output[-2000:]
    assert "Traceback" not in result.output, result.output[-2000:]
    assert sorted(result.failing()) == sorted(EXPECTED_FINDINGS[name]), result.failing()
    statuses = {c["status"] for c in result.report["controls"]}
    assert statuses <= {"passed", "failed", "not_applicable"}, statuses
    assert EXPECTED_PLATFORM[name] in result.report["stack"]["platform"]["summary"]
    assert f"platform: {result.report['stack']['platform']['summary']}" in result.output


BROKER_CONTROLS = {"CRED-001", "CRED-002", "CRED-003", "HEALTH-005", "HEALTH-009", "SCALE-002", "BACKUP-006",
                   "BACKUP-007", "OBS-001", "OBS-007", "OBS-010"}


def test_the_reference_platform_without_its_broker_makes_the_broker_controls_not_applicable(reports_dir):
    override = Path(__file__).resolve().parent / "platforms" / "reference-without-broker.yml"
    result = run_suite(reports_dir, "--target", "static", "--stack-override", str(override), timeout_s=120)
    assert result.returncode == 0, result.output[-2000:]
    by_id = {c["id"]: c for c in result.report["controls"]}
    assert {i for i, c in by_id.items() if c["message"] == "the platform has no broker"} == BROKER_CONTROLS
    assert all(by_id[i]["status"] == "not_applicable" for i in BROKER_CONTROLS)
    assert {c["status"] for i, c in by_id.items() if i.startswith("CONFIG-")} == {"passed"}
    assert "broker=-" in result.report["stack"]["platform"]["summary"]


def test_junit_xml_follows_the_reports_dir(tmp_path):
    """Without --junitxml, the XML goes beside conformance.json in --reports-dir, not into the repo."""
    import subprocess
    import sys

    from tests.suite_runner import ROOT

    reports = tmp_path / "elsewhere"
    result = subprocess.run([sys.executable, "-m", "pytest", "suites/", "--target", "static", "-p", "no:cacheprovider",
                             "--reports-dir", str(reports), "--stack-file", str(FOREIGN / "webapp-db.yml")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout[-2000:]
    junit = (reports / "junit.xml").read_text()
    assert 'name="control_id" value="CONFIG-003"' in junit
    report = (reports / "conformance.json").read_text()
    assert "built, no image: name it `image: web:<version>`" in report


DEVSTACK = Path(__file__).resolve().parent / "platforms" / "devstack"


@pytest.mark.parametrize("stack", [
    ("--stack-file", str(DEVSTACK / "docker-compose.yml"), "--platform", str(DEVSTACK / "platform.yml")),
    ("--stack-file", str(FOREIGN / "mastodon-trust-auth.yml")),
    ("--stack-file", str(FOREIGN / "observability.yml")),
], ids=["devstack", "mastodon", "observability"])
def test_the_swarm_chapter_judges_compose_files_never_meant_for_swarm_without_an_error(stack, reports_dir):
    """The seeds' dev stack and foreign shapes (one flat network, external networks, no gateway at all),
    judged for Swarm: findings or not applicable, never an error."""
    result = run_suite(reports_dir, "suites/test_swarm.py", "--target", "static", "--orchestrator", "swarm", *stack,
                       timeout_s=120)
    assert result.returncode in (0, 1) and "Traceback" not in result.output, result.output[-2000:]
    statuses = {c["id"]: c["status"] for c in result.report["controls"]}
    assert set(statuses) == {f"SWARM-00{n}" for n in range(1, 7)}, statuses
    assert set(statuses.values()) <= {"passed", "failed", "not_applicable"}, result.failing()
    assert statuses["SWARM-005"] == "failed", result.failing()  # none of them bounds its restarts
