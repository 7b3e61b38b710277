"""`ports:` in short syntax ("127.0.0.1:9000:8080/udp") or long syntax (a mapping per port)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from stagetui.compose.model import PortMapping
from stagetui.compose.values import Node

LONG_SYNTAX_KEYS = ("host_ip", "protocol", "published", "target")
_PROTOCOLS: tuple[Literal["tcp", "udp"], ...] = ("tcp", "udp")
_DEFAULT_HOST_IP = PortMapping.host_ip
_SHORT_FORMS = '"8080", "9000:8080", "127.0.0.1:9000:8080" or "127.0.0.1::8080", optionally with /udp'


def parse_ports(node: Node) -> tuple[PortMapping, ...]:
    if node.is_null:
        return ()
    return tuple(_port(item) for item in node.sequence())


def _port(node: Node) -> PortMapping:
    if isinstance(node.value, dict):
        return _long_syntax(node)
    if isinstance(node.value, int) and not isinstance(node.value, bool):
        return PortMapping(container_port=_port_number(node, str(node.value)))
    return _short_syntax(node, node.text())


def _short_syntax(node: Node, text: str) -> PortMapping:
    body, slash, protocol = text.strip().partition("/")
    if "-" in body:
        raise node.error(f"port ranges are not supported ({text!r}); list each port on its own")
    parts = _split_host_ip(node, body, text)
    if len(parts) > 3:
        raise node.error(f"{text!r} is not a port mapping; use {_SHORT_FORMS}")
    host_ip, host_port, container_port = [""] * (3 - len(parts)) + parts
    return PortMapping(
        container_port=_port_number(node, container_port),
        protocol=_protocol(node, protocol) if slash else "tcp",
        host_ip=_host_ip(node, host_ip) if host_ip else _DEFAULT_HOST_IP,
        host_port=_port_number(node, host_port) if host_port else None,
    )


def _split_host_ip(node: Node, body: str, text: str) -> list[str]:
    """["ip", "host", "container"] or a suffix of it; an IPv6 host ip is written in brackets."""
    if not body.startswith("["):
        return body.split(":")
    address, bracket, rest = body[1:].partition("]")
    if not bracket or not rest.startswith(":") or rest.count(":") != 2:
        raise node.error(f"{text!r} is not a port mapping; write an IPv6 address as [::1]:9000:8080")
    host_port, container_port = rest[1:].split(":")
    return [address, host_port, container_port]


def _long_syntax(node: Node) -> PortMapping:
    fields = node.fields(
        LONG_SYNTAX_KEYS, {"mode": "not supported (yet)", "app_protocol": "not supported (yet)"}
    )
    target = node.required(fields, "target")
    published = fields.get("published")
    if published is not None and isinstance(published.value, str) and "-" in published.value:
        raise published.error(
            f"port ranges are not supported ({published.value!r}); list each port on its own"
        )
    return PortMapping(
        container_port=target.integer(1, 65535),
        protocol=_protocol(fields["protocol"], fields["protocol"].text()) if "protocol" in fields else "tcp",
        host_ip=_host_ip(fields["host_ip"], fields["host_ip"].text())
        if "host_ip" in fields
        else _DEFAULT_HOST_IP,
        host_port=published.integer(1, 65535) if published is not None and published.value != "" else None,
    )


def _port_number(node: Node, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise node.error(f"{text!r} is not a port number (1-65535)")
    return int(text)


def _protocol(node: Node, text: str) -> Literal["tcp", "udp"]:
    if text not in _PROTOCOLS:
        raise node.error(f"protocol {text!r} is not supported; use tcp or udp")
    return text


def _host_ip(node: Node, text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise node.error(f"{text!r} is not an IP address") from None
