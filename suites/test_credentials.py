"""Credentials: the suite logs in and finds out, where static scanners only see what a file says.

A missing RABBITMQ_DEFAULT_PASS silently means guest/guest, and a Redis without requirepass
is invisible in a compose file; here every service is asked with the wrong credentials,
the seeds' development defaults, and the application's own, least-privileged ones.
"""

import re
import ssl
import time
from dataclasses import dataclass
from functools import partial

import pika
import pika.exceptions
import psycopg
import pytest
import requests

from fixtures import clients
from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.platform.adapters import Declared
from fixtures.platform.adapters.access import OPEN_ACCESS


@dataclass(frozen=True)
class DefaultCredential:
    technology: str  # what it is a default of; the probe talks to the role running it
    role: str
    protocol: str
    user: str
    password: str
    source: str

    def __str__(self):
        return f"{self.technology}-{self.protocol}-{self.user or 'default'}"


# Every development credential the seeds print, with where they print it.
SEED_DEFAULT_CREDENTIALS = [
    DefaultCredential("rabbitmq", "broker", "amqp", "admin", "admin123", "seed 003 §Default Credentials; seed 000 §Access Points"),
    DefaultCredential("rabbitmq", "broker", "management", "admin", "admin123", "seed 003 §Default Credentials"),
    DefaultCredential("postgres", "event_store", "sql", "actor_user", "actor_pass123", "seed 003 §Default Credentials"),
    DefaultCredential("postgres", "event_store", "sql", "pliers", "secure_password_here", "seed 002 §Environment Variables"),
    DefaultCredential("redis", "cache", "resp", "", "redis123", "seed 003 §Default Credentials"),
    DefaultCredential("grafana", "dashboards", "http", "admin", "admin", "seed 003 §Default Credentials"),
]
GRAFANA_PORT = 3000
# JWT secrets the seeds print as examples; a gateway must not accept tokens signed with them.
SEED_JWT_SECRETS = ["dev-secret-key-change-in-production", "your_jwt_secret_here", "your-jwt-secret", "your-secret"]
WRONG_PASSWORD = "definitely-not-the-password"
# A product name and version in an error page (`nginx/1.22.1`, `Apache/2.4`).
VERSION_IN_PAGE = re.compile(rb"\b(nginx|openresty|apache|traefik|haproxy|caddy|envoy)/\d", re.IGNORECASE)


def _amqp_login(stack, user: str, password: str) -> str:
    """'accepted' or the refusal, for an AMQP login through the port-forward."""
    try:
        connection = pika.BlockingConnection(clients.amqp_parameters(stack, user=user, password=password))
    except pika.exceptions.ProbableAuthenticationError:
        return "refused"
    except pika.exceptions.AMQPConnectionError as exc:
        return f"refused ({exc.__class__.__name__})"
    connection.close()
    return "accepted"


def _management_login(stack, user: str, password: str) -> int:
    return clients.RabbitManagement(stack, user=user, password=password).get("/whoami").status_code


def _postgres_login(pg, user: str, password: str, database: str | None = None) -> str:
    try:
        with pg(user=user, password=password, database=database):
            return "accepted"
    except psycopg.OperationalError as exc:
        return f"refused: {str(exc).strip().splitlines()[-1]}"


def _redis_reply(stack, command: list[str], password: str | None = None, username: str | None = None) -> str:
    """Redis' reply to one command, after AUTH with the given credentials if any (raw RESP)."""
    auth = [["AUTH", username, password] if username else ["AUTH", password]] if password else []
    replies = clients.redis_exchange(stack, *auth, command)
    failed_auth = [reply for reply in replies[:-1] if reply.startswith("-")]
    return failed_auth[0] if failed_auth else replies[-1]


# ---------------------------------------------------------------------------- RabbitMQ


@control("CRED-001", severity="critical", reference="seed 001 §Change Default Credentials; seed 003 §Default Credentials",
         needs=("broker:rabbitmq",))
def test_rabbitmq_refuses_guest_over_amqp(stack):
    """RabbitMQ refuses guest/guest over AMQP from the network."""
    outcome = _amqp_login(stack, "guest", "guest")
    assert outcome.startswith("refused"), "RabbitMQ accepted an AMQP login as guest/guest"


@control("CRED-002", severity="critical", reference="seed 001 §Change Default Credentials; seed 003 §Health Endpoints",
         needs=("broker:rabbitmq",))
def test_rabbitmq_management_refuses_guest(stack):
    """RabbitMQ's management API refuses guest/guest."""
    status = _management_login(stack, "guest", "guest")
    assert status == 401, f"the management API answered {status} to guest/guest"


@control("CRED-003", severity="high", reference="seed 001 §Security Hardening", needs=("broker:rabbitmq",))
def test_rabbitmq_application_user_is_not_an_administrator(stack):
    """The user the platform's services connect with is not a RabbitMQ administrator."""
    app = stack.application_credentials("broker")
    if app is None:
        not_applicable("no client of the broker names its user in an amqp:// URL in its environment")
    response = clients.RabbitManagement(stack).get(f"/users/{app.user}")
    assert response.status_code == 200, f"user {app.user} unknown to the management API ({response.status_code})"
    tags = response.json().get("tags")
    tags = tags if isinstance(tags, list) else [t for t in str(tags).split(",") if t]
    assert "administrator" not in tags, f"application user {app.user} has tags {tags}"


# ---------------------------------------------------------------------------- defaults


def _grafana_login(stack, user: str, password: str) -> str:
    host, port = stack.address("dashboards", GRAFANA_PORT)
    try:
        status = requests.get(f"http://{host}:{port}/api/user", auth=(user, password), timeout=5).status_code
    except requests.RequestException as exc:
        return f"refused ({exc.__class__.__name__})"
    return "accepted" if status == 200 else f"refused ({status})"


@control("CRED-004", severity="critical", reference="seed 003 §Default Credentials; seed 001 §Change Default Credentials")
@pytest.mark.parametrize("credential", SEED_DEFAULT_CREDENTIALS, ids=str)
def test_seed_default_credentials_are_refused(credential, stack, pg, platform):
    """Every development credential the seeds print is refused by the service it belongs to.

    Rationale: each probe talks to the role that runs the credential's technology (admin/admin
    to Grafana, redis123 to Redis), and applies only where the platform has one.
    """
    reason = platform.missing((f"{credential.role}:{credential.technology}",))
    if reason:
        not_applicable(reason)
    if credential.protocol == "amqp":
        outcome = _amqp_login(stack, credential.user, credential.password)
    elif credential.protocol == "management":
        outcome = "accepted" if _management_login(stack, credential.user, credential.password) == 200 else "refused"
    elif credential.protocol == "sql":
        outcome = _postgres_login(pg, credential.user, credential.password, database=stack.postgres_credentials().database)
    elif credential.protocol == "http":
        outcome = _grafana_login(stack, credential.user, credential.password)
    else:
        reply = _redis_reply(stack, ["PING"], credential.password)
        outcome = f"refused: {reply}" if reply.startswith("-") else "accepted"
    service = platform.service(credential.role)
    assert outcome.startswith("refused"), f"{service} ({credential.technology}) accepted {credential.user or '(default user)'} / the password from {credential.source}"


# ---------------------------------------------------------------------------- every data service, as declared


@control("CRED-020", severity="critical",
         reference="seed 001 §Security Hardening: 1. Change Default Credentials (requirepass, passwords from the "
                   "environment); seed 003 §Default Credentials (Redis: none)")
def test_no_data_service_lets_clients_in_without_a_password(compose_model, platform):
    """No data service lets a client on its network in without a password, as its declaration shows.

    Rationale: PostgreSQL's `POSTGRES_HOST_AUTH_METHOD: trust`, a pooler's `AUTH_TYPE: trust`, a
    Redis, Valkey, KeyDB or Memcached with no password, MongoDB without auth, Elasticsearch with
    security off, MySQL's empty root password: each is written in the compose file, so a static
    read says so before anything runs (CRED-005, CRED-009 and CRED-010 ask the running services).
    """
    judged = {name: platform.technology_of(name) for role in platform.data_roles for name in platform.services_of(role)
              if platform.technology_of(name) in OPEN_ACCESS}
    if not judged:
        not_applicable(f"the platform has no data service of a technology whose access its declaration shows "
                       f"({', '.join(OPEN_ACCESS)})")
    found = []
    for name, technology in sorted(judged.items()):
        neighbours = compose_model.network_neighbours(name)
        declared = Declared(compose_model.credentials_environment(name), compose_model.command(name),
                            str(compose_model.service(name).get("image") or ""), partial(compose_model.mounted_text, name))
        if neighbours and (reason := OPEN_ACCESS[technology](declared)):
            found.append(f"{name} ({technology}, reachable from {len(neighbours)} other service"
                         f"{'s' if len(neighbours) > 1 else ''}): {reason}")
    assert not found, f"data services that ask for no password: {'; '.join(found)}"


# ---------------------------------------------------------------------------- Redis


@control("CRED-005", needs=("cache:redis",), severity="critical", reference="seed 001 §Change Default Credentials (redis --requirepass)")
def test_redis_refuses_unauthenticated_clients(stack):
    """Redis answers NOAUTH to a client without a password."""
    reply = _redis_reply(stack, ["GET", "order:probe"])
    assert reply.startswith("-NOAUTH"), f"Redis answered {reply!r} to an unauthenticated GET"


@control("CRED-006", needs=("cache:redis",), severity="high", reference="seed 001 §Change Default Credentials (redis --requirepass); seed 001 §Security Hardening")
def test_redis_refuses_a_wrong_password(stack, redis_client):
    """Redis answers WRONGPASS to a wrong password, for its default user and for every ACL user.

    Rationale: an application user created `nopass` takes any password, whatever the
    default user's; every user Redis knows is asked, not only the one the clients name.
    """
    users = sorted(redis_client.acl_users())
    accepted = {user: reply for user in users
                if not (reply := _redis_reply(stack, ["PING"], password=WRONG_PASSWORD,
                                              username=None if user == "default" else user)).startswith("-WRONGPASS")}
    assert not accepted, ("Redis answered a wrong password with " +
                          ", ".join(f"{reply!r} for user {user}" for user, reply in accepted.items()))


@control("CRED-007", needs=("cache:redis",), severity="high", reference="seed 003 §Default Credentials (Redis: none)")
def test_redis_default_user_has_a_password(redis_client):
    """Redis' default user is not `nopass`."""
    flags = redis_client.acl_getuser("default")["flags"]
    assert "nopass" not in flags, f"the default user's flags are {flags}"


@control("CRED-008", severity="high", reference="seed 001 §Security Hardening", needs=("cache:redis",))
def test_redis_application_user_cannot_reconfigure_redis(stack):
    """The user the platform's services connect to Redis with cannot run CONFIG."""
    app = stack.application_credentials("cache")
    if app is None:
        not_applicable("no client of the cache names its credentials in a redis:// URL in its environment")
    if not app.user:
        pytest.fail("the clients' redis:// URL names no ACL user: they connect as default, which can run CONFIG",
                    pytrace=False)
    reply = _redis_reply(stack, ["CONFIG", "GET", "maxmemory"], password=app.password, username=app.user)
    assert reply.startswith("-NOPERM"), f"CONFIG GET as {app.user} answered {reply!r}"


# ---------------------------------------------------------------------------- PostgreSQL


@control("CRED-009", needs=("event_store:postgres",), severity="critical", reference="seed 001 §Change Default Credentials")
def test_postgres_refuses_a_wrong_password(stack, pg):
    """PostgreSQL refuses its own user with a wrong password."""
    outcome = _postgres_login(pg, stack.postgres_credentials().user, WRONG_PASSWORD)
    assert outcome.startswith("refused"), "PostgreSQL accepted a wrong password"


@control("CRED-010", needs=("event_store:postgres",), severity="critical", reference="seed 001 §Security Hardening")
def test_postgres_has_no_trust_rule_for_host_connections(pg):
    """pg_hba has no `trust` rule for host (network) connections."""
    with pg() as connection:
        rules = connection.execute(
            "SELECT line_number, type, database, user_name, address FROM pg_hba_file_rules "
            "WHERE type LIKE 'host%' AND auth_method = 'trust'"
        ).fetchall()
    assert not rules, f"trust rules for host connections: {rules}"


@control("CRED-011", needs=("event_store:postgres",), severity="high", reference="seed 001 §Security Hardening")
def test_postgres_uses_scram_sha_256(pg):
    """Passwords are stored and checked with scram-sha-256 (no md5 or plain password rules)."""
    with pg() as connection:
        encryption = connection.execute("SHOW password_encryption").fetchone()[0]
        weak_rules = connection.execute(
            "SELECT line_number, auth_method FROM pg_hba_file_rules "
            "WHERE type LIKE 'host%' AND auth_method NOT IN ('scram-sha-256', 'reject', 'cert')"
        ).fetchall()
        weak_passwords = connection.execute(
            "SELECT rolname FROM pg_authid WHERE rolpassword IS NOT NULL AND rolpassword NOT LIKE 'SCRAM-SHA-256$%'"
        ).fetchall()
    assert encryption == "scram-sha-256", f"password_encryption is {encryption}"
    assert not weak_rules, f"host rules without scram-sha-256: {weak_rules}"
    assert not weak_passwords, f"roles with non-SCRAM passwords: {[r[0] for r in weak_passwords]}"


# What an application role must not hold: each lets a leaked password reach past the platform's data.
ROLE_PRIVILEGES = {"rolsuper": "SUPERUSER", "rolcreaterole": "CREATEROLE", "rolcreatedb": "CREATEDB"}


@control("CRED-012", severity="high", reference="seed 001 §Security Hardening; CIS PostgreSQL 16 Benchmark 4.2 (excessive administrative privileges)",
         needs=("event_store:postgres",))
def test_postgres_application_role_holds_no_administrative_attribute(stack, pg):
    """The role the platform's services connect with is neither a superuser nor may create roles or databases."""
    app = stack.application_credentials("event_store")
    if app is None:
        not_applicable("no client of the event store names its user (DATABASE_USER or a postgres:// URL)")
    with pg() as connection:
        row = connection.execute(f"SELECT {', '.join(ROLE_PRIVILEGES)} FROM pg_roles WHERE rolname = %s",
                                 (app.user,)).fetchone()
    assert row is not None, f"application role {app.user} does not exist"
    held = [name for name, value in zip(ROLE_PRIVILEGES.values(), row) if value]
    assert not held, f"application role {app.user} holds {', '.join(held)}"


# ---------------------------------------------------------------------------- gateway (JWT)


@control("CRED-013", needs=("edge", "gateway", "app:orders"), severity="critical", reference="seed 001 §Environment Configuration (JWT)")
def test_gateway_rejects_requests_without_a_token(gateway_as, platform):
    """The gateway answers 401 to an order request with no token."""
    response = gateway_as(None).get(_some_order_path(platform))
    assert response.status_code == 401, f"GET /orders without a token answered {response.status_code}"


@control("CRED-014", needs=("edge", "gateway", "app:orders"), severity="high", reference="seed 003 §Environment Variables (JWT_EXPIRATION)")
def test_gateway_rejects_an_expired_token(stack, gateway_as, platform):
    """The gateway answers 401 to a correctly signed token that expired an hour ago."""
    token = clients.mint_token(stack.jwt_secret(), ttl_s=300, now=time.time() - 3600)
    response = gateway_as(token).get(_some_order_path(platform))
    assert response.status_code == 401, f"an expired token got {response.status_code}"


@control("CRED-015", needs=("edge", "gateway", "app:orders"), severity="critical", reference="seed 003 §Environment Variables (JWT_SECRET); seed 001 §Environment Configuration")
@pytest.mark.parametrize("secret", ["a-random-key-nobody-configured"] + SEED_JWT_SECRETS)
def test_gateway_rejects_tokens_signed_with_another_secret(secret, gateway_as, platform):
    """The gateway answers 401 to tokens signed with any other secret, the seeds' examples included."""
    response = gateway_as(clients.mint_token(secret)).get(_some_order_path(platform))
    assert response.status_code == 401, f"a token signed with {secret!r} got {response.status_code}"


def _some_order_path(platform) -> str:
    return f"{platform.app['orders_path']}/00000000-0000-4000-8000-000000000000"


# ---------------------------------------------------------------------------- edge


@control("CRED-016", severity="low", reference="seed 001 §Security Hardening; CIS NGINX 2.5.1 (server_tokens)",
         needs=("edge",))
def test_edge_does_not_reveal_its_version(stack):
    """The edge's Server header and its own error pages name no version."""
    # A request the edge itself rejects (400: two Host headers), so the error page is the edge's.
    answer = clients.edge_raw_exchange(stack.edge_url, b"GET / HTTP/1.1\r\nHost: \r\nHost: x\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    server = next((line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"server:")), "")
    assert server, f"the edge answered without a Server header: {head[:200]!r}"
    assert not any(ch.isdigit() for ch in server), f"Server header reveals {server!r}"
    revealed = VERSION_IN_PAGE.search(body)
    assert not revealed, f"the edge's error page reveals {revealed.group(0).decode(errors='replace')!r}"


@control("CRED-017", needs=("edge",), severity="high", reference="seed 001 §Enable TLS")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=lambda v: v.name)
def test_edge_refuses_tls_before_1_2(version, stack):
    """The edge refuses TLS 1.0 and TLS 1.1 handshakes."""
    if not stack.edge_url.startswith("https://"):
        pytest.fail("the edge publishes no HTTPS port", pytrace=False)
    outcome = clients.tls_handshake(stack.edge_url, version)
    assert not outcome.startswith("unreachable"), f"nothing answers on the edge's HTTPS port: {outcome}"
    assert outcome.startswith("refused"), f"the edge negotiated {outcome} when offered only {version.name}"


@control("CRED-018", needs=("edge",), severity="high", reference="seed 001 §Enable TLS")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=lambda v: v.name)
def test_edge_serves_tls_1_2_and_1_3(version, stack):
    """The edge serves HTTPS over TLS 1.2 and TLS 1.3."""
    if not stack.edge_url.startswith("https://"):
        pytest.fail("the edge publishes no HTTPS port", pytrace=False)
    outcome = clients.tls_handshake(stack.edge_url, version)
    wanted = version.name.replace("_", ".")  # TLSv1_2 -> TLSv1.2, as ssl.SSLSocket.version() names it
    assert outcome == wanted, f"offered only {version.name}, the edge {'negotiated ' if not outcome.startswith(('refused', 'unreachable')) else ''}{outcome}"


@control("CRED-019", needs=("edge",), severity="critical", reference="seed 001 §Enable TLS")
def test_plain_http_does_not_serve_the_api(stack, platform):
    """The edge's plain-HTTP port does not serve the API: it redirects or refuses."""
    if not stack.info.edge_http_url:
        return  # no plain-HTTP port published: nothing is served in clear text
    response = clients.Gateway(stack.info.edge_http_url, token=None).get("/health", allow_redirects=False)
    status, location = response.status_code, response.headers.get("Location", "")
    # Any answer from a gateway replica (even a 503) means the API is reachable in clear text.
    replica_header = platform.app.get("replica_header", "X-Replica")
    assert replica_header not in response.headers, f"a gateway replica answered GET /health over plain HTTP ({status})"
    redirected_to_https = 300 <= status < 400 and location.startswith("https://")
    assert redirected_to_https or 400 <= status < 500, (
        f"GET /health over plain HTTP answered {status} {location}: neither a redirect to HTTPS nor a refusal"
    )
