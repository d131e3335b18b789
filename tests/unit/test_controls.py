"""The control rules: every suite test is a control with complete metadata and a unique id."""

from pathlib import Path

import pytest

from fixtures.controls import control, control_of, validate


class FakeItem:
    """Just what validate() reads from a collected pytest item."""

    def __init__(self, function, name="test_x", path="suites/test_health.py"):
        self.function = function
        self.originalname = name
        self.path = Path(path)

    def get_closest_marker(self, name):
        return next((m for m in getattr(self.function, "pytestmark", []) if m.name == name), None)


def _control(control_id, severity="high", reference="seed 001 §Health Checks"):
    @control(control_id, severity=severity, reference=reference)
    def check():
        """A title line.

        Rationale.
        """

    return check


def always_suite(item):
    return True


def test_title_is_the_docstring_first_line():
    meta = control_of(FakeItem(_control("HEALTH-001")))
    assert (meta.id, meta.title, meta.severity) == ("HEALTH-001", "A title line.", "high")


def test_a_well_formed_control_has_no_problem():
    assert validate([FakeItem(_control("NET-003"))], always_suite) == []


def test_a_test_without_control_is_rejected():
    def plain():
        pass

    problems = validate([FakeItem(plain, "test_plain")], always_suite)
    assert problems == ["test_health.py::test_plain has no @control marker: every suite test is a control"]


def test_a_duplicate_id_on_two_functions_is_rejected():
    items = [FakeItem(_control("HEALTH-001"), "test_a"), FakeItem(_control("HEALTH-001"), "test_b")]
    problems = validate(items, always_suite)
    assert problems == ["duplicate control id HEALTH-001: test_health.py::test_a and test_health.py::test_b"]


def test_parametrized_cases_of_one_function_share_their_id():
    function = _control("HEALTH-002")
    assert validate([FakeItem(function, "test_a"), FakeItem(function, "test_a")], always_suite) == []


@pytest.mark.parametrize(
    "control_id, severity, fragment",
    [("HEALTH-1", "high", "is not PREFIX-NNN"), ("FOO-001", "high", "is not PREFIX-NNN"),
     ("HEALTH-003", "urgent", "severity 'urgent'")],
)
def test_malformed_metadata_is_rejected(control_id, severity, fragment):
    problems = validate([FakeItem(_control(control_id, severity=severity))], always_suite)
    assert len(problems) == 1 and fragment in problems[0]


def test_tests_outside_suites_are_not_controls():
    def plain():
        pass

    assert validate([FakeItem(plain, path="tests/test_x.py")], lambda item: "suites" in item.path.parts) == []
