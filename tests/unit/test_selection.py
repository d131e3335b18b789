"""Selection, decided before collection from the registry: what runs, and whether a stack is needed."""

from pathlib import Path

import pytest

from fixtures.errors import HarnessError
from fixtures.gate import registry
from fixtures.gate.selection import Selection, _parse_controls, parse_severity

ROOT = Path(__file__).resolve().parent.parent.parent


def _ids(selection: Selection) -> set[str]:
    return {c.id for c in selection.predicted()}


def test_the_registry_knows_which_controls_need_a_running_stack():
    static = {c.id for c in registry.controls() if not c.live}
    # The compose model's chapter and the manifests' need no stack; HEALTH-001, CRED-020 and OBS-003 read the model
    # too, and so do the SWARM chapter's static controls (SWARM-0xx; the live ones are SWARM-1xx).
    assert static == {c.id for c in registry.controls() if c.prefix in ("CONFIG", "KUBE") or c.id.startswith("SWARM-0")
                      } | {"HEALTH-001", "CRED-020", "OBS-003"}
    assert {"CONFIG-001", "CONFIG-010", "KUBE-001"} <= static and not {"NET-003", "CRED-001", "HEALTH-002"} & static
    assert registry.by_id()["CONFIG-011"].rationale == "" and registry.by_id()["CONFIG-001"].rationale


def test_controls_by_id_and_chapter():
    assert _parse_controls(["cred", "NET-003,HEALTH-001"]) == ("CRED", "NET-003", "HEALTH-001")
    chosen = _ids(Selection(("CRED", "NET-003")))
    assert chosen == {c.id for c in registry.controls() if c.prefix == "CRED"} | {"NET-003"}
    for unknown in (["NET-999"], ["NETWORK"]):
        with pytest.raises(HarnessError, match="no such control id or chapter"):
            _parse_controls(unknown)


def test_min_severity_keeps_that_severity_and_above():
    chosen = Selection(min_severity="high").predicted()
    assert {c.severity for c in chosen} == {"critical", "high"}
    with pytest.raises(HarnessError, match="--min-severity hgh is not one of critical, high, medium, low"):
        parse_severity("hgh", "--min-severity")


def test_a_static_only_selection_needs_no_stack():
    assert not Selection(("CONFIG",)).needs_stack()
    assert not Selection(("CONFIG-004", "HEALTH-001"), min_severity="high").needs_stack()
    assert Selection(("CONFIG", "HEALTH")).needs_stack()
    assert not Selection(paths=("suites/test_config.py",), invocation_dir=ROOT).needs_stack()
    assert not Selection(paths=("suites/test_health.py::test_every_service_defines_a_healthcheck",),
                         invocation_dir=ROOT).needs_stack()
    assert Selection(paths=("suites/test_health.py",), invocation_dir=ROOT).needs_stack()
    assert Selection(paths=("suites",), invocation_dir=ROOT).needs_stack()
    assert Selection().needs_stack()


def test_markers_are_evaluated_on_the_controls_marks():
    disruptive = _ids(Selection(markexpr="disruptive"))
    assert "BACKUP-003" in disruptive and "CONFIG-001" not in disruptive
    assert not Selection(markexpr="control and not disruptive", min_severity="critical").predicted() == []
    assert _ids(Selection(markexpr="not (disruptive or control)")) == set()


def test_files_with_no_selected_control_are_not_collected():
    selection = Selection(("CONFIG-002",))
    assert selection.ignores_file(registry.SUITES_DIR / "test_health.py")
    assert not selection.ignores_file(registry.SUITES_DIR / "test_config.py")
    assert not Selection().ignores_file(registry.SUITES_DIR / "test_health.py")
    assert not selection.ignores_file(ROOT / "tests" / "unit" / "test_selection.py")
