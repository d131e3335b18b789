"""Options, markers and plugin wiring for the conformance suite; the behaviour lives in fixtures/."""

import os
import sys

# fixtures/ is imported from the repo root, never installed (see pyproject.toml).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fixtures import targets

pytest_plugins = [
    "fixtures.reports.outcomes", "fixtures.kube.plugin", "fixtures.suite_fixtures", "fixtures.plugin", "fixtures.engine.engine_facts",
    "fixtures.gate.plugin",
]


def pytest_addoption(parser):
    group = parser.getgroup("stack", "stack under test")
    group.addoption(
        "--stack-file",
        default=None,
        metavar="PATH",
        help="compose file of the stack under test (default: stack/docker-compose.yml, the reference platform)",
    )
    group.addoption(
        "--stack-override",
        action="append",
        default=[],
        metavar="PATH",
        help="compose override layered on the stack file, like docker compose -f a -f b (repeatable)",
    )
    group.addoption(
        "--platform",
        default=None,
        metavar="FILE",
        help="platform description (roles, clients, app contract: docs/platform.md) over the compose file's "
        "x-conformance key; without either, roles are inferred from images, commands and ports",
    )
    group.addoption(
        "--target",
        choices=targets.names(),
        default=targets.DEFAULT,
        help="; ".join(f"{name}: {targets.get(name).help}" for name in targets.names()),
    )
    group.addoption(
        "--orchestrator",
        choices=("compose", "swarm"),
        default="compose",
        help="what --target static judges the compose model for: swarm adds the SWARM chapter's static "
        "controls (a stack for Docker Swarm: update and rollback config, placement, restart bounds), no engine needed",
    )
    group.addoption(
        "--swarm-max-update-share",
        type=float,
        default=0.5,
        metavar="SHARE",
        help="the largest share of a service's replicas a Swarm update may replace at once (SWARM-001; "
        "default 0.5; one replica at a time is always allowed)",
    )
    group.addoption(
        "--manifests",
        action="append",
        default=[],
        metavar="PATH",
        help="Kubernetes manifests to judge with --target manifests: a directory of YAML files (multi-document "
        "allowed) or a file; repeat to layer one over another, like kustomize patches (default: k8s/)",
    )
    group.addoption(
        "--project",
        default=None,
        metavar="NAME",
        help="compose project name of a running deployment (with --target existing)",
    )
    group.addoption(
        "--keep-stack",
        action="store_true",
        default=False,
        help="leave the stack running after the run; remove it with python -m fixtures.engine.cleanup PROJECT",
    )
    group.addoption(
        "--reports-dir",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "reports"),
        metavar="DIR",
        help="where conformance.json, junit.xml and report.html are written (default: reports/ in the repo)",
    )
    group.addoption(
        "--up-timeout",
        type=int,
        default=240,
        metavar="SECONDS",
        help="how long bring-up may wait for every service to become healthy (default 240)",
    )
    group.addoption(
        "--load-phase-max-s",
        type=float,
        default=60,
        metavar="SECONDS",
        help="longest a load timeline phase runs after its action when its window still lacks the requests "
        "its failure budget needs (default 60; README: Load tests and scaling)",
    )
    group.addoption(
        "--release-max-fail-ratio",
        type=float,
        default=0.005,
        metavar="RATIO",
        help="the failure budget of the release phases (ROLLOUT): the highest share of requests that may "
        "fail during a rolling update, a broken release or a graceful shutdown (default 0.005)",
    )
    gate = parser.getgroup("gate", "the gate: selection, waivers, threshold, baseline (fixtures/gate/)")
    gate.addoption(
        "--controls",
        action="append",
        default=[],
        metavar="IDS",
        help="judge only these controls: ids or chapter prefixes, comma-separated (CRED,NET-003); repeatable",
    )
    gate.addoption(
        "--min-severity",
        default=None,
        metavar="SEVERITY",
        help="judge only controls of this severity or above: critical, high, medium, low",
    )
    gate.addoption(
        "--waivers",
        default=None,
        metavar="FILE",
        help="YAML list of accepted failures (control, justification, expires, owner; service or case to narrow)",
    )
    gate.addoption(
        "--fail-on",
        default=None,
        metavar="SEVERITY",
        help="lowest severity whose failures set the exit code: critical, high, medium, low (default low: any)",
    )
    gate.addoption(
        "--baseline",
        default=None,
        metavar="PREVIOUS_JSON",
        help="an earlier conformance.json: each control is reported as new failure, fixed, still failing or unchanged",
    )
    gate.addoption(
        "--fail-on-new",
        action="store_true",
        default=False,
        help="only new failures since --baseline (and expired waivers) set the exit code",
    )
