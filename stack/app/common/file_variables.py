"""Secrets from files: VAR_FILE names a file holding VAR (a Docker secret at /run/secrets/, on Swarm)."""
import os


def read_file_variables(environ=os.environ) -> None:
    """Read each VAR_FILE's file into VAR, before the service reads its settings."""
    for key in [k for k in environ if k.endswith("_FILE") and len(k) > 5]:
        with open(environ[key], encoding="utf-8") as secret:
            environ[key[:-5]] = secret.read().strip()
