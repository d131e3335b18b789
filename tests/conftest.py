"""The project's own tests: fast units first, then runs that bring stacks up."""

import pytest


def pytest_collection_modifyitems(items):
    # Bring-ups last, so a broken unit fails the run in seconds; of those, the whole-suite runs
    # (the longest) first, so the shorter ones fill the other workers meanwhile.
    items.sort(key=lambda item: (item.get_closest_marker("bringup") is not None,
                                 item.get_closest_marker("full_run") is None))


@pytest.fixture
def reports_dir(tmp_path):
    path = tmp_path / "reports"
    path.mkdir()
    return path
