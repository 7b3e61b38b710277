"""Compose keys stagetui refuses, and why: each environment of a definition runs next to its siblings, so
anything that reaches outside the environment (host namespaces, fixed names, shared resources) is out."""

from __future__ import annotations

NOT_YET = "not supported (yet)"


def _isolation(why: str) -> str:
    return f"refused: it breaks the isolation of parallel environments ({why})"


def _not_yet(*keys: str) -> dict[str, str]:
    return dict.fromkeys(keys, NOT_YET)


TOP_LEVEL = _not_yet("configs", "include", "models", "secrets")

SERVICE = {
    # Resource limits and scheduling.
    **_not_yet("blkio_config", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period"),
    **_not_yet("cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "gpus", "mem_limit"),
    **_not_yet("mem_reservation", "mem_swappiness", "memswap_limit", "oom_kill_disable", "oom_score_adj"),
    **_not_yet("pids_limit", "scale", "shm_size", "ulimits", "sysctls", "storage_opt"),
    # Container behaviour.
    **_not_yet("annotations", "attach", "cap_drop", "credential_spec", "dns", "dns_opt", "dns_search"),
    **_not_yet("domainname", "expose", "extra_hosts", "group_add", "hostname", "init", "isolation"),
    **_not_yet("logging", "platform", "post_start", "pre_stop", "pull_policy", "read_only", "restart"),
    **_not_yet("runtime", "stdin_open", "stop_signal", "tmpfs", "tty", "volumes_from"),
    # File composition and orchestration.
    **_not_yet("configs", "develop", "extends", "label_file", "models", "profiles", "provider", "secrets"),
    # Reach outside the environment.
    "container_name": _isolation("a fixed container name collides between environments; stagetui names them"),
    "network_mode": _isolation("it leaves the environment's own networks; use `networks`"),
    "pid": _isolation("it shares the host's or another container's process namespace"),
    "ipc": _isolation("it shares the host's or another container's IPC namespace"),
    "uts": _isolation("it shares the host's UTS namespace"),
    "userns_mode": _isolation("it shares the host's user namespace"),
    "cgroup": _isolation("it shares the host's cgroup namespace"),
    "cgroup_parent": _isolation("it places the container in a host cgroup"),
    "privileged": _isolation("it gives the container full access to the host"),
    "cap_add": _isolation("extra capabilities give the container power over the host"),
    "security_opt": _isolation("it loosens the container's confinement"),
    "devices": _isolation("host devices are shared by every environment"),
    "device_cgroup_rules": _isolation("host devices are shared by every environment"),
    "external_links": _isolation("it reaches containers outside the environment"),
    "mac_address": _isolation("a fixed MAC address collides between environments"),
    "links": f"{NOT_YET}: services reach each other by service name on the environment's network",
    "use_api_socket": _isolation("the docker socket controls every environment"),
}

VOLUME_DECLARATION = {
    **_not_yet("driver_opts"),
    "external": _isolation("an external volume is shared by every environment"),
    "name": _isolation("a fixed volume name collides between environments"),
}

NETWORK_DECLARATION = {
    **_not_yet("attachable", "driver_opts", "enable_ipv4", "enable_ipv6", "internal", "ipam"),
    "external": _isolation("an external network is shared by every environment"),
    "name": _isolation("a fixed network name collides between environments"),
}

HEALTHCHECK = _not_yet("start_interval")

VOLUME_TYPES = _not_yet("tmpfs", "npipe", "cluster", "image")

NETWORK_ATTACHMENT = {
    **_not_yet("aliases", "driver_opts", "gw_priority", "interface_name", "link_local_ips", "priority"),
    "ipv4_address": _isolation("a fixed address collides between environments"),
    "ipv6_address": _isolation("a fixed address collides between environments"),
    "mac_address": _isolation("a fixed MAC address collides between environments"),
}
