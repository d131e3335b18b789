"""Each data technology's static access judgement, on services as public compose files declare them."""

import pytest

from fixtures.platform.adapters import Declared
from fixtures.platform.adapters.access import OPEN_ACCESS

CASES = [
    # (what, technology, environment, command, image, mounted files, expected words or None)
    ("Mastodon's PostgreSQL trusts every host", "postgres", {"POSTGRES_HOST_AUTH_METHOD": "trust"}, [], "postgres:14-alpine",
     {}, "POSTGRES_HOST_AUTH_METHOD=trust"),
    ("PostgreSQL with a password", "postgres", {"POSTGRES_PASSWORD": "x"}, [], "postgres:16", {}, None),
    ("PostgreSQL with scram", "postgres", {"POSTGRES_HOST_AUTH_METHOD": "scram-sha-256"}, [], "postgres:16", {}, None),
    ("PgBouncer trusting its clients", "pgbouncer", {"AUTH_TYPE": "trust", "DB_HOST": "db"}, [], "edoburu/pgbouncer:1.22",
     {}, "AUTH_TYPE=trust"),
    ("bitnami PgBouncer with scram", "pgbouncer", {"PGBOUNCER_AUTH_TYPE": "scram-sha-256"}, [], "bitnami/pgbouncer:1",
     {}, None),
    ("Sentry's Redis, a config file without requirepass", "redis", {},
     ["redis-server", "/usr/local/etc/redis/redis.conf"], "redis:6.2.14-alpine",
     {"/usr/local/etc/redis/redis.conf": "# redis.conf\nmaxmemory 1gb\nmaxmemory-policy allkeys-lru\n"}, "no password"),
    ("a config file with requirepass", "redis", {}, ["redis-server", "/etc/redis.conf"], "redis:7",
     {"/etc/redis.conf": "requirepass s3cret\n"}, None),
    ("a config file we cannot read", "redis", {}, ["redis-server", "/etc/redis.conf"], "redis:7", {}, None),
    ("Redis as the image starts it", "redis", {}, [], "redis:7.2-alpine", {}, "no password"),
    ("Redis with requirepass", "redis", {}, ["redis-server", "--requirepass", "x"], "redis:7", {}, None),
    ("Zulip's Redis, started by a shell with a secret's password", "redis", {},
     ["sh", "-c", 'exec redis-server --requirepass "$$(cat /run/secrets/zulip_redis_password)"'], "redis:7.2.5-alpine",
     {}, None),
    ("a shell-started Redis with no password", "redis", {}, ["sh", "-c", "exec redis-server --appendonly yes"],
     "redis:7.2.5", {}, "no password"),
    ("arguments only, as the official entrypoint takes them", "redis", {}, ["--requirepass", "x"], "redis:7", {}, None),
    ("an ACL user beside a default user with no password", "redis", {},
     ["redis-server", "--user", "app", "on", ">p", "~*", "+@all"], "redis:7", {}, "default user"),
    ("the default user given a password by ACL", "redis", {},
     ["redis-server", "--user", "default", "on", ">p", "~*", "+@all"], "redis:7", {}, None),
    ("the default user turned off", "redis", {}, ["redis-server", "--user", "default", "off"], "redis:7", {}, None),
    ("an aclfile whose default user is nopass", "redis", {}, ["redis-server", "--aclfile", "/etc/users.acl"], "redis:7",
     {"/etc/users.acl": "user default on nopass ~* +@all\nuser app on >p ~* +@all\n"}, "no password"),
    ("bitnami Redis allowing an empty password", "redis", {"ALLOW_EMPTY_PASSWORD": "yes"}, [], "bitnami/redis:7.2",
     {}, "ALLOW_EMPTY_PASSWORD=yes"),
    ("bitnami Redis with a password", "redis", {"REDIS_PASSWORD": "x"}, [], "bitnami/redis:7.2", {}, None),
    ("Valkey as the image starts it", "redis", {}, ["valkey-server", "--save", "60", "1"], "valkey/valkey:8", {},
     "no password"),
    ("Sentry's memcached", "memcached", {}, ["memcached", "-m", "64"], "memcached:1.6.26-alpine", {}, "without SASL"),
    ("memcached with SASL", "memcached", {}, ["memcached", "-S"], "memcached:1.6", {}, None),
    ("MongoDB as the image starts it", "mongodb", {}, [], "mongo:7.0", {}, "no MONGO_INITDB_ROOT_USERNAME"),
    ("MongoDB with a root user", "mongodb", {"MONGO_INITDB_ROOT_USERNAME": "root",
                                             "MONGO_INITDB_ROOT_PASSWORD_FILE": "/run/secrets/mongo"}, [], "mongo:7.0",
     {}, None),
    ("MongoDB with a config file", "mongodb", {}, ["mongod", "--config", "/etc/mongod.conf"], "mongo:7.0", {}, None),
    ("Elasticsearch 8 with security off", "elasticsearch",
     {"discovery.type": "single-node", "xpack.security.enabled": "false"}, [],
     "docker.elastic.co/elasticsearch/elasticsearch:8.13.4", {}, "xpack.security.enabled=false"),
    ("Elasticsearch 8 as shipped", "elasticsearch", {"discovery.type": "single-node"}, [],
     "docker.elastic.co/elasticsearch/elasticsearch:8.13.4", {}, None),
    ("Elasticsearch 7 as shipped", "elasticsearch", {"discovery.type": "single-node"}, [], "elasticsearch:7.17.21",
     {}, "version 7 ships with security off"),
    ("Elasticsearch security off by -E", "elasticsearch", {}, ["elasticsearch", "-Expack.security.enabled=false"],
     "elasticsearch:8.13.4", {}, "xpack.security.enabled=false"),
    ("OpenSearch without its security plugin", "opensearch", {"DISABLE_SECURITY_PLUGIN": "true"}, [],
     "opensearchproject/opensearch:2.14.0", {}, "DISABLE_SECURITY_PLUGIN=true"),
    ("MySQL allowing an empty root password", "mysql", {"MYSQL_ALLOW_EMPTY_PASSWORD": "yes"}, [], "mysql:8.4", {},
     "MYSQL_ALLOW_EMPTY_PASSWORD=yes"),
    ("MariaDB switched with `no`, which still allows it", "mysql", {"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "no"}, [],
     "mariadb:11.4", {}, "any non-empty value"),
    ("MySQL with a root password", "mysql", {"MYSQL_ROOT_PASSWORD_FILE": "/run/secrets/root"}, [], "mysql:8.4", {}, None),
]


@pytest.mark.parametrize("what, technology, environment, command, image, files, expected", CASES,
                         ids=[c[0] for c in CASES])
def test_a_data_service_without_a_password_says_why(what, technology, environment, command, image, files, expected):
    found = OPEN_ACCESS[technology](Declared(environment, command, image, files.get))
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found, found
