"""HEALTH-007's judgement: a dependency may be reported under its service's name, its role or its technology.

On the reference platform and on the same platform with every service renamed (db, mq, kv,
gw, worker, proxy), with the body the reference gateway answers (recorded).
"""

import pytest
import yaml

from fixtures.platform import describe
from fixtures.platform.health import judge
from tests.renamed_platform import REFERENCE, rename

GATEWAY_BODY = {"status": "ok", "replica": "3f2a9c0d1e7b",
                "dependencies": {"postgres": {"status": "up", "detail": "ok"}, "rabbitmq": {"status": "up", "detail": "ok"},
                                 "redis": {"status": "up", "detail": "ok"}}}


def _platform(renamed: bool):
    text = REFERENCE.read_text()
    return describe(yaml.safe_load(rename(text) if renamed else text))


@pytest.mark.parametrize("renamed", [False, True], ids=["reference", "renamed"])
def test_the_reference_gateways_health_report_passes_on_either_naming(renamed):
    assert judge(_platform(renamed), GATEWAY_BODY["dependencies"]) == ([], [])


def test_the_renamed_platform_keeps_every_role_and_technology():
    original, renamed = _platform(False), _platform(True)
    assert {r: b.technology for r, b in renamed.roles.items()} == {r: b.technology for r, b in original.roles.items()}
    assert renamed.services_of("event_store") == ["db"] and renamed.services_of("edge") == ["proxy"]


@pytest.mark.parametrize("reported, missing, down", [
    ({"db": {"status": "up"}, "broker": {"status": "up"}}, ["kv (as kv or cache or redis)"], []),
    ({"db": {"status": "up"}, "mq": {"status": "up"}, "cache": {"status": "down"}}, [], ["cache=down"]),
    ({}, ["db (as db or event_store or postgres)", "mq (as mq or broker or rabbitmq)", "kv (as kv or cache or redis)"], []),
])
def test_a_missing_or_down_dependency_is_named_with_the_keys_looked_for(reported, missing, down):
    assert judge(_platform(True), reported) == (missing, down)


def test_the_contract_may_give_each_dependency_its_key():
    model = yaml.safe_load(rename(REFERENCE.read_text()))
    model["x-conformance"]["app"]["dependencies"] = {"event_store": "primary-db", "cache": ""}
    platform = describe(model)
    assert judge(platform, {"primary-db": {"status": "up"}, "redis": {"status": "up"}}) == ([], [])
    assert judge(platform, {"db": {"status": "up"}, "redis": {"status": "up"}}) == (["db (as primary-db)"], [])
