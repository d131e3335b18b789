"""Credentials: the suite logs in and finds out, where static scanners only see what a file says.

A missing RABBITMQ_DEFAULT_PASS silently means guest/guest, and a Redis without requirepass
is invisible in a compose file; here every service is asked with the wrong credentials,
the seeds' development defaults, and the application's own, least-privileged ones.
"""

import ssl
import time
from dataclasses import dataclass

import pika
import pika.exceptions
import psycopg
import pytest

from fixtures import clients
from fixtures.controls import control


@dataclass(frozen=True)
class DefaultCredential:
    service: str
    protocol: str
    user: str
    password: str
    source: str

    def __str__(self):
        return f"{self.service}-{self.protocol}-{self.user or 'default'}"


# Every development credential the seeds print, with where they print it.
SEED_DEFAULT_CREDENTIALS = [
    DefaultCredential("rabbitmq", "amqp", "admin", "admin123", "seed 003 §Default Credentials; seed 000 §Access Points"),
    DefaultCredential("rabbitmq", "management", "admin", "admin123", "seed 003 §Default Credentials"),
    DefaultCredential("postgres", "sql", "actor_user", "actor_pass123", "seed 003 §Default Credentials"),
    DefaultCredential("postgres", "sql", "pliers", "secure_password_here", "seed 002 §Environment Variables"),
    DefaultCredential("redis", "resp", "", "redis123", "seed 003 §Default Credentials"),
    DefaultCredential("grafana", "http", "admin", "admin", "seed 003 §Default Credentials"),
]
# JWT secrets the seeds print as examples; a gateway must not accept tokens signed with them.
SEED_JWT_SECRETS = ["dev-secret-key-change-in-production", "your_jwt_secret_here", "your-jwt-secret", "your-secret"]
WRONG_PASSWORD = "definitely-not-the-password"


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


@control("CRED-001", severity="critical", reference="seed 001 §Change Default Credentials; seed 003 §Default Credentials")
def test_rabbitmq_refuses_guest_over_amqp(stack):
    """RabbitMQ refuses guest/guest over AMQP from the network."""
    outcome = _amqp_login(stack, "guest", "guest")
    assert outcome.startswith("refused"), "RabbitMQ accepted an AMQP login as guest/guest"


@control("CRED-002", severity="critical", reference="seed 001 §Change Default Credentials; seed 003 §Health Endpoints")
def test_rabbitmq_management_refuses_guest(stack):
    """RabbitMQ's management API refuses guest/guest."""
    status = _management_login(stack, "guest", "guest")
    assert status == 401, f"the management API answered {status} to guest/guest"


@control("CRED-003", severity="high", reference="seed 001 §Security Hardening")
def test_rabbitmq_application_user_is_not_an_administrator(stack):
    """The user the platform's services connect with is not a RabbitMQ administrator."""
    app = stack.application_credentials("rabbitmq")
    if app is None:
        pytest.fail("the gateway's RABBITMQ_URL names no user", pytrace=False)
    response = clients.RabbitManagement(stack).get(f"/users/{app.user}")
    assert response.status_code == 200, f"user {app.user} unknown to the management API ({response.status_code})"
    tags = response.json().get("tags")
    tags = tags if isinstance(tags, list) else [t for t in str(tags).split(",") if t]
    assert "administrator" not in tags, f"application user {app.user} has tags {tags}"


# ---------------------------------------------------------------------------- defaults


@control("CRED-004", severity="critical", reference="seed 003 §Default Credentials; seed 001 §Change Default Credentials")
@pytest.mark.parametrize("credential", SEED_DEFAULT_CREDENTIALS, ids=str)
def test_seed_default_credentials_are_refused(credential, stack, pg):
    """Every development credential the seeds print is refused by the service it belongs to."""
    if credential.service not in stack.model.services:
        pytest.skip(f"the stack has no {credential.service} service")
    if credential.protocol == "amqp":
        outcome = _amqp_login(stack, credential.user, credential.password)
    elif credential.protocol == "management":
        outcome = "accepted" if _management_login(stack, credential.user, credential.password) == 200 else "refused"
    elif credential.protocol == "sql":
        outcome = _postgres_login(pg, credential.user, credential.password, database=stack.postgres_credentials().database)
    else:
        reply = _redis_reply(stack, ["PING"], credential.password)
        outcome = f"refused: {reply}" if reply.startswith("-") else "accepted"
    assert outcome.startswith("refused"), f"{credential.service} accepted {credential.user or '(default user)'} / the password from {credential.source}"


# ---------------------------------------------------------------------------- Redis


@control("CRED-005", severity="critical", reference="seed 001 §Change Default Credentials (redis --requirepass)")
def test_redis_refuses_unauthenticated_clients(stack):
    """Redis answers NOAUTH to a client without a password."""
    reply = _redis_reply(stack, ["GET", "order:probe"])
    assert reply.startswith("-NOAUTH"), f"Redis answered {reply!r} to an unauthenticated GET"


@control("CRED-006", severity="high", reference="seed 001 §Change Default Credentials (redis --requirepass)")
def test_redis_refuses_a_wrong_password(stack):
    """Redis answers WRONGPASS to a client with a wrong password."""
    reply = _redis_reply(stack, ["PING"], password=WRONG_PASSWORD)
    assert reply.startswith("-WRONGPASS"), f"Redis answered {reply!r} to AUTH with a wrong password"


@control("CRED-007", severity="high", reference="seed 003 §Default Credentials (Redis: none)")
def test_redis_default_user_has_a_password(redis_client):
    """Redis' default user is not `nopass`."""
    flags = redis_client.acl_getuser("default")["flags"]
    assert "nopass" not in flags, f"the default user's flags are {flags}"


@control("CRED-008", severity="high", reference="seed 001 §Security Hardening")
def test_redis_application_user_cannot_reconfigure_redis(stack):
    """The user the gateway connects to Redis with cannot run CONFIG."""
    app = stack.application_credentials("redis")
    if app is None or not app.user:
        pytest.fail("the gateway's REDIS_URL names no ACL user: it connects as default, which can run CONFIG", pytrace=False)
    reply = _redis_reply(stack, ["CONFIG", "GET", "maxmemory"], password=app.password, username=app.user)
    assert reply.startswith("-NOPERM"), f"CONFIG GET as {app.user} answered {reply!r}"


# ---------------------------------------------------------------------------- PostgreSQL


@control("CRED-009", severity="critical", reference="seed 001 §Change Default Credentials")
def test_postgres_refuses_a_wrong_password(stack, pg):
    """PostgreSQL refuses its own user with a wrong password."""
    outcome = _postgres_login(pg, stack.postgres_credentials().user, WRONG_PASSWORD)
    assert outcome.startswith("refused"), "PostgreSQL accepted a wrong password"


@control("CRED-010", severity="critical", reference="seed 001 §Security Hardening")
def test_postgres_has_no_trust_rule_for_host_connections(pg):
    """pg_hba has no `trust` rule for host (network) connections."""
    with pg() as connection:
        rules = connection.execute(
            "SELECT line_number, type, database, user_name, address FROM pg_hba_file_rules "
            "WHERE type LIKE 'host%' AND auth_method = 'trust'"
        ).fetchall()
    assert not rules, f"trust rules for host connections: {rules}"


@control("CRED-011", severity="high", reference="seed 001 §Security Hardening")
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


@control("CRED-012", severity="high", reference="seed 001 §Security Hardening")
def test_postgres_application_role_is_not_a_superuser(stack, pg):
    """The role the platform's services connect with is not a superuser."""
    app = stack.application_credentials("postgres")
    if app is None:
        pytest.fail("the gateway declares no DATABASE_USER", pytrace=False)
    with pg() as connection:
        row = connection.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (app.user,)).fetchone()
    assert row is not None, f"application role {app.user} does not exist"
    assert row[0] is False, f"application role {app.user} is a superuser"


# ---------------------------------------------------------------------------- gateway (JWT)


@control("CRED-013", severity="critical", reference="seed 001 §Environment Configuration (JWT)")
def test_gateway_rejects_requests_without_a_token(gateway_as):
    """The gateway answers 401 to an order request with no token."""
    response = gateway_as(None).get(f"/orders/{_some_order_id()}")
    assert response.status_code == 401, f"GET /orders without a token answered {response.status_code}"


@control("CRED-014", severity="high", reference="seed 003 §Environment Variables (JWT_EXPIRATION)")
def test_gateway_rejects_an_expired_token(stack, gateway_as):
    """The gateway answers 401 to a correctly signed token that expired an hour ago."""
    token = clients.mint_token(stack.jwt_secret(), ttl_s=300, now=time.time() - 3600)
    response = gateway_as(token).get(f"/orders/{_some_order_id()}")
    assert response.status_code == 401, f"an expired token got {response.status_code}"


@control("CRED-015", severity="critical", reference="seed 003 §Environment Variables (JWT_SECRET); seed 001 §Environment Configuration")
@pytest.mark.parametrize("secret", ["a-random-key-nobody-configured"] + SEED_JWT_SECRETS)
def test_gateway_rejects_tokens_signed_with_another_secret(secret, gateway_as):
    """The gateway answers 401 to tokens signed with any other secret, the seeds' examples included."""
    response = gateway_as(clients.mint_token(secret)).get(f"/orders/{_some_order_id()}")
    assert response.status_code == 401, f"a token signed with {secret!r} got {response.status_code}"


def _some_order_id() -> str:
    return "00000000-0000-4000-8000-000000000000"


# ---------------------------------------------------------------------------- edge


@control("CRED-016", severity="low", reference="seed 001 §Security Hardening; CIS NGINX 2.5.1 (server_tokens)")
def test_edge_does_not_reveal_its_version(stack):
    """nginx's Server header and its own error pages name no version."""
    # A request line nginx itself rejects (400), so the error page is nginx's, not the gateway's.
    answer = clients.edge_raw_exchange(stack.edge_url, b"GET / HTTP/1.1\r\nHost: \r\nHost: x\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    server = next((line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"server:")), "")
    assert server, f"nginx answered without a Server header: {head[:200]!r}"
    assert not any(ch.isdigit() for ch in server), f"Server header reveals {server!r}"
    assert b"nginx/" not in body, "nginx's error page reveals its version"


@control("CRED-017", severity="high", reference="seed 001 §Enable TLS")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=lambda v: v.name)
def test_edge_refuses_tls_before_1_2(version, stack):
    """The edge refuses TLS 1.0 and TLS 1.1 handshakes."""
    if not stack.edge_url.startswith("https://"):
        pytest.fail("the edge publishes no HTTPS port", pytrace=False)
    outcome = clients.tls_handshake(stack.edge_url, version)
    assert outcome.startswith("refused"), f"the edge negotiated {outcome} when offered only {version.name}"


@control("CRED-018", severity="high", reference="seed 001 §Enable TLS")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=lambda v: v.name)
def test_edge_serves_tls_1_2_and_1_3(version, stack):
    """The edge serves HTTPS over TLS 1.2 and TLS 1.3."""
    if not stack.edge_url.startswith("https://"):
        pytest.fail("the edge publishes no HTTPS port", pytrace=False)
    outcome = clients.tls_handshake(stack.edge_url, version)
    assert not outcome.startswith("refused"), f"offered only {version.name}, the edge {outcome}"


@control("CRED-019", severity="critical", reference="seed 001 §Enable TLS")
def test_plain_http_does_not_serve_the_api(stack):
    """nginx's plain-HTTP port does not serve the API: it redirects or refuses."""
    if not stack.info.edge_http_url:
        return  # no plain-HTTP port published: nothing is served in clear text
    response = clients.Gateway(stack.info.edge_http_url, token=None).get("/health", allow_redirects=False)
    status, location = response.status_code, response.headers.get("Location", "")
    # Any answer from a gateway replica (even a 503) means the API is reachable in clear text.
    assert "X-Replica" not in response.headers, f"a gateway replica answered GET /health over plain HTTP ({status})"
    redirected_to_https = 300 <= status < 400 and location.startswith("https://")
    assert redirected_to_https or 400 <= status < 500, (
        f"GET /health over plain HTTP answered {status} {location}: neither a redirect to HTTPS nor a refusal"
    )
