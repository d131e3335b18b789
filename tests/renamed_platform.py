"""The reference platform with every service renamed consistently, roles still declared under x-conformance.

A platform whose database is `db` and whose proxy is `proxy` must be judged exactly as the
reference is: nothing in the suite may depend on the reference's service names.
"""

import re
from pathlib import Path

from tests.suite_runner import ROOT

REFERENCE = ROOT / "stack" / "docker-compose.yml"
RENAMES = {"postgres": "db", "rabbitmq": "mq", "redis": "kv", "api-gateway": "gw", "order-service": "worker",
           "nginx": "proxy"}
# A service name where compose or a URL names a service (a key, a value, `[a, b]`, `@host:port`), not
# where it is part of an image, a path, a volume or a command (`conformance/postgres`, `redis-server`).
_NAME = re.compile(r"(?<=[\s\[@])(" + "|".join(map(re.escape, RENAMES)) + r")(?!://)(?=[:\]\s,;]|$)", re.MULTILINE)


def rename(text: str) -> str:
    return _NAME.sub(lambda found: RENAMES[found.group(1)], text)


def write_renamed_platform(directory: Path) -> Path:
    """The renamed compose file (and the edge configuration naming its upstream) in `directory`."""
    nginx_conf = directory / "nginx.conf"
    nginx_conf.write_text(rename((REFERENCE.parent / "nginx" / "nginx.conf").read_text()))
    text = rename(REFERENCE.read_text()).replace("./nginx/nginx.conf", str(nginx_conf))
    compose = directory / "docker-compose.yml"
    compose.write_text(re.sub(r"(?<=[\s:])\./", f"{REFERENCE.parent}/", text))
    return compose
