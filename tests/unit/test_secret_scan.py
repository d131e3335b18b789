"""CONFIG-004's scan on small models written the ways real compose files write them."""

import subprocess

import pytest

from fixtures.env_files import project_env_file
from fixtures.secret_scan import (
    committed_env_secrets,
    empty_secrets,
    env_file_secrets,
    written_secrets,
)

CASES = [
    ("list-form environment, a literal", {"environment": ["POSTGRES_PASSWORD=admin123", "DEBUG=1"]},
     ["db: environment POSTGRES_PASSWORD (literal)"]),
    ("list-form environment, from the environment", {"environment": ["POSTGRES_PASSWORD=${DB_PASSWORD}"]}, []),
    ("a fallback literal", {"environment": {"RABBITMQ_DEFAULT_PASS": "${RABBITMQ_PASSWORD:-admin123}"}},
     ["db: environment RABBITMQ_DEFAULT_PASS (fallback)"]),
    ("required, not a fallback", {"environment": {"JWT_SECRET": "${JWT_SECRET:?set JWT_SECRET}"}}, []),
    ("a password in a URL", {"environment": ["DATABASE_URL=postgres://app:s3cret@db/app"]},
     ["db: environment DATABASE_URL embeds a password in its URL (literal)"]),
    ("a URL falling back to a password", {"environment": {"DATABASE_URL": "postgres://app:${P:-changeme}@db/app"}},
     ["db: environment DATABASE_URL embeds a password in its URL (fallback)"]),
    ("redis-cli -a on the healthcheck line", {"healthcheck": {"test": ["CMD-SHELL", "redis-cli -a redis123 ping"]}},
     ["db: healthcheck -a (literal)"]),
    ("--requirepass in a string command", {"command": "redis-server --requirepass redis123"},
     ["db: command --requirepass (literal)"]),
    ("a password assigned in a shell healthcheck", {"healthcheck": {"test": "PGPASSWORD=pw psql -c 'select 1'"}},
     ["db: healthcheck PGPASSWORD= (literal)"]),
    ("-a elsewhere is not a password", {"command": ["ls", "-a", "/data"]}, []),
    ("an ACL password rule", {"command": ["redis-server", "--user", "app", "on", ">apppass"]},
     ["db: command ACL password (literal)"]),
    ("an ACL rule in a string command", {"command": "redis-server --user app on >apppass ~* +@all"},
     ["db: command ACL password (literal)"]),
    # Zulip's and Sentry's shapes: shell redirections on healthcheck and command lines are no passwords.
    ("a healthcheck silenced with >/dev/null",
     {"healthcheck": {"test": ["CMD-SHELL", "redis-cli ping >/dev/null 2>&1 || exit 1"]}}, []),
    ("a healthcheck appending to a file", {"healthcheck": {"test": "echo ok >> \"$$HEALTH_FILE\""}}, []),
    ("a redirection to a descriptor", {"command": ["sh", "-c", "exec 3<>/dev/tcp/localhost/6379 && echo PING >&3"]}, []),
    ("a redirection after an ACL rule is still none",
     {"command": "redis-server --user app on >${REDIS_APP_PASSWORD} > /dev/null"}, []),
    ("a secret under a name the first pattern missed", {"environment": ["SECRET_KEY_BASE=abc123def456"]},
     ["db: environment SECRET_KEY_BASE (literal)"]),
    ("a switch is no secret", {"environment": {"MYSQL_ALLOW_EMPTY_PASSWORD": "yes", "REDIS_DISABLE_AUTH": "true"}}, []),
]


@pytest.mark.parametrize("name, service, expected", CASES, ids=[c[0] for c in CASES])
def test_written_secrets(name, service, expected):
    assert written_secrets("db", service) == expected


def test_a_secret_variable_that_resolved_to_nothing_is_flagged():
    resolved = {"environment": {"POSTGRES_PASSWORD": "", "POSTGRES_USER": "", "REDIS_PASSWORD": "x"}}
    assert empty_secrets("db", resolved) == ["db: environment POSTGRES_PASSWORD is empty (a variable that is not set?)"]


# NetBox's shape: env files beside the compose file hold the database, Redis and Django secrets.
NETBOX_ENV = """\
CORS_ORIGIN_ALLOW_ALL=True
DB_HOST=postgres
DB_PASSWORD=J5brHrAXFLQSif0K
# the key Django signs sessions with
SECRET_KEY='r(m)9nLGnz$(_q3N4z1k(EFsMCjjjzx08x9VhNVcfd%6RF#r!6DE@+V5Zk2X'
REDIS_PASSWORD=
DATABASE_URL=postgres://netbox:J5brHrAXFLQSif0K@postgres/netbox
SUPERUSER_PASSWORD=${SUPERUSER_PASSWORD}
"""


def test_literals_in_an_env_file_are_named_by_file_and_line(tmp_path):
    env = tmp_path / "netbox.env"
    env.write_text(NETBOX_ENV)
    written = {"image": "netbox:v4.1.1", "env_file": [{"path": str(env), "required": True}]}
    assert written_secrets("netbox", written) == []
    assert env_file_secrets({"netbox-worker": written, "netbox": written, "db": {}}) == [
        "env_file netbox.env line 3: DB_PASSWORD (literal; read by netbox, netbox-worker)",
        "env_file netbox.env line 5: SECRET_KEY (literal; read by netbox, netbox-worker)",
        "env_file netbox.env line 7: DATABASE_URL embeds a password in its URL (literal; read by netbox, netbox-worker)",
    ]
    assert env_file_secrets({"netbox": written}, str(tmp_path.parent))[0].startswith(
        f"env_file {tmp_path.name}/netbox.env line 3: DB_PASSWORD")


def test_an_empty_value_says_where_it_comes_from(tmp_path):
    env = tmp_path / "netbox.env"
    env.write_text(NETBOX_ENV)
    written = {"env_file": [{"path": str(env), "required": True}],
               "environment": ["POSTGRES_PASSWORD=${DB_PASSWORD}", "REDIS_AUTH=", "JWT_SECRET"]}
    resolved = {"environment": {"REDIS_PASSWORD": "", "POSTGRES_PASSWORD": "", "REDIS_AUTH": "", "JWT_SECRET": "",
                                "DB_HOST": "postgres"}}
    assert empty_secrets("netbox", resolved, written) == [
        "netbox: environment REDIS_PASSWORD is empty (written empty in env_file netbox.env line 6)",
        "netbox: environment POSTGRES_PASSWORD is empty (${DB_PASSWORD} is not set?)",
        "netbox: environment REDIS_AUTH is empty (written empty)",
        "netbox: environment JWT_SECRET is empty (passed through from the caller's environment, where it is not set?)",
    ]


def test_the_projects_dot_env_is_read_unless_git_ignores_it(tmp_path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services: {}\n")
    assert project_env_file([str(compose)]) is None
    (tmp_path / ".env").write_text("TAIGA_SITES_DOMAIN=localhost:9000\nSECRET_KEY=\"taiga-secret-key\"\n"
                                   "POSTGRES_PASSWORD=taiga\nEMAIL_HOST_PASSWORD=\nRABBITMQ_PASS=${RMQ}\n")
    found = project_env_file([str(compose)])
    services = {"taiga-back": {"environment": {"TAIGA_SECRET_KEY": "${SECRET_KEY}"}},
                "taiga-db": {"environment": ["POSTGRES_PASSWORD=${POSTGRES_PASSWORD}"]}}
    assert committed_env_secrets(found, services) == [
        ".env line 2: SECRET_KEY (literal; compose reads it; used by taiga-back)",
        ".env line 3: POSTGRES_PASSWORD (literal; compose reads it; used by taiga-db)"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(".env\n")
    assert project_env_file([str(compose)]) is None
