"""Network isolation: what each network of the stack and the host can reach, probed from the inside.

The seeds put the event store, the cache and the broker on internal networks and expose
only the edge. A container of ours on each stack network, and the host on loopback, try
every service port; the matrix they produce (reports/network-matrix.md, and each control's
observed message) is judged here against that intent.
"""

from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.platform.inference import declared_ports
from fixtures.platform.technologies import peer_ports
from fixtures.policy import is_loopback

ISOLATION = "seed 001 §Network Isolation; seed 002 §Network Security"


def _data_services(reachability) -> list[str]:
    """The services of the platform's data roles (event store, cache, broker, search) that listen somewhere."""
    services = sorted(set(reachability.platform.data_service_clients()) & set(reachability.ports))
    if not services:
        not_applicable("the platform has no data service (event store, cache, broker or search)")
    return services


def _data_ports(reachability) -> set[int]:
    return {port for service in reachability.platform.data_service_clients() for port in reachability.ports.get(service, ())}


@control("NET-001", severity="critical", reference=ISOLATION, needs=("edge",))
def test_the_edge_cannot_reach_data_services(reachability, observed):
    """The edge reaches no port of a data service (event store, cache, broker) from any network it joins.

    Rationale: the edge faces clients; one network too many on it gives a compromised nginx
    a direct line to the event store, the cache and the broker.
    """
    edge = reachability.platform.edge_services
    data_services = _data_services(reachability)
    edge_networks = [n for n in reachability.networks if reachability.members(n) & edge]
    if not edge_networks:
        not_applicable(f"the edge ({', '.join(sorted(edge))}) joins no stack network")
    cells = {f"{network}→{service}:{port}": reachability.tcp[network, service, port]
             for network in edge_networks for service in data_services
             for port in reachability.ports[service]}
    observed(f"the edge joins {', '.join(edge_networks)}: {reachability.describe(cells)}")
    reached = [label for label, cell in cells.items() if cell.observed]
    assert not reached, f"the edge reaches {', '.join(reached)}\n{reachability.markdown()}"


@control("NET-002", severity="high", reference=ISOLATION)
def test_data_services_are_reachable_only_from_their_clients(reachability, observed):
    """Every data service is reachable only from the services of the roles that are its clients.

    Rationale: on the reference platform the gateway uses all three data services, the workers
    the event store and the broker (x-conformance `clients:`); any other service that can
    connect to one of them is an attack path nothing needs. A data service that answers on no
    network at all fails too: the probe could not judge it.
    """
    allowed = reachability.platform.data_service_clients()
    reached_from, problems = [], []
    for service in _data_services(reachability):
        clients = reachability.clients_of(service)
        reached_from.append(f"{service} from {', '.join(sorted(clients)) or 'nowhere'}")
        problems += [f"{service} is reachable from {client} (over {', '.join(sorted(networks))})"
                     for client, networks in sorted(clients.items()) if client not in allowed[service]]
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
    data_services = set(reachability.platform.data_service_clients())
    guarded = [n for n in reachability.networks
               if reachability.members(n) & data_services or reachability.declared_internal(n)]
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
    """No port of a data service, RabbitMQ's management UI (15672) included, is published on the host.

    Rationale: seed 002's compose file publishes 5432 and 6379 on every interface; a port
    published "for debugging" outlives the debugging, even on loopback. A port declared on a
    container that joins only internal networks counts: Docker binds it once it joins another.
    """
    data_services, data_ports = set(_data_services(reachability)), _data_ports(reachability)
    published = [str(b) for b in reachability.bindings if b.service in data_services or b.port in data_ports]
    observed(f"host port bindings: {', '.join(map(str, reachability.bindings)) or 'none'}")
    assert not published, f"published on the host: {', '.join(published)}\n{reachability.markdown()}"


@control("NET-005", severity="high", reference=f"{ISOLATION}; CIS Docker 1.6.0 5.9, 5.14", needs=("edge",))
def test_only_the_edge_publishes_on_loopback_and_answers(reachability, observed):
    """The stack's host ports are exactly the edge's, each bound to loopback and answering there."""
    edge = reachability.platform.edge_services
    problems = []
    for binding in reachability.bindings:
        faults = [fault for fault, found in (("not the edge's", binding.service not in edge),
                                             ("not on loopback", not is_loopback(binding.host_ip)),
                                             ("no answer on loopback", not binding.answered)) if found]
        problems += [f"{binding}: {', '.join(faults)}"] if faults else []
    if not any(b.service in edge for b in reachability.bindings):
        problems.append("the edge publishes no port")
    observed(f"host port bindings: {', '.join(map(str, reachability.bindings)) or 'none'}")
    assert not problems, f"{'; '.join(problems)}\n{reachability.markdown()}"


def _known_ports(stack, service: str) -> set[int]:
    """What a service is known to listen on: its roles' ports, its technology's peer ports, what its file declares."""
    known = set(stack.platform.service_ports().get(service, ()))
    known |= {port for role in stack.platform.roles_of(service) for port in peer_ports(stack.platform.technology(role))}
    return known | declared_ports(stack.model.service(service))


def _network_listeners(sockets: list[str]) -> set[int]:
    """TCP ports listened on beyond loopback, from testinfra's `tcp://0.0.0.0:8443` / `tcp://:::8443` forms."""
    ports = set()
    for address in sockets:
        if address.startswith("tcp://"):
            host, _, port = address.removeprefix("tcp://").rpartition(":")
            if not is_loopback(host):
                ports.add(int(port))
    return ports


@control("NET-006", severity="medium", reference="CIS Docker 1.6.0 5.8 (only needed ports open); seed 001 §Network Isolation")
def test_every_service_listens_only_on_ports_the_platform_knows(stack, service, observed):
    """Inside each container, nothing listens on the network but the ports the platform knows for that service.

    Rationale: a debug server, an admin port or a forgotten sidecar listener is a way in that
    no compose file shows and no network control probes. Listening sockets are read inside
    each running container (testinfra: `ss`), and judged against the service's role ports,
    its technology's peer ports (RabbitMQ's 4369, 25672) and what its file exposes, publishes
    or healthchecks. A container without `ss` or `netstat` is named, not judged.
    """
    unexpected, seen, unjudged = [], [], []
    for name in sorted(stack.model.services):
        known = _known_ports(stack, name)
        for replica, _ in enumerate(stack.containers(name, include_stopped=False), 1):
            try:
                listening = _network_listeners(service(name, replica).socket.get_listening_sockets())
            except Exception as exc:  # testinfra raises its own kinds when the image has no ss or netstat
                unjudged.append(f"{name}#{replica} ({exc.__class__.__name__})")
                continue
            seen.append(f"{name}#{replica}: {', '.join(map(str, sorted(listening))) or 'none'}")
            extra = sorted(listening - known)
            if extra:
                unexpected.append(f"{name}#{replica} listens on {', '.join(map(str, extra))} "
                                  f"(known: {', '.join(map(str, sorted(known))) or 'none'})")
    if not seen:
        not_applicable(f"no container could list its sockets: {', '.join(unjudged)}")
    observed("; ".join(seen) + (f"; not judged: {', '.join(unjudged)}" if unjudged else ""))
    assert not unexpected, "; ".join(unexpected)
