"""Kubernetes' name and label grammars, and deterministic sanitising into them.

A name that had to change gets a short hash of the original, so two different inputs never sanitise to
the same name; a name that is valid already is kept as it is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MAX_LABEL = 63
"""DNS labels, label values and the name part of label keys are at most 63 characters."""

_DNS_1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_HASH_LENGTH = 6


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LENGTH]


def is_dns_label(name: str, *, letter_first: bool = False) -> bool:
    """DNS-1123 label (namespaces, most object names); with letter_first, DNS-1035 (Service names)."""
    pattern = _DNS_1035_LABEL if letter_first else _DNS_1123_LABEL
    return len(name) <= MAX_LABEL and pattern.fullmatch(name) is not None


def dns_label(text: str, *, letter_first: bool = False) -> str:
    """`text` as a DNS label: kept when valid, else lowercased, runs of other characters turned into one
    '-', cut to fit, with a hash of `text` appended."""
    if is_dns_label(text, letter_first=letter_first):
        return text
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if letter_first and slug and not slug[0].isalpha():
        slug = f"x-{slug}"
    slug = slug[: MAX_LABEL - _HASH_LENGTH - 1].rstrip("-")
    return f"{slug}-{short_hash(text)}" if slug else f"x{short_hash(text)}"


def is_label_value(value: str) -> bool:
    return len(value) <= MAX_LABEL and _LABEL_VALUE.fullmatch(value) is not None


def label_value(text: str) -> str:
    """`text` as a label value: kept when valid, else other characters as '-', trimmed to start and end
    alphanumeric, cut to fit (with a hash of `text` when cut)."""
    if is_label_value(text):
        return text
    value = re.sub(r"[^-A-Za-z0-9_.]+", "-", text)
    value = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)
    if len(value) > MAX_LABEL:
        value = value[: MAX_LABEL - _HASH_LENGTH - 1].rstrip("-_.") + f"-{short_hash(text)}"
    return value


def is_qualified_key(key: str) -> bool:
    """A label or annotation key: an optional DNS subdomain prefix and '/', then a name of ≤63."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or _DNS_1123_SUBDOMAIN.fullmatch(prefix) is None):
        return False
    return len(name) <= MAX_LABEL and _LABEL_NAME.fullmatch(name) is not None


def key_name(text: str) -> str:
    """`text` as the name part of a label key (the same grammar as a non-empty label value)."""
    return label_value(text) or f"x{short_hash(text)}"


def service_names(services: Iterable[str]) -> dict[str, str]:
    """Compose service name -> Deployment and Service name (DNS-1035: what pods resolve)."""
    return {service: dns_label(service, letter_first=True) for service in services}


def is_data_key(key: str) -> bool:
    """A key of a ConfigMap's or Secret's data."""
    return len(key) <= 253 and _DATA_KEY.fullmatch(key) is not None
