"""Network isolation: what each network of the stack and the host can reach, probed from the inside.

The seeds put the event store, the cache and the broker on internal networks and expose
only the edge. A container of ours on each stack network, and the host on loopback, try
every service port; the matrix they produce (reports/network-matrix.md, and each control's
observed message) is judged here against that intent.
"""

import pytest

from fixtures.controls import control
from fixtures.policy import DATA_SERVICE_CLIENTS, EDGE_SERVICES, SERVICE_PORTS, is_loopback

ISOLATION = "seed 001 §Network Isolation; seed 002 §Network Security"
DATA_PORTS = {port for service in DATA_SERVICE_CLIENTS for port in SERVICE_PORTS[service]}


def _data_services(reachability) -> list[str]:
    return sorted(set(DATA_SERVICE_CLIENTS) & set(reachability.ports))


@control("NET-001", severity="critical", reference=ISOLATION)
def test_the_edge_cannot_reach_data_services(reachability, observed):
    """The edge (nginx) reaches no port of PostgreSQL, Redis or RabbitMQ from any network it joins.

    Rationale: the edge faces clients; one network too many on it gives a compromised nginx
    a direct line to the event store, the cache and the broker.
    """
    edge_networks = [n for n in reachability.networks if reachability.members(n) & EDGE_SERVICES]
    if not edge_networks:
        pytest.skip("no edge service (nginx) is attached to a stack network")
    cells = {f"{network}→{service}:{port}": reachability.tcp[network, service, port]
             for network in edge_networks for service in _data_services(reachability)
             for port in reachability.ports[service]}
    observed(f"the edge joins {', '.join(edge_networks)}: {reachability.describe(cells)}")
    reached = [label for label, cell in cells.items() if cell.observed]
    assert not reached, f"the edge reaches {', '.join(reached)}\n{reachability.markdown()}"


@control("NET-002", severity="high", reference=ISOLATION)
def test_data_services_are_reachable_only_from_their_clients(reachability, observed):
    """PostgreSQL, Redis and RabbitMQ are reachable only from the services that need them.

    Rationale: the gateway uses all three, the order-service the event store and the broker;
    any other service that can connect to one of them is an attack path nothing needs. A
    data service that answers on no network at all fails too: the probe could not judge it.
    """
    reached_from, problems = [], []
    for service in _data_services(reachability):
        clients = reachability.clients_of(service)
        reached_from.append(f"{service} from {', '.join(sorted(clients)) or 'nowhere'}")
        problems += [f"{service} is reachable from {client} (over {', '.join(sorted(networks))})"
                     for client, networks in sorted(clients.items()) if client not in DATA_SERVICE_CLIENTS[service]]
        if not any(reachability.tcp[n, service, p].observed for n in reachability.networks
                   for p in reachability.ports[service]):
            problems.append(f"{service} answered on no network")
    observed("; ".join(reached_from))
    assert not problems, f"{'; '.join(problems)}\n{reachability.markdown()}"


@control("NET-003", severity="critical", reference=ISOLATION)
def test_data_networks_are_internal_with_no_route_out(reachability, observed):
    """Every network that carries a data service or is declared internal runs internal and has no route out.

    Rationale: `internal: true` is what keeps the event store, cache and broker from reaching
    (and being reached from) anywhere outside the stack. The route out is tried against a
    sentinel of ours outside the stack, which the networks with a route out must reach, or
    its absence on the others would prove nothing.
    """
    guarded = [n for n in reachability.networks
               if reachability.members(n) & set(DATA_SERVICE_CLIENTS) or reachability.declared_internal(n)]
    problems = [f"{n} is not internal" for n in guarded if not reachability.internal(n)]
    problems += [f"{n} has a route out" for n in guarded if reachability.route_out[n].observed]
    open_networks = [n for n in reachability.networks if not reachability.internal(n)]
    if open_networks and not any(reachability.route_out[n].observed for n in open_networks):
        problems.append(f"the sentinel answered none of the non-internal networks ({', '.join(open_networks)}), "
                        "so a missing route out proves nothing")
    observed(", ".join(
        f"{n} ({'internal' if reachability.internal(n) else 'not internal'}) route out {reachability.route_out[n]}"
        for n in reachability.networks))
    assert not problems, f"{'; '.join(problems)}\n{reachability.markdown()}"


@control("NET-004", severity="critical", reference=f"{ISOLATION}; seed 002 §Docker Compose Configuration")
def test_no_data_port_or_admin_ui_is_published(reachability, observed):
    """No port of PostgreSQL, Redis or RabbitMQ, the management UI (15672) included, is published on the host.

    Rationale: seed 002's compose file publishes 5432 and 6379 on every interface; a port
    published "for debugging" outlives the debugging, even on loopback. A port declared on a
    container that joins only internal networks counts: Docker binds it once it joins another.
    """
    published = [str(b) for b in reachability.bindings if b.service in DATA_SERVICE_CLIENTS or b.port in DATA_PORTS]
    observed(f"host port bindings: {', '.join(map(str, reachability.bindings)) or 'none'}")
    assert not published, f"published on the host: {', '.join(published)}\n{reachability.markdown()}"


@control("NET-005", severity="high", reference=f"{ISOLATION}; CIS Docker 1.6.0 5.9, 5.14")
def test_only_the_edge_publishes_on_loopback_and_answers(reachability, observed):
    """The stack's host ports are exactly the edge's, each bound to loopback and answering there."""
    problems = []
    for binding in reachability.bindings:
        faults = [fault for fault, found in (("not the edge's", binding.service not in EDGE_SERVICES),
                                             ("not on loopback", not is_loopback(binding.host_ip)),
                                             ("no answer on loopback", not binding.answered)) if found]
        problems += [f"{binding}: {', '.join(faults)}"] if faults else []
    if not any(b.service in EDGE_SERVICES for b in reachability.bindings):
        problems.append("the edge publishes no port")
    observed(f"host port bindings: {', '.join(map(str, reachability.bindings)) or 'none'}")
    assert not problems, f"{'; '.join(problems)}\n{reachability.markdown()}"
