"""Bad input: one clear line naming the problem, a non-zero exit, nothing left behind."""

import time

import pytest

from tests.suite_runner import objects_of_ours, run_suite


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR: conformance:")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--stack-file", "stack/docker-compose.yaml"], "stack file stack/docker-compose.yaml not found (--stack-file)"),
        (["--stack-override", "no/such/override.yml"], "stack file no/such/override.yml not found (--stack-override)"),
        (["--target", "existing"], "--target existing needs --project NAME of the running deployment"),
        (["--target", "existing", "--project", "conformance-nosuchproject"],
         "no running deployment named conformance-nosuchproject (--project)"),
    ],
    ids=["stack-file", "override", "existing-without-project", "existing-unknown-project"],
)
def test_bad_option_gets_one_line_and_exit_4(args, message, reports_dir):
    started = time.monotonic()
    result = run_suite(reports_dir, *args, timeout_s=60)
    assert result.returncode == 4, result.output[-1500:]
    assert any(message in line for line in _error_lines(result.output)), result.output[-1500:]
    assert "Traceback" not in result.output
    assert time.monotonic() - started < 30
    assert objects_of_ours(result.project) == []


def test_malformed_compose_yaml_is_named(tmp_path, reports_dir):
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  redis:\n    image: [unclosed\n")
    result = run_suite(reports_dir, "--stack-override", str(broken), timeout_s=60)
    assert result.returncode == 4
    assert any("docker compose config failed" in line for line in _error_lines(result.output)), result.output[-1500:]
    assert objects_of_ours(result.project) == []
