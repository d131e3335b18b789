"""Static rules on recorded shapes of real compose files: floating tags, sensitive host paths, declared healthchecks."""

import pytest

from fixtures.gate.summary import _one_line
from fixtures.policy import sensitive_host_path
from suites.test_config import floating_tag
from suites.test_health import healthcheck_problem

TAGS = [
    ("postgres:16.3", ""), ("redis:7.2-alpine", ""), ("traefik:v3.0.4", ""), ("nginx:1.25-bookworm", ""),
    ("minio/minio:RELEASE.2024-01-16T16-07-38Z", ""), ("ghcr.io/acme/api:20240501", ""),
    ("ghcr.io/acme/api:sha-3f9c2a1", ""), ("conformance/redis:0123abcd4567ef89", ""),
    ("postgres@sha256:0f1e2d3c", ""), ("localhost:5000/team/api:2.3.1", ""),
    ("postgres:16", "a major version only"), ("redis:7-alpine", "a major version only"),
    ("traefik:v3", "a major version only"), ("nginx:alpine", "a channel"), ("nginx:stable", "a channel"),
    ("getsentry/sentry:nightly", "a channel"), ("x:release", "a channel"), ("x:edge", "a channel"),
    ("node:lts", "a channel"), ("alpine", "no tag, so latest"), ("localhost:5000/team/api", "no tag, so latest"),
    ("prom/prometheus:latest", "the latest tag"),
]


@pytest.mark.parametrize("image, why", TAGS, ids=[t[0] for t in TAGS])
def test_a_tag_floats_unless_it_names_one_build(image, why):
    assert floating_tag(image) == why


HOST_PATHS = [
    ("/var/run/docker.sock", False, "/var/run/docker.sock"), ("/", False, "/"), ("/etc", True, "/etc"),
    ("/lib/modules", True, "/lib/modules (below /lib)"), ("/usr/src", True, "/usr/src (below /usr)"),
    ("/var/run", False, "/var/run (holds /var/run/docker.sock)"), ("/run/", False, "/run (holds /run/docker.sock)"),
    ("/var/lib", True, "/var/lib (holds /var/lib/docker)"),
    ("/var/lib/docker/containers", True, "/var/lib/docker/containers (below /var/lib/docker)"),
    ("/etc/localtime", False, "/etc/localtime (below /etc)"), ("/etc/localtime", True, ""),
    ("/usr/share/zoneinfo", True, ""), ("/srv/netbox/media", False, ""), ("/home/me/data", False, ""),
    ("/tmp/conformance-1/secrets", True, ""),
]


@pytest.mark.parametrize("source, read_only, why", HOST_PATHS)
def test_sensitive_host_paths_are_prefixes_and_parents(source, read_only, why):
    assert sensitive_host_path(source, read_only) == why


def test_the_projects_own_files_are_not_the_hosts_wherever_it_is_checked_out():
    assert sensitive_host_path("/usr/src/app/nginx/nginx.conf", True, "/usr/src/app") == ""
    assert sensitive_host_path("/usr/src/other", True, "/usr/src/app") == "/usr/src/other (below /usr)"


# A service as `docker compose config` resolves it and as the files write it (--no-interpolate).
CHECKS = [
    ("a test declared", {"image": "redis:7.2", "healthcheck": {"test": ["CMD", "redis-cli", "ping"]}}, {}, None, ("", "")),
    ("disabled", {"image": "redis:7.2", "healthcheck": {"disable": True}}, {}, None, ("cache (disabled)", "")),
    ("test NONE", {"image": "redis:7.2", "healthcheck": {"test": ["NONE"]}}, {}, None, ("cache (disabled)", "")),
    # Zulip's shape: `healthcheck: {disable: false}` resolves to {} and keeps the image's HEALTHCHECK.
    ("disable: false, image not here", {"image": "zulip/docker-zulip:9.4-0", "healthcheck": {}},
     {"healthcheck": {"disable": False}}, None,
     ("", "cache keeps its image's HEALTHCHECK (image zulip/docker-zulip:9.4-0 is not on this engine to read)")),
    ("disable: false, image has none", {"image": "redis:7.2", "healthcheck": {}},
     {"healthcheck": {"disable": False}}, [], ("cache (none in the compose files nor in image redis:7.2)", "")),
    ("nothing declared, image not here", {"image": "redis:7.2"}, {}, None,
     (("cache (none in the compose files; image redis:7.2 is not on this engine to read, so its own HEALTHCHECK, "
       "if any, is unseen)"), "")),
    ("nothing declared, built here", {"build": {"context": "."}}, {}, None,
     (("cache (none in the compose files; it is built here and not built yet, so its own HEALTHCHECK, if any, "
       "is unseen)"), "")),
    ("nothing declared, the image has one", {"image": "conformance/redis:abc"}, {},
     ["CMD-SHELL", "redis-cli ping"], ("", "cache runs its image's HEALTHCHECK")),
]


@pytest.mark.parametrize("resolved, written, image_test, expected", [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_a_healthcheck_is_judged_on_what_the_files_and_a_local_image_show(resolved, written, image_test, expected):
    assert healthcheck_problem("cache", resolved, written, image_test) == expected


def test_a_long_message_is_folded_on_the_terminal_saying_how_much_more_there_is():
    message = "limits missing: " + ", ".join(f"service-{i}: memory" for i in range(57))
    folded = _one_line(message)
    left_out = int(folded.split("(+", 1)[1].split(" ", 1)[0])
    assert len(folded) < 250 and folded.startswith("limits missing: service-0: memory")
    assert len(folded.split(" … ", 1)[0]) + left_out == len(message)
    assert "the whole message is in conformance.json" in folded
