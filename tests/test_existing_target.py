"""--target existing: judging a deployment someone else brought up, with the secrets they give."""

import os
import tempfile
from pathlib import Path

import docker
import pytest

from fixtures import secrets
from fixtures.gate import registry
from fixtures.engine.cleanup import remove_kept_stack
from tests.suite_runner import assert_nothing_left, objects_of_ours, run_suite

# HEALTH-010 freezes every service (two waves, about 45 s): time that says nothing about judging a running deployment.
HEALTH_AND_CREDENTIALS = ("suites/test_health.py", "suites/test_credentials.py",
                          "-k", f"not {registry.by_id()['HEALTH-010'].function}")


@pytest.mark.bringup
def test_an_existing_deployment_is_judged_with_the_given_secrets(tmp_path, monkeypatch):
    for name in secrets.SECRET_VARIABLES:
        monkeypatch.setenv(name, f"operator-chosen-{name.lower()}-{os.getpid()}")
    kept = run_suite(tmp_path / "up", "--keep-stack", "suites/test_health.py::test_every_container_is_running_and_healthy")
    try:
        assert kept.returncode == 0, kept.output[-3000:]
        assert f"kept running as project {kept.project}" in kept.output

        judged = run_suite(tmp_path / "judged", "--target", "existing", "--project", kept.project, *HEALTH_AND_CREDENTIALS)
        assert judged.returncode == 0, judged.output[-3000:]
        assert judged.status_of("CRED-013") == "passed" and judged.status_of("HEALTH-009") == "passed"

        monkeypatch.setenv("REDIS_PASSWORD", "not-what-the-deployment-uses")
        refused = run_suite(tmp_path / "refused", "--target", "existing", "--project", kept.project,
                            *HEALTH_AND_CREDENTIALS, timeout_s=60)
        assert refused.returncode == 4, refused.output[-3000:]
        assert f"ERROR: conformance: deployment {kept.project} refused the credentials given for redis (REDIS_PASSWORD)" \
            in refused.output, refused.output[-2000:]
        assert objects_of_ours(kept.project) != [], "judging a deployment must not tear it down"
    finally:
        remove_kept_stack(docker.from_env(), kept.project)
    assert_nothing_left(kept)
    assert not list(Path(tempfile.gettempdir()).glob(f"{kept.project}-*"))
