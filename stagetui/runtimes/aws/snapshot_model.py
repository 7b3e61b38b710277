"""Snapshot sets as data: what a set and its parts are, how they are named, where a set's S3 copy and
manifest live, and the manifest's JSON form. No AWS calls here except the S3 batch delete both taking
(rollback) and deleting sets use."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.runtimes.base import LABEL_PREFIX

PartKind = Literal["rds-instance", "rds-cluster", "ebs", "s3"]
PART_KINDS: tuple[str, ...] = get_args(PartKind)

PARTS_TAG = f"{LABEL_PREFIX}parts"
"""On every RDS/EBS part: how many parts the set has, so a set that lost a part (or was cut short before
its S3 manifest was written) is seen as incomplete."""
ZONE_TAG = f"{LABEL_PREFIX}zone"
"""On every EBS part: the source volume's availability zone (an EBS snapshot does not record it)."""

_SET_ID = re.compile(r"set-(\d{8}t\d{6}z)-[0-9a-f]{4}")


@dataclass(frozen=True)
class SnapshotPart:
    kind: PartKind
    source: str
    """Production id (instance/cluster/volume id) or s3:// URL of the seed."""
    snapshot: str
    """RDS snapshot identifier, EBS snapshot id, or s3:// URL of the set's copy."""
    size_gb: float
    """Allocated storage / volume size / bytes copied / 1e9."""
    zone: str | None = None
    """EBS: the source volume's availability zone."""
    engine: str | None = None
    """RDS: the engine name (a cluster restore needs it)."""


@dataclass(frozen=True)
class SnapshotSet:
    id: str
    taken_at: datetime
    """UTC: the as-of time."""
    parts: tuple[SnapshotPart, ...]
    complete: bool

    def part(self, kind: str) -> SnapshotPart | None:
        return next((part for part in self.parts if part.kind == kind), None)

    def parts_of(self, kind: str) -> list[SnapshotPart]:
        return [part for part in self.parts if part.kind == kind]

    @property
    def size_gb(self) -> float:
        return sum(part.size_gb for part in self.parts)


def ordered(parts: list[SnapshotPart]) -> tuple[SnapshotPart, ...]:
    """One order for a set's parts whether taken or listed (database, volumes by id, S3), so sets compare."""
    return tuple(sorted(parts, key=lambda part: (PART_KINDS.index(part.kind), part.source, part.snapshot)))


def utc(moment: datetime) -> datetime:
    """A naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def new_set_id(now: datetime) -> str:
    """Lowercase, starts with a letter, no double hyphen: valid inside an RDS identifier. The random
    suffix keeps two sets taken in the same second apart."""
    return f"set-{utc(now):%Y%m%dt%H%M%Sz}-{secrets.token_hex(2)}"


def is_set_id(text: str) -> bool:
    return _SET_ID.fullmatch(text) is not None


def set_id_time(set_id: str) -> datetime | None:
    """The as-of time a set id carries (to the second): for a set whose tags and manifest are gone."""
    match = _SET_ID.fullmatch(set_id)
    return datetime.strptime(match.group(1), "%Y%m%dt%H%M%Sz").replace(tzinfo=UTC) if match else None


def rds_snapshot_id(set_id: str, cluster: bool = False) -> str:
    return f"stagetui-{set_id}" + ("-cluster" if cluster else "")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str
    """Key prefix: empty (the whole bucket) or ending with /."""

    @classmethod
    def parse(cls, url: str) -> S3Location:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        # s3://bucket/seed means the "folder" seed/, not every key starting with "seed" (seedling/ too).
        return cls(bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/")

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def seed_location(settings: AwsRuntimeConfig) -> S3Location | None:
    seed = settings.production.s3_seed
    return S3Location.parse(seed) if seed else None


def sets_prefix(settings: AwsRuntimeConfig) -> str:
    return f"{settings.environment.s3_prefix}sets/"


def own_prefixes(settings: AwsRuntimeConfig) -> tuple[str, ...]:
    """Where stagetui writes in the seed bucket: never part of the seed, even when the seed is the whole
    bucket (or else each set would copy the sets before it)."""
    return (sets_prefix(settings), f"{settings.environment.s3_prefix}envs/")


def copy_location(bucket: str, settings: AwsRuntimeConfig, set_id: str) -> S3Location:
    return S3Location(bucket, f"{sets_prefix(settings)}{set_id}/")


def manifest_key(copy: S3Location) -> str:
    """sets/{id}.json beside the copy's sets/{id}/, not inside it: deleting the copy's objects never
    leaves a manifest that lies about them."""
    return copy.prefix.rstrip("/") + ".json"


def manifest_json(snapshot_set: SnapshotSet) -> bytes:
    document = {
        "id": snapshot_set.id,
        "taken_at": snapshot_set.taken_at.isoformat(),
        "complete": snapshot_set.complete,
        "parts": [asdict(part) for part in snapshot_set.parts],
    }
    return json.dumps(document, indent=2).encode()


def parse_manifest(data: bytes) -> SnapshotSet | None:
    """None for a manifest that is not one (damaged, or written by something else): the set counts as
    having no manifest, i.e. incomplete."""
    try:
        document = json.loads(data)
        parts = []
        for item in document["parts"]:
            if item["kind"] not in PART_KINDS:
                return None
            parts.append(
                SnapshotPart(
                    kind=cast(PartKind, item["kind"]),
                    source=str(item["source"]),
                    snapshot=str(item["snapshot"]),
                    size_gb=float(item["size_gb"]),
                    zone=None if item.get("zone") is None else str(item["zone"]),
                    engine=None if item.get("engine") is None else str(item["engine"]),
                )
            )
        return SnapshotSet(
            id=str(document["id"]),
            taken_at=utc(datetime.fromisoformat(document["taken_at"])),
            parts=ordered(parts),
            complete=document["complete"] is True,
        )
    except (ValueError, KeyError, TypeError):
        return None


def delete_keys(s3: Any, bucket: str, keys: list[str]) -> list[str]:
    """Delete `keys` (absent ones are no error), 1000 per request as S3 allows; the keys it refused."""
    refused: list[str] = []
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        refused += [str(error.get("Key")) for error in answer.get("Errors", [])]
    return refused
