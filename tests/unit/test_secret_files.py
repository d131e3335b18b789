"""Docker secrets as files: generated per run into SECRETS_DIR, found again in an environment."""

import stat

from fixtures import secret_files

MODEL = {
    "secrets": {
        "postgres_password": {"file": "${SECRETS_DIR:?SECRETS_DIR is unset}/postgres_password"},
        "jwt_secret": {"file": "$SECRETS_DIR/jwt_secret"},
        "users_own": {"file": "/etc/platform/tls-passphrase"},
        "from_vault": {"external": True},
    },
    "services": {
        "postgres": {"environment": {"POSTGRES_USER": "admin", "POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password"},
                     "secrets": [{"source": "postgres_password"}]},
        "api": {"environment": {"JWT_SECRET_FILE": "/etc/jwt", "OTHER_FILE": "/run/secrets/missing"},
                "secrets": [{"source": "jwt_secret", "target": "/etc/jwt"}]},
    },
}


def test_each_secret_file_in_the_directory_gets_a_fresh_private_value(tmp_path):
    directory = tmp_path / "secrets"
    first = secret_files.generate(MODEL, directory)
    assert set(first) == {"postgres_password", "jwt_secret"}, "the user's own and external secrets are not ours"
    assert all(len(value) >= 32 for value in first.values())
    assert (directory / "jwt_secret").read_text() == first["jwt_secret"]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    second = secret_files.generate(MODEL, directory)
    assert all(first[name] != second[name] for name in first)


def test_a_resolved_model_names_files_by_their_path(tmp_path):
    resolved = {"secrets": {"redis_password": {"file": str(tmp_path / "redis_password")}}}
    values = secret_files.generate(resolved, tmp_path)
    assert secret_files.read_values(resolved) == values


def test_file_variables_resolve_to_the_secret_they_mount():
    values = {"postgres_password": "pg-secret-value", "jwt_secret": "jwt-secret-value"}
    assert secret_files.file_variables(MODEL, "postgres", values) == {"POSTGRES_PASSWORD": "pg-secret-value"}
    assert secret_files.file_variables(MODEL, "api", values) == {"JWT_SECRET": "jwt-secret-value"}


def test_a_secret_in_an_environment_is_found_even_inside_a_url():
    values = {"database_password": "s3cret-value-43-chars", "short": "abc"}
    environment = ["PATH=/usr/bin", "DATABASE_URL=postgresql://app:s3cret-value-43-chars@postgres/db", "X=abc",
                   "DATABASE_PASSWORD_FILE=/run/secrets/database_password"]
    assert secret_files.in_environment(environment, values) == [("DATABASE_URL", "database_password")]


def test_as_variables_upper_cases_the_names():
    assert secret_files.as_variables({"jwt_secret": "x"}) == {"JWT_SECRET": "x"}
