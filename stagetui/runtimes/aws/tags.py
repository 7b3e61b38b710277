"""Tags: every resource of an environment carries its labels as tags, and every part of a snapshot set
carries the set's id and as-of time; teardown, gc and discovery find them through the tagging API."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stagetui.runtimes.base import LABEL_PREFIX

ENV_TAG = f"{LABEL_PREFIX}env"
SET_TAG = f"{LABEL_PREFIX}set"
"""On every part of a snapshot set: the set's id."""
TAKEN_TAG = f"{LABEL_PREFIX}taken"
"""On every part of a snapshot set: its as-of time (ISO 8601)."""
COMPLETE_TAG = f"{LABEL_PREFIX}complete"
"""Added to a set's parts once all of them are available: a set without it was cut short."""


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """AWS's [{"Key": .., "Value": ..}] form."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in tags or []}


@dataclass(frozen=True)
class TaggedResource:
    arn: str
    tags: dict[str, str]

    @property
    def service(self) -> str:
        return self.arn.split(":")[2]

    @property
    def kind(self) -> str:
        """db, cluster, snapshot, cluster-snapshot (rds); volume, snapshot (ec2); parameter (ssm)."""
        resource = self.arn.split(":", 5)[5]
        return resource.split(":")[0] if self.service == "rds" else resource.split("/")[0]

    @property
    def name(self) -> str:
        """The identifier the service's own API takes (an SSM parameter's full name starts with /)."""
        resource = self.arn.split(":", 5)[5]
        if self.service == "rds":
            return resource.split(":", 1)[1]
        if self.service == "ssm":
            return "/" + resource.split("/", 1)[1]
        return resource.split("/", 1)[1]


def find_tagged(tagging: Any, key: str, value: str | None = None) -> Iterator[TaggedResource]:
    """Every resource carrying tag `key` (with `value`, when given), through the tagging API."""
    tag_filter: dict[str, Any] = {"Key": key} | ({"Values": [value]} if value is not None else {})
    for page in tagging.get_paginator("get_resources").paginate(TagFilters=[tag_filter]):
        for mapping in page.get("ResourceTagMappingList", []):
            yield TaggedResource(mapping["ResourceARN"], tag_dict(mapping.get("Tags")))
