"""Engine facts and the AppArmor/SELinux judgements, on recorded `docker info` and `docker inspect` data.

This machine runs neither AppArmor nor SELinux, so RUNTIME-014/015 are not applicable on its
live mutants; these records, taken from engines that run them, prove the judgement fails.
"""

import pytest

from fixtures.applicability import reason_of
from fixtures.engine.engine_facts import EngineFacts, host_lsms, security_option_names
from suites.test_runtime import apparmor_problem, selinux_problem

# docker info SecurityOptions: an Ubuntu engine (AppArmor), a Fedora one (SELinux), this machine.
UBUNTU_INFO = {"SecurityOptions": ["name=apparmor", "name=seccomp,profile=default", "name=cgroupns"]}
FEDORA_INFO = {"SecurityOptions": ["name=seccomp,profile=default", "name=selinux", "name=cgroupns"]}
THIS_MACHINE_INFO = {"SecurityOptions": ["name=seccomp,profile=default"]}

CONFINED_ON_APPARMOR = {"AppArmorProfile": "docker-default", "ProcessLabel": "", "HostConfig": {"Privileged": False}}
CONFINED_ON_SELINUX = {"AppArmorProfile": "", "ProcessLabel": "system_u:system_r:container_t:s0:c116,c893",
                       "HostConfig": {"Privileged": False}}


def test_security_option_names_come_from_docker_info():
    assert security_option_names(UBUNTU_INFO) == {"apparmor", "seccomp", "cgroupns"}
    assert security_option_names(FEDORA_INFO) == {"seccomp", "selinux", "cgroupns"}
    assert security_option_names({}) == frozenset()


def test_the_kernel_is_asked_too(tmp_path):
    apparmor, selinux = tmp_path / "enabled", tmp_path / "enforce"
    assert host_lsms(apparmor, selinux) == frozenset()
    apparmor.write_text("Y\n")
    selinux.write_text("1")
    assert host_lsms(apparmor, selinux) == {"apparmor", "selinux"}
    apparmor.write_text("N\n")
    assert host_lsms(apparmor, selinux) == {"selinux"}


def test_a_host_without_the_lsm_makes_the_control_not_applicable_never_a_pass():
    facts = EngineFacts(security_option_names(THIS_MACHINE_INFO), frozenset(), frozenset())
    with pytest.raises(pytest.skip.Exception) as stopped:
        facts.require("apparmor", "AppArmor")
    assert reason_of(str(stopped.value)).startswith("the host runs no AppArmor")


def test_a_host_kernel_running_apparmor_the_engine_ignores_is_judged():
    facts = EngineFacts(security_option_names(THIS_MACHINE_INFO), frozenset({"apparmor"}), frozenset())
    facts.require("apparmor", "AppArmor")  # does not stop: the containers are judged, and fail
    assert apparmor_problem({"AppArmorProfile": "", "HostConfig": {}}, []) == "profile (none)"


@pytest.mark.parametrize("attrs, options, problem", [
    (CONFINED_ON_APPARMOR, ["no-new-privileges:true"], None),
    ({**CONFINED_ON_APPARMOR, "AppArmorProfile": "unconfined"}, ["apparmor=unconfined"], "apparmor=unconfined"),
    ({**CONFINED_ON_APPARMOR, "AppArmorProfile": "unconfined"}, [], "profile unconfined"),
    ({**CONFINED_ON_APPARMOR, "HostConfig": {"Privileged": True}}, [], "privileged (AppArmor off)"),
])
def test_apparmor_judgement(attrs, options, problem):
    assert apparmor_problem(attrs, options) == problem


@pytest.mark.parametrize("attrs, options, problem", [
    (CONFINED_ON_SELINUX, ["no-new-privileges:true"], None),
    ({**CONFINED_ON_SELINUX, "ProcessLabel": ""}, ["label=disable"], "label=disable"),
    ({**CONFINED_ON_SELINUX, "ProcessLabel": ""}, ["no-new-privileges:true"], "no process label"),
    ({**CONFINED_ON_SELINUX, "ProcessLabel": "system_u:system_r:spc_t:s0"}, ["label=type:spc_t"], "label type spc_t"),
    ({**CONFINED_ON_SELINUX, "HostConfig": {"Privileged": True}}, [], "privileged (unlabelled)"),
])
def test_selinux_judgement(attrs, options, problem):
    assert selinux_problem(attrs, options) == problem


def test_the_default_bridge_is_found_by_mode_or_by_network_id():
    facts = EngineFacts(frozenset(), frozenset(), frozenset({"3e1088ae699b"}))
    assert facts.on_default_bridge({"HostConfig": {"NetworkMode": "bridge"}})
    assert facts.on_default_bridge({"HostConfig": {"NetworkMode": "p_frontend"},
                                    "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "3e1088ae699b"}}}})
    assert not facts.on_default_bridge({"HostConfig": {"NetworkMode": "p_frontend"},
                                        "NetworkSettings": {"Networks": {"p_frontend": {"NetworkID": "9f0c"}}}})
    # Not started yet, or stopped: the mode says where it goes.
    assert facts.on_default_bridge({"HostConfig": {"NetworkMode": "default"}, "NetworkSettings": {"Networks": {}}})
    assert facts.on_default_bridge({"HostConfig": {"NetworkMode": "bridge"},
                                    "NetworkSettings": {"Networks": {"bridge": {"NetworkID": ""}}}})


def test_a_swarm_task_in_mode_default_on_its_overlays_is_not_on_the_default_bridge():
    """Swarm creates a task's container in mode `default` and attaches it to its service's overlays
    alone (the false RUNTIME-022 finding of the first `--target swarm` run, README "On Docker Swarm")."""
    facts = EngineFacts(frozenset(), frozenset(), frozenset({"3e1088ae699b"}))
    task = {"HostConfig": {"NetworkMode": "default"},
            "NetworkSettings": {"Networks": {"p_frontend": {"NetworkID": "k1x9"}, "p_backend": {"NetworkID": "q7v2"}}}}
    assert not facts.on_default_bridge(task)
    task["NetworkSettings"]["Networks"]["bridge"] = {"NetworkID": "3e1088ae699b"}
    assert facts.on_default_bridge(task)
