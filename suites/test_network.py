"""Network isolation: what each network of the stack and the host can reach, probed from the inside.

The seeds put the event store, the cache and the broker on internal networks and expose
only the edge. A container of ours on each stack network, and the host on loopback, try
every service port; the matrix they produce (reports/network-matrix.md, and each control's
observed message) is judged here against that intent.
"""

from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.platform.inference import declared_ports
from fixtures.platform.peers import peers, unknown
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


@control("NET-005", severity="high", reference=f"{ISOLATION}; CIS Docker 1.6.0 5.9, 5.14",
         needs=("edge", "target:binds_host_ports"))
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
    known |= set(peer_ports(stack.platform.technology_of(service)))
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


def _joined(reachability) -> dict[str, set[str]]:
    """service -> the stack networks it is attached to, as running."""
    joined: dict[str, set[str]] = {}
    for network in reachability.networks:
        for member in reachability.members(network):
            joined.setdefault(member, set()).add(network)
    return joined


def _fewest_others(networks, others: dict[str, set[str]]) -> set[str]:
    """Of `networks`, those that bring the fewest services besides the ones wanted."""
    least = min((len(others[n]) for n in networks), default=0)
    return {n for n in networks if len(others[n]) == least}


def _needed_networks(reachability, service: str, mine: set[str], wanted: set[str]) -> set[str]:
    """The networks `service` needs: for each service it must talk to, the shared networks that bring it the
    fewest others; and for a service allowed a route out whose other networks have none, its networks with one."""
    others = {n: reachability.members(n) - wanted - {service} for n in mine}
    needed = set()
    for peer in wanted:
        needed |= _fewest_others([n for n in mine if peer in reachability.members(n)], others)
    if service in reachability.platform.egress_services() and all(reachability.internal(n) for n in needed):
        # The edge's ports are published through a network with a route out: it needs one.
        needed |= _fewest_others([n for n in mine if not reachability.internal(n)], others)
    return needed


@control("NET-007", severity="medium", reference=ISOLATION)
def test_no_service_joins_a_network_its_role_does_not_need(reachability, observed):
    """No service joins a network its role does not need: each one carries a peer it talks to, the shortest way.

    Rationale: NET-001..003 judge who reaches the data services; a network joined for no
    reason gives a service a path to everything there (and, on one that is not internal, a
    route out) without any of them failing: a worker on the edge's network, a cache on the
    broker's. Peers come from the roles (fixtures/platform/peers.py): a data service and the
    roles the description names as its clients, the edge and the gateways (and the web
    frontend) it serves, the dashboards and the metrics and tracing they read; gateways and
    workers meet only through the broker and the event store. Of the networks a service
    shares with a peer, the ones that bring it the fewest other services are the ones it
    needs (a second, wider one is a finding), and a service of an egress role also needs one
    network with a route out, where its ports are published. A service with no role is not
    judged and counts as everyone's possible peer: the description does not say whom it talks to.
    """
    links, strangers = peers(reachability.platform), unknown(reachability.platform)
    joined, problems, seen = _joined(reachability), [], []
    for service in sorted(set(joined) - strangers):
        mine = joined[service]
        wanted = links.get(service, set()) | strangers
        needed = _needed_networks(reachability, service, mine, wanted)
        seen.append(f"{service} needs {', '.join(sorted(needed)) or 'no network'}")
        for network in sorted(mine - needed):
            members = reachability.members(network) - {service}
            talked_to = members & wanted
            if not talked_to:
                problems.append(f"{service} joins {network}, where none of its peers is "
                                f"({', '.join(sorted(members)) or 'nobody else there'})")
            else:
                problems.append(f"{service} joins {network} for {', '.join(sorted(talked_to))}, already reached over "
                                f"{', '.join(sorted(needed))}; there it also reaches "
                                f"{', '.join(sorted(members - talked_to))}")
    judged_not = sorted(strangers & set(joined))
    observed("; ".join(seen) + (f"; not judged (no role): {', '.join(judged_not)}" if judged_not else ""))
    assert not problems, f"{'; '.join(problems)}\n{reachability.markdown()}"


@control("NET-008", severity="high", reference=ISOLATION)
def test_only_egress_roles_have_a_route_out(reachability, observed):
    """Only the services of the roles allowed egress (the edge, and the description's `egress`) have a route out.

    Rationale: a route out is how a compromised service calls home and how data leaves; the
    edge needs one to face clients, a gateway behind it does not. Each network's route out is
    tried against the sentinel outside the stack (NET-003's); any service on a network that
    reaches it, other than those of the `egress` roles, is a finding, and so is a sentinel no
    network with a route out reached, which would prove nothing.
    """
    platform = reachability.platform
    egress = platform.egress_services()
    with_route = [n for n in reachability.networks if reachability.route_out[n].observed]
    problems = [f"{service} has a route out over {network}"
                for network in with_route for service in sorted(reachability.members(network) - egress)]
    open_networks = [n for n in reachability.networks if not reachability.internal(n)]
    if open_networks and not with_route:
        problems.append(f"the sentinel answered none of the non-internal networks ({', '.join(open_networks)}), "
                        "so a missing route out proves nothing")
    routes = [f"{n} ({', '.join(sorted(reachability.members(n))) or 'nobody'})" for n in with_route]
    observed(f"egress roles: {', '.join(platform.egress) or 'none'} ({', '.join(sorted(egress)) or 'no service'}); "
             f"route out over {', '.join(routes) or 'no network'}")
    assert not problems, f"{'; '.join(problems)}\n{reachability.markdown()}"
