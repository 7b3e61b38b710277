"""How services are found on the swarm (VIP or DNS round-robin) and where the environment answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import docker

from stagetui.runtimes.base import RuntimeOperationError
from stagetui.runtimes.swarm.inventory import ServiceEntry, list_tasks
from stagetui.runtimes.swarm.specs import EndpointMode
from stagetui.runtimes.swarm.tasks import TaskEntry

IPVS_TABLE = Path("/proc/net/ip_vs")
"""Present when the kernel has IPVS loaded, which Swarm's VIPs and routing mesh are built on."""


def choose_endpoint_mode(configured: str, engine_address: str, ipvs_table: Path = IPVS_TABLE) -> EndpointMode:
    """`configured` unless "auto": then vip when the manager runs on this machine and its kernel has IPVS
    (without it, VIPs resolve but never answer), else dnsrr, which works on every kernel."""
    if configured in {"vip", "dnsrr"}:
        return "vip" if configured == "vip" else "dnsrr"
    local = engine_address.startswith(("unix:", "npipe:"))
    return "vip" if local and ipvs_table.exists() else "dnsrr"


def node_host(address: str, engine_address: str) -> str:
    """The address to reach a node at, as a URL's host: its swarm address, unless that is a loopback or
    wildcard one (a single-node swarm advertised on 127.0.0.1): then the manager's host, or this machine."""
    if address and not address.startswith("127.") and address not in {"0.0.0.0", "::", "::1"}:
        host = address
    else:
        remote = engine_address.startswith(("tcp:", "ssh:", "http"))
        host = (urlsplit(engine_address).hostname if remote else None) or "127.0.0.1"
    return f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it


def endpoint_urls(
    tasks: Iterable[TaskEntry],
    service_id: str,
    target_port: int,
    node_addresses: Mapping[str, str],
    engine_address: str,
) -> list[str]:
    """Where the running tasks of `service_id` publish `target_port` (host mode), one URL per task."""
    urls = []
    for task in sorted(tasks, key=lambda t: t.id):
        if task.service_id != service_id or not task.running:
            continue
        for target, published in task.published:
            if target == target_port:
                host = node_host(node_addresses.get(task.node_id, ""), engine_address)
                urls.append(f"http://{host}:{published}")
    return urls


def endpoint_of(
    client: docker.DockerClient, environment_id: str, entry: ServiceEntry, port: int, engine_address: str
) -> str:
    """The URL where the endpoint service answers now: the routing mesh's port in vip mode, else the
    first running task's host-mode port at its node's address."""
    if (entry.spec.get("EndpointSpec") or {}).get("Mode") == "vip":
        published = [
            p["PublishedPort"]
            for p in (client.api.inspect_service(entry.id).get("Endpoint") or {}).get("Ports") or []
            if p.get("TargetPort") == port and p.get("PublishedPort")
        ]
        if published:
            return f"http://{node_host('', engine_address)}:{published[0]}"
    nodes = {n["ID"]: (n.get("Status") or {}).get("Addr", "") for n in client.api.nodes()}
    urls = endpoint_urls(list_tasks(client, environment_id), entry.id, port, nodes, engine_address)
    if not urls:
        raise RuntimeOperationError(
            f"{entry.service} of {environment_id} publishes no port {port} on a running task: add it to the "
            "service's ports: in the compose file, or see why its tasks do not run (stagetui show)"
        )
    return urls[0]
