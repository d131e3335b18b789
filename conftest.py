"""Options, markers and plugin wiring for the conformance suite; the behaviour lives in fixtures/."""

import os
import sys

# fixtures/ is imported from the repo root, never installed (see pyproject.toml).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

pytest_plugins = ["fixtures.plugin", "fixtures.engine_facts"]


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
        "--target",
        choices=("compose", "existing", "static"),
        default="compose",
        help="compose: bring the stack up and tear it down (default); existing: judge a running "
        "deployment named by --project; static: check the compose model only, live controls skip",
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
        help="leave the stack running after the run; remove it with python -m fixtures.cleanup PROJECT",
    )
    group.addoption(
        "--reports-dir",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "reports"),
        metavar="DIR",
        help="where conformance.json is written (default: reports/ in the repo)",
    )
    group.addoption(
        "--up-timeout",
        type=int,
        default=240,
        metavar="SECONDS",
        help="how long bring-up may wait for every service to become healthy (default 240)",
    )
