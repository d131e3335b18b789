"""The dev stack's expected findings name controls that exist, each with the seed that predicts it."""

from pathlib import Path

import yaml

from fixtures.gate import registry

EXPECTED = Path(__file__).resolve().parents[1] / "platforms" / "devstack" / "expected-findings.yml"


def test_every_expected_finding_names_a_control_and_its_seed():
    expected = yaml.safe_load(EXPECTED.read_text())
    known = set(registry.by_id())
    chapters = [expected, expected["rollout_chapter"]]
    named = [i for chapter in chapters for key in ("must_fail", "must_pass") for i in chapter[key]]
    assert set(named) <= known, set(named) - known
    for chapter in chapters:
        assert all(entry["seed"].startswith("seed ") and entry["finding"] for entry in chapter["must_fail"].values())
    # Every ROLLOUT control is accounted for: the release phases (suites/test_rollout.py) in
    # rollout_chapter, the data controls (suites/test_release_data.py) in the tested chapters.
    rollout = expected["rollout_chapter"]
    accounted = {i for chapter in chapters for key in ("must_fail", "must_pass") for i in chapter[key]}
    accounted |= set(expected.get("not_applicable") or {})
    assert {i for i in known if i.startswith("ROLLOUT")} <= accounted
    assert set(rollout["must_fail"]) | set(rollout["must_pass"]) == {"ROLLOUT-001", "ROLLOUT-002", "ROLLOUT-003"}
