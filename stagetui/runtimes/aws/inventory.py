"""What one environment is made of on AWS: the names its resources get, and finding and relabelling them
by the environment's tag (removing them: stagetui.runtimes.aws.teardown).

The tagging API lists what carries a tag, but it lags behind creation (a resource made a moment ago may not
be listed yet) and S3 objects are not in it at all. So the resources an environment can own are also looked
up where they live: its database by name (checked against its tag), its volumes by an EC2 tag filter, its
configuration by its SSM path and its seed copy by its S3 prefix. Rollback right after a failed restore then
finds what was just made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from stagetui.config.aws import AwsRuntimeConfig
from stagetui.runtimes.aws.errors import aws_errors
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.tags import ENV_TAG, TaggedResource, find_tagged, tag_dict, tag_list
from stagetui.runtimes.base import LABEL_PREFIX, RuntimeOperationError

_EC2_TAG_BATCH = 100
_S3_MAX_TAGS = 10  # S3 refuses an object with more than 10 tags
_TAG_VALUE_CHARS = set("_.:/=+-@ ")


# -- names ---------------------------------------------------------------------------------------------------


def database_identifier(environment_id: str) -> str:
    """The environment's RDS instance, or its Aurora cluster."""
    return f"stagetui-{environment_id}"


def cluster_instance_identifier(environment_id: str) -> str:
    """The one instance in the environment's Aurora cluster."""
    return f"{database_identifier(environment_id)}-1"


def config_path(settings: AwsRuntimeConfig, environment_id: str) -> str:
    return f"{settings.environment.ssm_prefix}{environment_id}/"


def environments_prefix(settings: AwsRuntimeConfig) -> str:
    """Key prefix in the seed bucket under which every environment has its own prefix."""
    return f"{settings.environment.s3_prefix}envs/"


def seed_prefix(settings: AwsRuntimeConfig, bucket: str, environment_id: str) -> str:
    return f"s3://{bucket}/{environments_prefix(settings)}{environment_id}/"


def default_seed_bucket(settings: AwsRuntimeConfig) -> str | None:
    """The bucket of runtimes.aws.production.s3_seed: environments' copies live next to the seed files."""
    seed = settings.production.s3_seed
    return urlsplit(seed).netloc if seed else None


def split_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/prefix/ -> (bucket, "prefix/"); the prefix is "" for a whole bucket."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise RuntimeOperationError(f"not an S3 location: {url!r} (write s3://bucket/prefix/)")
    prefix = parts.path.lstrip("/")
    return parts.netloc, prefix if not prefix or prefix.endswith("/") else prefix + "/"


# -- tags ----------------------------------------------------------------------------------------------------


def aws_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags every service takes. RDS, SSM and S3 accept only letters, digits, spaces and _ . : / = + - @
    in a tag, and a branch name may hold anything else: those characters become "_" (the environment id,
    the tag everything is found by, never has any)."""

    def clean(text: str, limit: int) -> str:
        return "".join(c if c.isalnum() or c in _TAG_VALUE_CHARS else "_" for c in text)[:limit]

    return {clean(key, 128): clean(value, 256) for key, value in tags.items()}


def s3_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """An S3 object keeps at most 10 tags: the environment's own tag first, then the others in order."""
    ordered = sorted(aws_tags(tags).items(), key=lambda item: item[0] != ENV_TAG)
    return dict(ordered[:_S3_MAX_TAGS])


def s3_tagging(tags: Mapping[str, str]) -> str:
    """The Tagging argument of a copied object (URL-encoded)."""
    return urlencode(s3_tags(tags))


def _own_labels(tags: Mapping[str, str]) -> dict[str, str]:
    # Tags added by AWS or by the account's tag policies are not the environment's labels.
    return {key: value for key, value in tags.items() if key.startswith(LABEL_PREFIX)}


# -- lookups -------------------------------------------------------------------------------------------------


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def describe_instance(clients: AwsClients, identifier: str, doing: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    with aws_errors(doing):
        try:
            answer = clients.rds.describe_db_instances(DBInstanceIdentifier=identifier)
        except ClientError as error:
            if error_code(error) == "DBInstanceNotFound":
                return None
            raise
    found: list[dict[str, Any]] = answer.get("DBInstances", [])
    return found[0] if found else None


def describe_cluster(clients: AwsClients, identifier: str, doing: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    with aws_errors(doing):
        try:
            answer = clients.rds.describe_db_clusters(DBClusterIdentifier=identifier)
        except ClientError as error:
            if error_code(error) == "DBClusterNotFoundFault":
                return None
            raise
    found: list[dict[str, Any]] = answer.get("DBClusters", [])
    return found[0] if found else None


def endpoint_of(address: str | None, port: int | None) -> str | None:
    return f"{address}:{port}" if address and port else None


def database_status(clients: AwsClients, environment_id: str) -> tuple[str, str | None] | None:
    """The RDS status of the environment's database and its endpoint ("host:port", None until it has one);
    None when the environment has no database. A cluster counts as available once its instance is."""
    identifier = database_identifier(environment_id)
    doing = f"environment {environment_id}: status of RDS instance {identifier}"
    instance = describe_instance(clients, identifier, doing)
    if instance is not None:
        endpoint = instance.get("Endpoint") or {}
        return str(instance["DBInstanceStatus"]), endpoint_of(endpoint.get("Address"), endpoint.get("Port"))
    cluster = describe_cluster(
        clients, identifier, f"environment {environment_id}: status of cluster {identifier}"
    )
    if cluster is None:
        return None
    status = str(cluster["Status"])
    if status == "available":
        # An available cluster with no available instance in it cannot answer a query yet.
        with aws_errors(f"environment {environment_id}: instances of cluster {identifier}"):
            members = clients.rds.describe_db_instances(
                Filters=[{"Name": "db-cluster-id", "Values": [identifier]}]
            ).get("DBInstances", [])
        states = [str(member["DBInstanceStatus"]) for member in members]
        if "available" not in states:
            status = states[0] if states else "no-instance"
    return status, endpoint_of(cluster.get("Endpoint"), cluster.get("Port"))


def _list_pages(clients: AwsClients, doing: str, **arguments: Any) -> Iterator[dict[str, Any]]:
    """ListObjectsV2 pages; none when the bucket is gone (no bucket holds no environment's objects, and
    discovery or teardown must not fail on it)."""
    from botocore.exceptions import ClientError

    with aws_errors(doing):
        try:
            yield from clients.s3.get_paginator("list_objects_v2").paginate(**arguments)
        except ClientError as error:
            if error_code(error) != "NoSuchBucket":
                raise


def env_objects(clients: AwsClients, bucket: str, prefix: str, doing: str) -> Iterator[dict[str, Any]]:
    """Every object under `prefix` (Key, Size, ...), page by page."""
    for page in _list_pages(clients, doing, Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


@dataclass
class OwnedResources:
    """What an environment owns, found where each kind lives (see the module's docstring)."""

    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    """RDS instances by identifier (cluster members included: DBClusterIdentifier is set on those)."""
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, int] = field(default_factory=dict)
    """EBS volume ids and their size in GiB."""
    parameters: list[str] = field(default_factory=list)
    other: list[TaggedResource] = field(default_factory=list)
    """Anything else carrying the environment's tag (e.g. a snapshot someone tagged by hand)."""


def _carries(description: Mapping[str, Any], environment_id: str) -> bool:
    return tag_dict(description.get("TagList")).get(ENV_TAG) == environment_id


def owned_resources(clients: AwsClients, environment_id: str) -> OwnedResources:
    env = environment_id
    owned = OwnedResources()
    with aws_errors(f"environment {env}: listing its tagged resources"):
        tagged = list(find_tagged(clients.tagging, ENV_TAG, env))

    def named(kind: str, *names: str) -> list[str]:
        listed = [r.name for r in tagged if r.service == "rds" and r.kind == kind]
        return list(dict.fromkeys([*names, *listed]))

    # By name as well as by tag: names are derived from the id, the tag check keeps another id's alike.
    for name in named("db", database_identifier(env), cluster_instance_identifier(env)):
        instance = describe_instance(clients, name, f"environment {env}: describing RDS instance {name}")
        if instance is not None and _carries(instance, env):
            owned.instances[name] = instance
    for name in named("cluster", database_identifier(env)):
        cluster = describe_cluster(clients, name, f"environment {env}: describing RDS cluster {name}")
        if cluster is not None and _carries(cluster, env):
            owned.clusters[name] = cluster
    with aws_errors(f"environment {env}: listing its EBS volumes"):
        pages = clients.ec2.get_paginator("describe_volumes").paginate(
            Filters=[{"Name": f"tag:{ENV_TAG}", "Values": [env]}]
        )
        for page in pages:
            owned.volumes.update({v["VolumeId"]: int(v.get("Size", 0)) for v in page.get("Volumes", [])})
    path = config_path(clients.settings, env)
    parameters = [r.name for r in tagged if r.service == "ssm" and r.kind == "parameter"]
    with aws_errors(f"environment {env}: listing its SSM parameters under {path}"):
        pages = clients.ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
        for page in pages:
            parameters.extend(p["Name"] for p in page.get("Parameters", []))
    owned.parameters = list(dict.fromkeys(parameters))
    known = {("rds", "db"), ("rds", "cluster"), ("ec2", "volume"), ("ssm", "parameter")}
    owned.other = [r for r in tagged if (r.service, r.kind) not in known]
    return owned


def describe_resource(resource: TaggedResource) -> str:
    kinds = {
        ("rds", "db"): "rds instance",
        ("rds", "cluster"): "rds cluster",
        ("ec2", "volume"): "ebs volume",
    }
    kind = kinds.get((resource.service, resource.kind), f"{resource.service} {resource.kind}")
    return f"{kind} {resource.name}"


# -- discovery -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwsEnvironment:
    environment_id: str
    tags: dict[str, str]
    """Its stagetui labels, from any of its resources."""
    resources: tuple[str, ...]
    running: bool
    """Its database is available, or it has no database but other resources."""


def find_environments(clients: AwsClients, seed_bucket: str | None) -> dict[str, AwsEnvironment]:
    """Every environment with a resource tagged with its id, or with objects under its seed prefix."""
    tagged: dict[str, list[TaggedResource]] = {}
    with aws_errors("listing environments' tagged resources"):
        for resource in find_tagged(clients.tagging, ENV_TAG):
            tagged.setdefault(resource.tags[ENV_TAG], []).append(resource)
    seeds: dict[str, tuple[int, str]] = {}  # id -> object count, first key
    if seed_bucket:
        base = environments_prefix(clients.settings)
        doing = f"listing environments' seed copies under s3://{seed_bucket}/{base}"
        pages = _list_pages(clients, doing, Bucket=seed_bucket, Prefix=base, Delimiter="/")
        prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
        for prefix in prefixes:
            doing = f"listing seed copy s3://{seed_bucket}/{prefix}"
            keys = [obj["Key"] for obj in env_objects(clients, seed_bucket, prefix, doing)]
            if keys:
                seeds[prefix[len(base) : -1]] = (len(keys), keys[0])
    found: dict[str, AwsEnvironment] = {}
    for env in sorted(set(tagged) | set(seeds)):
        resources = sorted(tagged.get(env, []), key=lambda r: (r.service != "rds", r.arn))
        listed = [describe_resource(r) for r in resources]
        tags = _own_labels(resources[0].tags) if resources else {}
        if env in seeds:
            count, first = seeds[env]
            listed.append(f"s3 {seed_prefix(clients.settings, str(seed_bucket), env)} ({count} objects)")
            if not tags:
                with aws_errors(f"environment {env}: tags of s3://{seed_bucket}/{first}"):
                    answer = clients.s3.get_object_tagging(Bucket=seed_bucket, Key=first)
                tags = _own_labels(tag_dict(answer.get("TagSet")))
        has_database = any(r.service == "rds" and r.kind in ("db", "cluster") for r in resources)
        if has_database:
            status = database_status(clients, env)
            running = status is not None and status[0] == "available"
            only_database = all(r.service == "rds" for r in resources) and env not in seeds
            if status is not None and status[0] == "deleting" and only_database:
                continue  # torn down already; RDS takes minutes to finish deleting it
        else:
            running = bool(listed)
        found[env] = AwsEnvironment(env, tags, tuple(listed), running)
    return found


# -- relabel -------------------------------------------------------------------------------------------------


def relabel(
    clients: AwsClients, environment_id: str, tags: Mapping[str, str], seed_bucket: str | None = None
) -> None:
    """Add or overwrite `tags` on every resource of the environment (tags not named stay). `seed_bucket`
    holds its seed copy; unset: the bucket of runtimes.aws.production.s3_seed, if any."""
    from botocore.exceptions import ClientError

    env = environment_id
    cleaned = aws_tags(tags)
    owned = owned_resources(clients, env)
    rds_arns = [
        d["DBInstanceArn"] for d in owned.instances.values() if d.get("DBInstanceStatus") != "deleting"
    ]
    rds_arns += [d["DBClusterArn"] for d in owned.clusters.values() if d.get("Status") != "deleting"]
    rds_arns += [r.arn for r in owned.other if r.service == "rds"]
    for arn in rds_arns:
        with aws_errors(f"environment {env}: tagging {arn}"):
            clients.rds.add_tags_to_resource(ResourceName=arn, Tags=tag_list(cleaned))
    ec2_ids = list(owned.volumes) + [r.name for r in owned.other if r.service == "ec2"]
    for start in range(0, len(ec2_ids), _EC2_TAG_BATCH):
        batch = ec2_ids[start : start + _EC2_TAG_BATCH]
        with aws_errors(f"environment {env}: tagging EBS {', '.join(batch)}"):
            clients.ec2.create_tags(Resources=batch, Tags=tag_list(cleaned))
    for name in owned.parameters:
        with aws_errors(f"environment {env}: tagging SSM parameter {name}"):
            try:
                clients.ssm.add_tags_to_resource(
                    ResourceType="Parameter", ResourceId=name, Tags=tag_list(cleaned)
                )
            except ClientError as error:
                if error_code(error) != "InvalidResourceId":  # deleted since the tagging API listed it
                    raise
    bucket = seed_bucket or default_seed_bucket(clients.settings)
    if bucket:
        prefix = split_s3_url(seed_prefix(clients.settings, bucket, env))[1]
        doing = f"environment {env}: listing its seed copy s3://{bucket}/{prefix}"
        for obj in list(env_objects(clients, bucket, prefix, doing)):
            key = obj["Key"]
            with aws_errors(f"environment {env}: tagging s3://{bucket}/{key}"):
                # PutObjectTagging replaces the whole set: merge, so tags not named stay as elsewhere.
                current = tag_dict(clients.s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet"))
                merged = s3_tags(current | cleaned)
                clients.s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_list(merged)})
