"""How services are found on the swarm (VIP or DNS round-robin) and where the environment answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

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
    """The address to reach a node at: its swarm address, unless that is a loopback or wildcard one (a
    single-node swarm advertised on 127.0.0.1): then the manager's host, or this machine."""
    if address and not address.startswith("127.") and address not in {"0.0.0.0", "::", "::1"}:
        return address
    remote = (
        urlsplit(engine_address).hostname if engine_address.startswith(("tcp:", "ssh:", "http")) else None
    )
    return remote or "127.0.0.1"


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
