"""What `docker stack deploy` is given: the resolved compose model rendered for Swarm (fixtures/engine/swarm.py)."""

from fixtures.engine import swarm

MODEL = {
    "name": "p",
    "x-swarm-secret-files": ["DATABASE_PASSWORD", "RABBITMQ_URL"],
    "services": {
        "db": {"image": "pg:1", "restart": "unless-stopped", "tmpfs": ["/tmp"], "container_name": "x",
               "environment": {"POSTGRES_PASSWORD": "s3cr3t-value-long-enough"}, "networks": {"data": None},
               "deploy": {"resources": {"limits": {"cpus": 0.5, "memory": 268435456, "pids": 64}}}},
        "api": {"image": "api:1", "depends_on": {"db": {"condition": "service_healthy"}},
                "ports": [{"target": 8443, "published": "8443", "host_ip": "127.0.0.1"}],
                "environment": {"DATABASE_PASSWORD": "s3cr3t-value-long-enough",
                                "RABBITMQ_URL": "amqp://u:another-secret-value@mq/", "DATABASE_HOST": "db"},
                "networks": {"data": None}, "command": None},
        "migrate": {"image": "pg:1", "restart": "on-failure:3", "depends_on": {"db": {"condition": "service_healthy"}}},
        "edge": {"image": "nginx:1", "depends_on": {"api": {"condition": "service_healthy"}}},
    },
    "networks": {"data": {"name": "p_data", "internal": True}},
    "volumes": {"v": {"name": "p_v"}},
}


def test_a_service_is_rendered_as_swarm_runs_it():
    rendered = swarm.render_stack(MODEL)
    db, api = rendered["services"]["db"], rendered["services"]["api"]
    assert "name" not in rendered and rendered["version"] == "3.9"
    assert db["deploy"]["restart_policy"] == {"condition": "any"} and db["deploy"]["endpoint_mode"] == "dnsrr"
    assert db["volumes"] == [{"type": "tmpfs", "target": "/tmp"}] and "tmpfs" not in db and "container_name" not in db
    assert db["deploy"]["resources"]["limits"] == {"cpus": "0.5", "memory": "268435456", "pids": 64}
    assert "ports" not in api and "depends_on" not in api and "command" not in api
    assert rendered["services"]["migrate"]["deploy"]["restart_policy"] == {"condition": "on-failure", "max_attempts": 3}
    assert rendered["networks"] == {"data": {"internal": True, "driver": "overlay", "attachable": True}}
    assert rendered["volumes"] == {"v": {}}


def test_services_deploy_in_the_order_depends_on_declares():
    assert swarm.stages(MODEL) == [["db"], ["api", "migrate"], ["edge"]]


def test_listed_variables_carrying_a_secret_become_docker_secrets():
    model, made = swarm.secrets_as_files(MODEL, ["s3cr3t-value-long-enough", "another-secret-value"], "p")
    api = model["services"]["api"]
    assert api["environment"] == {"DATABASE_HOST": "db", "DATABASE_PASSWORD_FILE": "/run/secrets/DATABASE_PASSWORD",
                                  "RABBITMQ_URL_FILE": "/run/secrets/RABBITMQ_URL"}
    assert [s["target"] for s in api["secrets"]] == ["DATABASE_PASSWORD", "RABBITMQ_URL"]
    assert sorted(made) == ["p_api_database_password", "p_api_rabbitmq_url"]
    assert model["secrets"]["p_api_rabbitmq_url"] == {"external": True, "name": "p_api_rabbitmq_url"}
    # Not listed: left in the environment (SWARM-101 judges that).
    assert model["services"]["db"]["environment"] == {"POSTGRES_PASSWORD": "s3cr3t-value-long-enough"}
    assert swarm.render_stack(model)["secrets"]["p_api_database_password"]["external"] is True


class _Container:
    def __init__(self, name, networks, labels=None):
        self.name, self.labels = name, labels or {}
        self.attrs = {"NetworkSettings": {"Networks": {n: {} for n in networks}}}


class _Client:
    def __init__(self, containers):
        self.containers = type("Containers", (), {"list": lambda _self, **_: containers})()


def test_a_swarm_is_not_left_while_containers_on_user_networks_would_lose_their_names():
    client = _Client([_Container("p-nginx-1", ["p_frontend", "p_public"]),
                      _Container("plain", ["bridge"]),
                      _Container("p_api.1.x", ["p_frontend"], {swarm.SWARM_SERVICE_LABEL: "p_api"}),
                      _Container("host-net", ["host"])])
    assert swarm.containers_losing_names(client) == ["p-nginx-1"]
    assert swarm.containers_losing_names(_Client([_Container("plain", ["bridge"])])) == []
