"""One Service per compose service that declares ports, named like the compose service so the others
reach it by the same DNS name as in compose."""

from __future__ import annotations

from stagetui.compose.model import ServiceSpec
from stagetui.runtimes.kubernetes.metadata import EnvironmentMetadata, Json


def service(spec: ServiceSpec, name: str, meta: EnvironmentMetadata) -> Json | None:
    """ClusterIP (headless for endpoint_mode dnsrr); None when the service declares no ports."""
    ports = dict.fromkeys((p.container_port, p.protocol) for p in spec.ports)
    if not ports:
        return None
    body: Json = {
        "type": "ClusterIP",
        "selector": meta.selector(spec.name),
        "ports": [
            {"name": f"{protocol}-{port}", "port": port, "targetPort": port, "protocol": protocol.upper()}
            for port, protocol in ports
        ],
    }
    if spec.deploy.endpoint_mode == "dnsrr":
        body["clusterIP"] = "None"
    published = ", ".join(
        f"{p.container_port}/{p.protocol} on {p.host_ip}:{p.host_port or 'ephemeral'}" for p in spec.ports
    )
    notes = [
        f"ports {published}: published on the Docker host in compose; here reachable in the cluster only "
        f"(kubectl port-forward -n {meta.namespace} service/{name} PORT)"
    ]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta.object_meta(name, service=spec.name, notes=notes),
        "spec": body,
    }


def unreachable_note(spec: ServiceSpec) -> str:
    return (
        f"no ports declared, so no Service: other services cannot reach {spec.name} by name (compose "
        "reaches any port on its network); declare them under ports"
    )
