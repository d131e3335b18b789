"""CONFIG-004's scan on small models written the ways real compose files write them."""

import pytest

from fixtures.secret_scan import empty_secrets, written_secrets

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
]


@pytest.mark.parametrize("name, service, expected", CASES, ids=[c[0] for c in CASES])
def test_written_secrets(name, service, expected):
    assert written_secrets("db", service) == expected


def test_a_secret_variable_that_resolved_to_nothing_is_flagged():
    resolved = {"environment": {"POSTGRES_PASSWORD": "", "POSTGRES_USER": "", "REDIS_PASSWORD": "x"}}
    assert empty_secrets("db", resolved) == ["db: environment POSTGRES_PASSWORD is empty (a variable that is not set?)"]
