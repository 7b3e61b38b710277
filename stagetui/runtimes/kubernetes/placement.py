"""Swarm placement as pod scheduling: constraints on node labels, hostname and platform become a
nodeSelector or required node affinity, spread preferences topology spread constraints, one replica per
node a pod anti-affinity. Constraints on what Kubernetes nodes do not have (role, id, engine labels) are
noted, not guessed."""

from __future__ import annotations

import re

from stagetui.compose.model import DeploySpec
from stagetui.runtimes.kubernetes.metadata import Json
from stagetui.runtimes.kubernetes.names import is_label_value, is_qualified_key

HOSTNAME = "kubernetes.io/hostname"
_CONSTRAINT = re.compile(r"\s*(?P<attribute>[A-Za-z0-9_.\-/]+)\s*(?P<op>==|!=)\s*(?P<value>.*?)\s*")
_NODE_ATTRIBUTES = {
    "node.hostname": HOSTNAME,
    "node.platform.os": "kubernetes.io/os",
    "node.platform.arch": "kubernetes.io/arch",
}
_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}
"""Swarm reports the kernel's machine name, Kubernetes Go's architecture name."""


def node_requirement(constraint: str) -> tuple[str, str, str] | None:
    """(node label, "==" or "!=", value) of a constraint Kubernetes can express, else None."""
    match = _CONSTRAINT.fullmatch(constraint)
    if match is None:
        return None
    attribute, op, value = match["attribute"], match["op"], match["value"]
    if attribute.startswith("node.labels."):
        key = attribute.removeprefix("node.labels.")
    elif attribute in _NODE_ATTRIBUTES:
        key = _NODE_ATTRIBUTES[attribute]
        value = _ARCHITECTURES.get(value, value) if attribute == "node.platform.arch" else value
    else:
        return None
    if not (is_qualified_key(key) and is_label_value(value)):
        return None
    return key, op, value


def placement(deploy: DeploySpec, selector: dict[str, str]) -> tuple[Json, list[str]]:
    """Pod spec fields for the service's placement, and notes on what could not be rendered."""
    pod: Json = {}
    notes: list[str] = []
    node_selector: dict[str, str] = {}
    expressions: list[Json] = []
    for constraint in deploy.constraints:
        requirement = node_requirement(constraint)
        if requirement is None:
            notes.append(f"placement constraint {constraint!r}: no Kubernetes node label expresses it")
            continue
        key, op, value = requirement
        if op == "==" and key not in node_selector:
            node_selector[key] = value
        else:
            operator = "In" if op == "==" else "NotIn"
            expressions.append({"key": key, "operator": operator, "values": [value]})
    if node_selector:
        pod["nodeSelector"] = node_selector
    affinity: Json = {}
    if expressions:
        terms = [{"matchExpressions": expressions}]
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    if deploy.max_replicas_per_node == 1:
        term = {"labelSelector": {"matchLabels": dict(selector)}, "topologyKey": HOSTNAME}
        affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
    elif deploy.max_replicas_per_node is not None:
        notes.append(
            f"placement max_replicas_per_node {deploy.max_replicas_per_node}: Kubernetes caps replicas "
            "per node only at one (pod anti-affinity)"
        )
    if affinity:
        pod["affinity"] = affinity
    spread = []
    for preference in deploy.spread:
        key = preference.removeprefix("node.labels.")
        if preference == key or not is_qualified_key(key):
            notes.append(f"placement preference spread {preference!r}: no Kubernetes node label expresses it")
            continue
        spread.append(
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(selector)},
            }
        )
    if spread:
        pod["topologySpreadConstraints"] = spread
    return pod, notes
