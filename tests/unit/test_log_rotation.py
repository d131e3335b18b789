"""One rule for bounded logs, as a compose file declares them and as the engine runs them (OBS-003, OBS-004)."""

import pytest

from fixtures import log_rotation


@pytest.mark.parametrize("driver, options", [
    ("json-file", {"max-size": "10m", "max-file": "3"}),
    ("json-file", {"max-size": "100m"}),  # one file, truncated at 100 MB
    ("local", {}),  # 20 MB x 5 by default
    ("journald", {}), ("syslog", {"syslog-address": "udp://logs:514"}), ("fluentd", {}), ("loki", {}),
    ("none", {}),  # keeps nothing: OBS-002's finding, not a growth
])
def test_bounded_or_shipped_logs_pass(driver, options):
    assert log_rotation.problem(driver, options) is None


@pytest.mark.parametrize("driver, options, words", [
    ("json-file", {}, "without max-size"),
    ("json-file", {"max-file": "5"}, "without max-size"),
    ("json-file", {"max-size": "50g", "max-file": "20"}, "above 1000 MB"),
    ("local", {"max-size": "500m", "max-file": "5"}, "above 1000 MB"),
    ("json-file", {"max-size": "ten megs"}, "not a bound"),
    ("json-file", {"max-size": "10m", "max-file": "0"}, "not a bound"),
    ("splunkish", {}, "neither one the engine rotates"),
])
def test_unbounded_logs_fail_with_the_reason(driver, options, words):
    assert words in log_rotation.problem(driver, options)


def test_sizes_are_read_as_the_engine_reads_them():
    assert [log_rotation.size_in_bytes(s) for s in ("10m", "10M", "1.5k", "2g", "512", "10MB", "x")] == [
        10_000_000, 10_000_000, 1500, 2_000_000_000, 512, 10_000_000, None]


def test_a_service_without_logging_is_judged_on_what_the_file_promises():
    assert "no logging declared" in log_rotation.declared_problem(None)
    assert "no logging declared" in log_rotation.declared_problem({})
    # Options without a driver go to the engine's default driver: judged as json-file.
    assert log_rotation.declared_problem({"options": {"max-size": "10m"}}) is None
    assert "without max-size" in log_rotation.declared_problem({"driver": "json-file"})
