"""A real two-node Docker Swarm for integration tests: the session fixture `swarm_cluster`.

Each node is a private dockerd in its own network namespace (two dockerds in one namespace cannot both run
overlay tasks) and its own UTS namespace (so the nodes have distinct hostnames, as real hosts do). The two
namespaces are joined by one veth pair, 10.99.X.1 (manager) and 10.99.X.2 (worker): swarm traffic (2377,
7946, vxlan 4789) never crosses the host's own interfaces, bridges or firewall. The daemons' sockets are files
in a temp dir, so the test process talks to both from the root namespace; one more veth pair per node (with
a /32 route each way) lets it reach the nodes' addresses too, as a client reaches a real cluster's nodes.
There is no registry: the sample images are built on the manager and copied to the worker.

Teardown always runs, also after a setup that failed half way or a SIGTERM, and each step runs even when an
earlier one failed: services removed, both nodes leave the swarm, containers removed, both daemons stopped by
their pid files, any process left in the cluster's network namespaces killed, mounts under the temp dir
unmounted, the namespaces (with every interface in them) deleted, the temp dir removed. What is left after
that is reported as an error.

Without the means (not root, no ip/nsenter/unshare/dockerd, `ip netns add` refused) the fixture skips, unless
STAGETUI_REQUIRE_SWARM=1: then it fails, so a skipped swarm never passes for a green CI run.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import NoReturn, TypeVar

import docker
import docker.errors
import pytest

from stagetui.runtimes.docker.images import SAMPLE_IMAGES, ImageBuildError, ensure_sample_image
from tests.with_dockerd import (
    SBIN_PATH,
    Dockerd,
    DockerdUnavailable,
    cleanup_shielded,
    mounts_under,
    processes_mentioning,
)

REQUIRE_ENV = "STAGETUI_REQUIRE_SWARM"
NETNS_DIR = Path("/run/netns")
MANAGER = "manager"
WORKER = "worker"
NODE_READY_TIMEOUT = 60.0
TASKS_GONE_TIMEOUT = 20.0
VETH = "stg0"  # created directly inside the namespaces, so the name cannot clash with the host's links
CLIENT_VETH = "stgc0"  # a node's end of its link to the root namespace

__all__ = [
    "MANAGER",
    "WORKER",
    "SwarmCluster",
    "SwarmLeftovers",
    "SwarmUnavailable",
    "leftovers_of",
    "running_swarm",
    "skip_or_fail",
    "swarm_cluster",
    "wait_for",
]


class SwarmUnavailable(Exception):
    """This machine cannot run the two-node swarm; the message says why."""


class SwarmLeftovers(Exception):
    """Teardown finished but something of the cluster is still there."""


def log(message: str) -> None:
    print(f"swarm_cluster: {message}", file=sys.stderr, flush=True)


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=SBIN_PATH)
    if found is None:
        raise SwarmUnavailable(f"{name} is not installed ({_PACKAGES.get(name, name)})")
    return found


_PACKAGES = {
    "ip": "apt-get install -y iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "dockerd": "apt-get install -y docker.io",
}


def _run(*command: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)


def _check(*command: str) -> None:
    result = _run(*command)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip() or result.returncode}")


# --- one node: a dockerd inside a network namespace -------------------------------------------------------


@dataclass
class NodeDaemon(Dockerd):
    """The project's private dockerd, started inside a network namespace under its own hostname.

    The bridges it makes (docker0, docker_gwbridge) live in that namespace and go with it, so the root
    namespace's bridges are never looked at: deleting by name there could hit another engine's docker0.
    """

    namespace: str = ""
    hostname: str = ""

    def start(self) -> None:
        binary = _tool("dockerd")
        command = [
            _tool("nsenter"),
            f"--net={NETNS_DIR / self.namespace}",  # not `ip netns exec`: it remounts /sys, losing cgroups
            _tool("unshare"),
            "--uts",
            "--",
            # nsenter, unshare and sh all exec: the pid we start is dockerd's, the one in its pid file.
            "/bin/sh",
            "-c",
            'hostname "$0" && exec "$@"',
            self.hostname,
            binary,
            f"--host={self.docker_host}",
            f"--data-root={self.directory / 'root'}",
            f"--exec-root={self.directory / 'exec'}",
            f"--pidfile={self.pid_file}",
            "--storage-driver=overlay2",
            # The namespace has its own netfilter and forwarding settings, but nothing needs them: overlay
            # traffic is bridged and vxlan goes straight over the veth.
            "--iptables=false",
            "--ip-forward=false",
        ]
        self.spawn(command, f"dockerd in {self.namespace}")

    def _remember_bridges(self) -> None:
        pass  # they are inside the namespace, deleted with it

    def _delete_bridges(self) -> None:
        pass


_FETCH = """
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as response:
    sys.stdout.write(response.read().decode())
"""

# --- the cluster ------------------------------------------------------------------------------------------


@dataclass
class SwarmCluster:
    manager: docker.DockerClient
    worker: docker.DockerClient
    manager_host: str
    worker_host: str
    node_ids: dict[str, str]
    """Node id by node name, "manager" and "worker"; each is also that node's hostname."""
    addresses: dict[str, str]
    """The node's address on the link between the namespaces (also its swarm advertise address)."""
    namespaces: dict[str, str]
    """The network namespace (a name for `ip netns`, a file in /run/netns) each node runs in."""
    directory: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def manager_id(self) -> str:
        return self.node_ids[MANAGER]

    @property
    def worker_id(self) -> str:
        return self.node_ids[WORKER]

    def client(self, node: str) -> docker.DockerClient:
        return self.manager if node == MANAGER else self.worker

    def load_image(self, name: str) -> None:
        """Copy an image from the manager to the worker (no registry to pull from), keeping its tag."""
        # named=name: docker-py saves by id by default, and the worker would get an untagged image.
        chunks = self.manager.images.get(name).save(chunk_size=1 << 20, named=name)
        loaded = self.worker.images.load(chunks)
        if not any(name in image.tags for image in loaded):
            raise RuntimeError(f"loading {name} into the worker gave {loaded}")

    def run_in(self, node: str, *command: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run a host command inside a node's network namespace (what the node itself sees: its
        loopback, the other node)."""
        return _run(_tool("nsenter"), f"--net={NETNS_DIR / self.namespaces[node]}", *command, timeout=timeout)

    def fetch(self, node: str, url: str, timeout: float = 10.0) -> str:
        """GET url from inside a node's network namespace; the body, or RuntimeError saying what failed.
        With this interpreter: the host's static busybox crashes in wget (glibc's resolver, statically)."""
        result = self.run_in(node, sys.executable, "-c", _FETCH, url, str(timeout), timeout=timeout + 10)
        if result.returncode != 0:
            raise RuntimeError(f"GET {url} from the {node}'s namespace failed: {result.stderr.strip()}")
        return result.stdout


def _used_networks() -> list[ipaddress.IPv4Network]:
    """Networks the root namespace has addresses or routes in (ip's JSON output: no parsing of its text)."""
    texts: list[str] = []
    for command in (("ip", "-j", "-4", "addr"), ("ip", "-j", "-4", "route", "show", "table", "all")):
        with contextlib.suppress(ValueError):
            for entry in json.loads(_run(*command).stdout or "[]"):
                texts += [f"{a['local']}/{a['prefixlen']}" for a in entry.get("addr_info", [])]
                texts.append(entry.get("dst", ""))
    used: list[ipaddress.IPv4Network] = []
    for text in texts:
        with contextlib.suppress(ValueError):
            used.append(ipaddress.IPv4Network(text, strict=False))  # "default", "" and the like are skipped
    return used


def _link_subnet() -> ipaddress.IPv4Network:
    """A 10.99.X.0/24 the root namespace does not use. Only the namespaces hold it, so a clash would be
    harmless, but a subnet nobody else uses keeps the nodes' addresses unambiguous in logs."""
    used = _used_networks()
    for third in [secrets.randbelow(256), *range(256)]:
        candidate = ipaddress.IPv4Network(f"10.99.{third}.0/24")
        if not any(candidate.overlaps(network) for network in used):
            return candidate
    raise SwarmUnavailable("no free 10.99.X.0/24 for the link between the nodes")


def _is_mount_point(path: Path) -> bool:
    return str(path) in mounts_under(path)


def _netns_inode(name: str) -> str | None:
    with contextlib.suppress(OSError):
        return f"net:[{(NETNS_DIR / name).stat().st_ino}]"
    return None


def _nsfs_under(directory: Path) -> set[str]:
    """The network namespaces dockerd keeps as nsfs mounts under its exec root (containers' and overlay
    sandboxes'), as `net:[inode]`."""
    found: set[str] = set()
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as mountinfo:  # noqa: PTH123
        for line in mountinfo:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            if fields[3].startswith("net:[") and point.startswith(f"{directory}/"):
                found.add(fields[3])
    return found


def processes_in(namespaces: set[str]) -> list[int]:
    """Pids of processes in any of these network namespaces (`net:[inode]`): all of them are ours."""
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if str((entry / "ns" / "net").readlink()) in namespaces:
                    pids.append(int(entry.name))
    return pids


def _kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def leftovers_of(tag: str, directory: Path | None) -> list[str]:
    """What of a cluster is still there: its namespaces, processes, mounts, temp dir."""
    found: list[str] = []
    namespaces = [f"stgsw-{tag}-{node}" for node in (MANAGER, WORKER)]
    found += [f"network namespace {name}" for name in namespaces if (NETNS_DIR / name).exists()]
    links = [client_link(tag, node) for node in (MANAGER, WORKER)]
    found += [f"link {name}" for name in links if _run("ip", "link", "show", name).returncode == 0]
    if directory is not None:
        found += [f"process {pid}" for pid in processes_mentioning(directory)]
        found += [f"mount {point}" for point in mounts_under(directory)]
        if directory.exists():
            found.append(f"directory {directory}")
    return found


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """pytest dies on SIGTERM without running fixture teardowns, which would leave two daemons and two
    namespaces behind; while the cluster exists, a SIGTERM raises KeyboardInterrupt instead (pytest then stops
    the run and finalizes its fixtures). Only where the default handler is in place and in the main thread."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class _Setup:
    """Everything made so far, so that teardown undoes exactly that."""

    tag: str
    directory: Path | None = None
    namespaces: list[str] = field(default_factory=list)
    daemons: dict[str, NodeDaemon] = field(default_factory=dict)
    clients: dict[str, docker.DockerClient] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    """The root namespace's ends of the client links."""
    netns_dir_mounted_before: bool = True


def client_link(tag: str, node: str) -> str:
    """The root namespace's end of the link to a node (15 characters at most, as Linux wants)."""
    return f"stgc-{tag}-{node[0]}"


def _link_clients(setup: _Setup, subnet: ipaddress.IPv4Network, addresses: dict[str, str]) -> None:
    """A point-to-point link from the root namespace to each node, so this process reaches what the nodes
    publish at their swarm addresses, as a client machine reaches a real cluster's nodes. Only /32 routes
    to the two node addresses are added here; the links go when the namespaces are deleted."""
    hosts = list(subnet.hosts())
    for index, (node, namespace) in enumerate(zip((MANAGER, WORKER), setup.namespaces, strict=True)):
        link, own = client_link(setup.tag, node), str(hosts[100 + index])
        result = _run(
            "ip", "link", "add", link, "type", "veth", "peer", "name", CLIENT_VETH, "netns", namespace
        )
        if result.returncode != 0:
            raise SwarmUnavailable(f"cannot link the root namespace to the {node}: {result.stderr.strip()}")
        setup.links.append(link)
        _check("ip", "addr", "add", f"{own}/32", "dev", link)
        _check("ip", "link", "set", link, "up")
        _check("ip", "route", "add", f"{addresses[node]}/32", "dev", link, "src", own)
        _check("ip", "-n", namespace, "link", "set", CLIENT_VETH, "up")
        _check("ip", "-n", namespace, "route", "add", f"{own}/32", "dev", CLIENT_VETH)


def _make_namespaces(setup: _Setup, subnet: ipaddress.IPv4Network) -> dict[str, str]:
    hosts = list(subnet.hosts())
    addresses = {MANAGER: str(hosts[0]), WORKER: str(hosts[1])}
    setup.netns_dir_mounted_before = _is_mount_point(NETNS_DIR)
    for node in (MANAGER, WORKER):
        name = f"stgsw-{setup.tag}-{node}"
        result = _run("ip", "netns", "add", name)
        if result.returncode != 0:
            raise SwarmUnavailable(f"ip netns add {name} failed: {result.stderr.strip()}")
        setup.namespaces.append(name)
    manager_ns, worker_ns = setup.namespaces
    # Both ends are made inside the namespaces: nothing of the link ever exists in the root namespace.
    peer = ("peer", "name", VETH, "netns", worker_ns)
    veth = _run("ip", "-n", manager_ns, "link", "add", VETH, "type", "veth", *peer)
    if veth.returncode != 0:
        raise SwarmUnavailable(f"cannot create a veth pair between the namespaces: {veth.stderr.strip()}")
    for node, namespace in zip((MANAGER, WORKER), setup.namespaces, strict=True):
        _check("ip", "-n", namespace, "addr", "add", f"{addresses[node]}/{subnet.prefixlen}", "dev", VETH)
        _check("ip", "-n", namespace, "link", "set", VETH, "up")
        _check("ip", "-n", namespace, "link", "set", "lo", "up")
    _link_clients(setup, subnet, addresses)
    return addresses


def _wait_nodes_ready(manager: docker.DockerClient) -> dict[str, str]:
    deadline = time.monotonic() + NODE_READY_TIMEOUT
    while True:
        nodes = manager.nodes.list()
        states = {
            n.attrs["Description"]["Hostname"]: (
                n.id,
                n.attrs["Status"]["State"],
                n.attrs["Spec"]["Availability"],
            )
            for n in nodes
        }
        if set(states) == {MANAGER, WORKER} and all(s[1:] == ("ready", "active") for s in states.values()):
            return {hostname: state[0] for hostname, state in states.items()}
        if time.monotonic() > deadline:
            raise RuntimeError(f"swarm nodes not ready within {NODE_READY_TIMEOUT:g} s: {states}")
        time.sleep(0.1)


def _build(setup: _Setup, tag: str, images: Iterable[str]) -> SwarmCluster:
    for name in ("ip", "nsenter", "unshare", "dockerd"):
        _tool(name)
    if os.geteuid() != 0:
        raise SwarmUnavailable("network namespaces and dockerd need root")
    started = time.monotonic()
    subnet = _link_subnet()
    addresses = _make_namespaces(setup, subnet)
    setup.directory = Path(tempfile.mkdtemp(prefix=f"stgsw-{tag}.", dir="/tmp"))  # short: socket paths
    timings = {"namespaces": time.monotonic() - started}

    mark = time.monotonic()
    for node, namespace in zip((MANAGER, WORKER), setup.namespaces, strict=True):
        daemon = NodeDaemon(setup.directory / node, bridges_before=set(), namespace=namespace, hostname=node)
        setup.daemons[node] = daemon
        daemon.start()
        setup.clients[node] = docker.DockerClient(base_url=daemon.docker_host, timeout=120)
    timings["daemons"] = time.monotonic() - mark

    mark = time.monotonic()
    manager, worker = setup.clients[MANAGER], setup.clients[WORKER]
    manager.swarm.init(advertise_addr=addresses[MANAGER], listen_addr=f"{addresses[MANAGER]}:2377")
    manager.swarm.reload()
    worker.swarm.join(
        remote_addrs=[f"{addresses[MANAGER]}:2377"],
        join_token=manager.swarm.attrs["JoinTokens"]["Worker"],
        listen_addr=f"{addresses[WORKER]}:2377",
        advertise_addr=addresses[WORKER],
    )
    node_ids = _wait_nodes_ready(manager)
    timings["swarm"] = time.monotonic() - mark

    cluster = SwarmCluster(
        manager=manager,
        worker=worker,
        manager_host=setup.daemons[MANAGER].docker_host,
        worker_host=setup.daemons[WORKER].docker_host,
        node_ids=node_ids,
        addresses=addresses,
        namespaces=dict(zip((MANAGER, WORKER), setup.namespaces, strict=True)),
        directory=setup.directory,
        timings=timings,
    )
    mark = time.monotonic()
    for name in sorted(images):
        try:
            ensure_sample_image(manager, name)
        except ImageBuildError as error:
            raise SwarmUnavailable(f"sample image {name} cannot be built: {error}") from None
        cluster.load_image(name)
    timings["images"] = time.monotonic() - mark
    timings["setup"] = time.monotonic() - started
    return cluster


def _wait_tasks_gone(clients: Iterable[docker.DockerClient]) -> None:
    deadline = time.monotonic() + TASKS_GONE_TIMEOUT
    for client in clients:
        with contextlib.suppress(Exception):
            while client.api.containers(all=True, filters={"label": "com.docker.swarm.task"}):
                if time.monotonic() > deadline:
                    return  # the daemon's teardown removes them by force
                time.sleep(0.1)


def _teardown(setup: _Setup) -> list[str]:
    """Undo whatever setup got to; every step runs even when one before it failed."""
    errors: list[str] = []

    def step(what: str, action: Callable[..., object], *args: object) -> None:
        try:
            action(*args)
        except Exception as error:  # keep going: each later step still leaves less behind
            errors.append(f"{what}: {error}")

    # The namespaces of containers and overlay sandboxes, noted while dockerd still has them mounted: a
    # container whose shim was killed keeps running in one, with nothing else pointing at it.
    namespaces = {inode for name in setup.namespaces if (inode := _netns_inode(name))}
    if setup.directory is not None:
        namespaces |= _nsfs_under(setup.directory)
    alive = {
        node: client
        for node, client in setup.clients.items()
        if (process := setup.daemons[node].process) is not None and process.poll() is None
    }
    if MANAGER in alive:
        # Services first, on the manager: their tasks then stop on both nodes in an orderly way.
        try:
            services = alive[MANAGER].services.list()
        except Exception as error:
            errors.append(f"listing services: {error}")
            services = []
        for service in services:
            step(f"removing service {service.name}", service.remove)
        step("waiting for tasks to stop", _wait_tasks_gone, alive.values())

    def take_down(node: str) -> None:
        if node in alive:
            step(f"{node} leaving the swarm", lambda: alive[node].swarm.leave(force=True))
        if node in setup.clients:
            step(f"closing the {node} client", setup.clients[node].close)
        if node in setup.daemons:
            # Removes its containers, stops dockerd by its pid file, kills its stray shims, unmounts and
            # removes its dir (Dockerd.teardown logs, and never raises).
            step(f"stopping the {node} dockerd", setup.daemons[node].teardown)

    # Both nodes at once: leaving and stopping take ~1-2 s each, and neither needs the other by then.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(take_down, (MANAGER, WORKER)))
    if setup.directory is not None:
        namespaces |= _nsfs_under(setup.directory)
    step("killing processes left in the namespaces", _kill_all, processes_in(namespaces))
    if setup.directory is not None:
        step("killing processes naming the temp dir", _kill_all, processes_mentioning(setup.directory))
        for point in mounts_under(setup.directory):
            if _run("umount", point).returncode != 0:
                _run("umount", "-l", point)
        if not mounts_under(setup.directory):  # never delete through a mount
            shutil.rmtree(setup.directory, ignore_errors=True)
    for link in setup.links:  # its peer goes with it; a namespace's deletion would take it only later
        result = _run("ip", "link", "delete", link)
        if result.returncode != 0:
            errors.append(f"ip link delete {link}: {result.stderr.strip()}")
    for name in setup.namespaces:  # its interfaces (the veth, docker's bridges and vxlans) go with it
        result = _run("ip", "netns", "delete", name)
        if result.returncode != 0:
            errors.append(f"ip netns delete {name}: {result.stderr.strip()}")
    # `ip netns add` made /run/netns a mount point; undo that when it was not one and no namespace is left
    # (a plain umount fails while another run's namespace is mounted there, which keeps theirs safe).
    if not setup.netns_dir_mounted_before and _is_mount_point(NETNS_DIR) and not any(NETNS_DIR.iterdir()):
        _run("umount", str(NETNS_DIR))
    return errors


@contextlib.contextmanager
def running_swarm(images: Iterable[str] = SAMPLE_IMAGES, tag: str | None = None) -> Iterator[SwarmCluster]:
    """A two-node swarm for the duration of the block, then nothing left of it.

    Raises SwarmUnavailable when the machine cannot run it, SwarmLeftovers when teardown could not remove
    everything (unless another error is already on its way: that one is raised, the leftovers logged).
    `tag` names the namespaces (stgsw-TAG-manager, stgsw-TAG-worker) and the temp dir (/tmp/stgsw-TAG.*).
    """
    setup = _Setup(tag=tag or secrets.token_hex(2))
    cluster: SwarmCluster | None = None
    failed = True
    try:
        with _sigterm_unwinds():
            cluster = _build(setup, setup.tag, images)
            yield cluster
        failed = False
    finally:
        started = time.monotonic()
        with _shielded():
            errors = _teardown(setup)
        took = time.monotonic() - started
        if cluster is not None:
            cluster.timings["teardown"] = took
        log(f"teardown took {took:.1f} s")
        for error in errors:
            log(f"teardown: {error}")
        remaining = leftovers_of(setup.tag, setup.directory)
        if remaining:
            log("left behind: " + ", ".join(remaining))
    if remaining and not failed:
        raise SwarmLeftovers("the swarm cluster left behind: " + ", ".join(remaining))


def _shielded() -> contextlib.AbstractContextManager[None]:
    """No SIGINT/SIGTERM during teardown (it is bounded in time); signal handlers exist in the main thread
    only."""
    if threading.current_thread() is threading.main_thread():
        return cleanup_shielded()
    return contextlib.nullcontext()


# --- waiting in tests -------------------------------------------------------------------------------------

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 90.0) -> T:
    """probe() until it returns something other than None/False; its last answer is in the failure."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s (last: {answer!r})")
        time.sleep(0.2)


# --- the fixture ------------------------------------------------------------------------------------------


def swarm_required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def skip_or_fail(reason: str) -> NoReturn:
    if swarm_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(f"no two-node swarm: {reason}")


@pytest.fixture(scope="session")
def swarm_cluster() -> Iterator[SwarmCluster]:
    """A two-node swarm (manager and worker) with both sample images on both nodes, for the session."""
    reason: str | None = None
    try:
        with running_swarm() as cluster:
            log("ready in " + ", ".join(f"{k} {v:.1f} s" for k, v in cluster.timings.items()))
            yield cluster
    except (SwarmUnavailable, DockerdUnavailable) as error:
        reason = str(error)
    if reason is not None:  # outside the except: the skip or failure is the whole story, not a chain
        skip_or_fail(reason)
