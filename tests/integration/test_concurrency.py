"""Several CLI processes and the TUI provisioning, tearing down and writing notes at once, on one store.

What runs at once, on the local runtime:
- WORKERS threads, each running the real CLI in subprocesses: first `up` of one branch they all contend for
  (with the TUI), then ROUNDS of `up` (rotating strategies) / `note add` / `down` on branches of its own,
  then one environment it keeps; meanwhile a note_writer.py process per worker stores BURST notes back to
  back through the service API the CLI uses;
- the real app (tui_driver.py, Pilot) in a process of its own: it contends for the same branch, launches
  two environments at once, saves notes from the notes screen and tears environments down with ctrl+d;
- at the end, one `down` per kept environment (the contended branch's winner too), all at once.

Then everything the processes reported is checked against the store: notes, environments, steps, checks,
metrics and audit entries are each there exactly once; the contended branch had one winner and clean
conflicts; live environments had distinct ids and ports; every store file parses, the store opens, no
temp file and no process is left.

Races too narrow to hit reliably that way are each staged at their worst moment: a `down` that looked at
the runtime just before another `down` finished, two starts of one experiment, and two first runs creating
the masking key.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from stagetui.cli import exit_codes
from stagetui.config import load_config
from stagetui.config.model import AnonymizationConfig
from stagetui.domain.experiments import Experiment
from stagetui.domain.models import Strategy
from stagetui.runtimes.base import DiscoveredEnvironment
from stagetui.service import experiments, keys
from stagetui.service.api import StagetuiService
from stagetui.service.core import ServiceCore
from stagetui.service.errors import ConflictError, NotFoundError
from stagetui.service.teardown import TeardownResult
from stagetui.store.store import Store
from tests.integration.helpers import processes_of

pytestmark = pytest.mark.integration

WORKERS = 4
ROUNDS = 1
BURST = 25
"""Notes each worker's note_writer.py stores back to back while the others provision."""
STRATEGIES = [Strategy.CONTAINERIZED.value, Strategy.SNAPSHOT.value, Strategy.FULL_CLONE.value]
RACE = "race/same"
DEADLINE = 120.0
"""Per process and per wait: catches a hang, never measures speed (the machine is shared)."""
REPOSITORY = Path(__file__).resolve().parents[2]
DESTROY = ("destroy", "teardown", "ok")
REQUIRED_AUDIT = {
    Strategy.CONTAINERIZED.value: {"read", "mask", "verify-masking", "provision"},
    Strategy.FULL_CLONE.value: {"read", "mask", "verify-masking", "provision"},
    Strategy.SNAPSHOT.value: {"restore", "verify-masking", "provision"},
}
OPTIONAL_AUDIT = {"generate", "read", "snapshot"}
"""Written once by whichever run first needed the sample production or a golden snapshot."""

Op = dict[str, Any]


class Processes:
    """Every process the test starts, so all of them are killed however the test ends."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.started: list[subprocess.Popen[str]] = []
        self.lock = threading.Lock()

    def start(self, args: list[str], **options: Any) -> subprocess.Popen[str]:
        with self.lock:
            process = subprocess.Popen(args, text=True, **options)
            self.started.append(process)
        return process

    def cli(self, *args: str, stdin: str | None = None) -> tuple[int, Any]:
        """Run `stagetui ARGS --json`; its exit code and its JSON output."""
        process = self.start(
            [sys.executable, "-m", "stagetui", "--config", str(self.config), *args, "--json"],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = process.communicate(stdin, timeout=DEADLINE)
        try:
            return process.returncode, json.loads(out)
        except ValueError:
            raise AssertionError(f"stagetui {' '.join(args)} ({process.returncode}): {out}{err}") from None

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()


@pytest.fixture
def processes(small_config: Path) -> Iterator[Processes]:
    started = Processes(small_config)
    yield started
    started.kill_all()  # before the autouse fixture kills the services they left


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in time: {what}")
        time.sleep(0.05)


def cli_worker(k: int, run: Processes, start: threading.Barrier) -> list[Op]:
    ops: list[Op] = []

    def up(branch: str, strategy: str) -> Op:
        code, out = run.cli("up", branch, "-s", strategy)
        op = {"op": "up", "branch": branch, "strategy": strategy, "code": code, "out": out}
        ops.append(op)
        return op

    start.wait()
    burst = run.start(
        [sys.executable, "-m", "tests.integration.note_writer", str(run.config), f"burst w{k}", str(BURST)],
        cwd=REPOSITORY,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    up(RACE, Strategy.CONTAINERIZED.value)
    for i in range(ROUNDS):
        made = up(f"w{k}/r{i}", STRATEGIES[(k + i) % len(STRATEGIES)])
        title = f"cli note w{k} r{i}"
        body = f"{title}: written while others provision\n"
        code, out = run.cli("note", "add", "--title", title, stdin=body)
        ops.append(
            {"op": "note", "title": title, "body": body, "code": code, "id": out.get("id"), "out": out}
        )
        if made["code"] == exit_codes.OK:
            code, out = run.cli("down", made["out"]["id"])
            ops.append({"op": "down", "id": made["out"]["id"], "code": code, "out": out})
    up(f"w{k}/keep", STRATEGIES[(k + ROUNDS) % len(STRATEGIES)])
    out, err = burst.communicate(timeout=DEADLINE)
    assert burst.returncode == 0, err
    ops += [{"op": "note", "code": exit_codes.OK, **json.loads(line)} for line in out.splitlines()]
    return ops


def start_tui(run: Processes, config: Path, tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    plan: dict[str, Any] = {
        "config": str(config),
        "ready": str(tmp_path / "tui.ready"),
        "go": str(tmp_path / "tui.go"),
        "out": str(tmp_path / "tui.json"),
        "strategy": Strategy.CONTAINERIZED.value,
        "race": RACE,
        "rounds": [
            {"launch": ["tui/a", "tui/b"], "note": "tui note 0", "keep": ["tui/b"]},
            {"launch": ["tui/c"], "note": "tui note 1", "keep": []},
        ],
    }
    plan_file = tmp_path / "tui-plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    log = (tmp_path / "tui.log").open("w")
    process = run.start(
        [sys.executable, "-m", "tests.integration.tui_driver", str(plan_file)],
        cwd=REPOSITORY,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    ready = Path(plan["ready"])
    wait_for(lambda: ready.exists() or process.poll() is not None, "the TUI's dashboard")
    assert ready.exists(), (tmp_path / "tui.log").read_text()
    return process, plan


def health(endpoint: str) -> Any:
    with urllib.request.urlopen(f"{endpoint}/health", timeout=10) as response:
        return json.loads(response.read())


def test_clis_and_the_tui_at_once_lose_nothing_and_collide_nowhere(
    small_config: Path, state_dir: Path, tmp_path: Path, processes: Processes
) -> None:
    store_dir = state_dir / "store"
    tui, plan = start_tui(processes, small_config, tmp_path)
    start = threading.Barrier(WORKERS, timeout=DEADLINE)
    Path(plan["go"]).touch()
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(cli_worker, k, processes, start) for k in range(WORKERS)]
        cli_ops = [op for future in futures for op in future.result()]
    assert tui.wait(DEADLINE) == 0, (tmp_path / "tui.log").read_text()
    tui_result = json.loads(Path(plan["out"]).read_text(encoding="utf-8"))
    assert tui_result["error"] is None, tui_result["error"]
    tui_ops: list[Op] = tui_result["ops"]
    for op in cli_ops:
        op["ok"] = op["code"] == exit_codes.OK
    for op in tui_ops:
        op["ok"] = op["outcome"] == "ok"
    every_op = cli_ops + tui_ops

    # --- the contended branch: one winner, clean conflicts ------------------------------------------
    race_ups = [op for op in cli_ops if op["op"] == "up" and op["branch"] == RACE]
    tui_race = next(op for op in tui_ops if op["op"] == "up" and op["branch"] == RACE)
    winners = [op for op in [*race_ups, tui_race] if op["ok"]]
    assert len(winners) == 1, (race_ups, tui_race)
    for op in race_ups:
        if op["code"] != exit_codes.OK:
            assert op["code"] == exit_codes.CONFLICT and "exists" in op["out"]["error"], op
    if tui_race["outcome"] != "ok":
        assert tui_race["outcome"] == "refused" and "exists" in tui_race["error"], tui_race

    # --- what each process says it made -------------------------------------------------------------
    made: dict[str, Op] = {}  # uid -> the successful up, CLI's or TUI's
    for op in cli_ops:
        if op["op"] == "up" and op["branch"] != RACE:
            assert op["code"] == exit_codes.OK and op["out"]["status"] == "ready", op
        if op["op"] == "up" and op["code"] == exit_codes.OK:
            out = op["out"]
            made[out["uid"]] = {**op, "uid": out["uid"], "id": out["id"], "endpoint": out["endpoint"]}
    for op in tui_ops:
        if op["op"] == "up" and op["branch"] != RACE:
            assert op["outcome"] == "ok", op
        if op["op"] == "up" and op["outcome"] == "ok":
            assert op["uid"] not in made
            made[op["uid"]] = {**op, "strategy": plan["strategy"]}
    ids = [op["id"] for op in made.values()]
    assert len(set(ids)) == len(ids) == WORKERS * (ROUNDS + 1) + 1 + 3, ids  # + race winner + TUI's three
    downs = [op for op in every_op if op["op"] == "down"]
    assert all(op["ok"] for op in downs), downs

    # --- live ones: distinct ids and ports, each answering as itself --------------------------------
    code, live = processes.cli("ls")
    assert code == exit_codes.OK
    kept = {
        op["id"] for op in made.values() if op["branch"].endswith("/keep") or op["branch"] in {RACE, "tui/b"}
    }
    assert {env["id"] for env in live} == kept and len(live) == len(kept), live
    endpoints = [env["endpoint"] for env in live]
    assert len(set(endpoints)) == len(endpoints) and all(endpoints), endpoints
    for env in live:
        assert env["status"] == "ready" and health(env["endpoint"])["env_id"] == env["id"], env
    # The kept ones go down all at once, the race's winner three times over: one `down` removes it, the
    # others find it gone (or being removed) and change nothing.
    winner = next(env["id"] for env in live if env["branch"] == RACE)
    targets = [env["id"] for env in live] + [winner, winner]
    with ThreadPoolExecutor(len(targets)) as pool:
        final = list(pool.map(lambda env_id: processes.cli("down", env_id), targets))
    codes = {
        env_id: sorted(c for t, (c, _) in zip(targets, final, strict=True) if t == env_id)
        for env_id in targets
    }
    assert all(codes[env["id"]][0] == exit_codes.OK for env in live), final
    assert all(len(c) == 1 for env_id, c in codes.items() if env_id != winner), final
    assert codes[winner][1:] and set(codes[winner][1:]) <= {exit_codes.NOT_FOUND, exit_codes.CONFLICT}, final
    assert processes.cli("ls") == (exit_codes.OK, [])

    # --- the store: every file parses, nothing left half-written ------------------------------------
    for path in store_dir.rglob("*"):
        assert not path.name.endswith(".tmp"), f"temp file left: {path}"
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    assert not [p for p in state_dir.rglob("*.tmp")], "temp files left in the state directory"
    store = Store(store_dir)  # the project's own loader, in a fresh process's state

    # --- environments: each exactly once, all torn down ---------------------------------------------
    records = json.loads((store_dir / "environments.json").read_text())["records"].values()
    by_uid = Counter(record["uid"] for record in records)
    assert by_uid == Counter(made.keys()), "environment records lost or duplicated"
    for env in store.environments():
        assert env.status.value == "torn_down" and env.endpoint is None, env
        assert not processes_of(env.id, state_dir), f"processes of {env.id} left"
    assert [e.branch for e in store.environments()].count(RACE) == 1
    lifetimes = [
        (e.created_at, e.updated_at or e.created_at, made[e.uid]["endpoint"]) for e in store.environments()
    ]
    for i, (born, ended, endpoint) in enumerate(lifetimes):
        for other_born, other_ended, other_endpoint in lifetimes[i + 1 :]:
            if born < other_ended and other_born < ended:  # live at the same time: never one port
                assert endpoint != other_endpoint, (endpoint, lifetimes)

    # --- notes: each written exactly once ------------------------------------------------------------
    notes_written = [op for op in every_op if op["op"] == "note"]
    assert all(op["ok"] for op in notes_written), notes_written
    stored_notes = store.collection("notes").all()
    assert Counter(n["title"] for n in stored_notes) == Counter(op["title"] for op in notes_written)
    bodies = {n["title"]: n["body"] for n in stored_notes}
    assert all(bodies[op["title"]] == op["body"] for op in notes_written)
    assert len({n["id"] for n in stored_notes}) == len(stored_notes)
    assert len(notes_written) == WORKERS * (ROUNDS + BURST) + len(plan["rounds"])
    assert {op["id"] for op in notes_written if "id" in op} <= {n["id"] for n in stored_notes}
    assert not list(state_dir.glob("drafts/*.json")), "a draft of a saved note was kept"

    # --- steps, checks and metrics per environment: what each process recorded, once ----------------
    tui_steps: dict[str, list[list[str]]] = tui_result["steps"]
    checks_by_strategy: dict[str, set[int]] = {}
    metrics = store.metrics()
    for uid, op in made.items():
        steps = store.steps(uid)
        stamps = [(s.name, s.phase.value, s.started_at) for s in steps]
        assert len(set(stamps)) == len(stamps), f"duplicated steps of {op['id']}"
        stored: Counter[tuple[str, ...]] = Counter((s.name, s.phase.value, s.outcome.value) for s in steps)
        expected: Counter[tuple[str, ...]]
        if "out" in op:  # the CLI printed the steps as stored when it finished
            expected = Counter((s["name"], s["phase"], s["outcome"]) for s in op["out"]["steps"])
        else:  # the TUI saw a StepFinished event for every step it recorded
            expected = Counter(tuple(s) for s in tui_steps[uid] if tuple(s) != DESTROY)
        assert stored == expected + Counter([DESTROY]), (op["id"], stored, expected)
        checks = store.checks(uid)
        if "out" in op:
            assert len(checks) == len(op["out"]["checks"]), op["id"]
        checks_by_strategy.setdefault(op["strategy"], set()).add(len(checks))
        provision_steps = sum(n for (_, phase, _), n in expected.items() if phase == "provision")
        own = Counter(m.metric for m in metrics if m.environment_uid == uid)
        assert own["provision.total_seconds"] == 1, op["id"]
        assert own["provision.step_seconds"] == provision_steps, op["id"]
    assert all(len(counts) == 1 and min(counts) > 0 for counts in checks_by_strategy.values()), (
        checks_by_strategy
    )

    # --- audit: one entry per thing done ------------------------------------------------------------
    trail = store.audit_trail()
    by_env: dict[str | None, Counter[str]] = {}
    for entry in trail:
        by_env.setdefault(entry.environment_id, Counter())[entry.action] += 1
    for op in made.values():
        actions = by_env.pop(op["id"])
        required = REQUIRED_AUDIT[op["strategy"]] | {"teardown"}
        assert all(actions[a] == 1 for a in required), (op["id"], actions)
        assert set(actions) <= required | OPTIONAL_AUDIT and max(actions.values()) == 1, (op["id"], actions)
    assert Counter(entry.action for entry in trail)["generate"] == 1  # one sample production, made once
    unattached = by_env.pop(None, Counter())
    assert by_env == {}, f"audit entries of environments nobody made: {by_env}"
    assert unattached == Counter(note=len(notes_written)), unattached
    note_targets = Counter(e.target for e in trail if e.action == "note")
    assert note_targets == Counter({n["id"]: 1 for n in stored_notes})
    assert all(process.poll() is not None for process in processes.started)
    assert list((state_dir / "environments").iterdir()) == []


def store_locked(store_dir: Path) -> bool:
    """Whether anyone holds the store lock right now (probed by taking it, and letting go, when free)."""
    fd = os.open(store_dir / "store.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the probe's own lock
    return False


def attempt_down(service: StagetuiService, reference: str) -> TeardownResult | None:
    """The teardown, or None when it was refused as a losing contender should be."""
    try:
        return asyncio.run(service.down(reference))
    except (NotFoundError, ConflictError):
        return None


def test_a_down_that_looked_just_before_another_down_finished_changes_nothing(
    small_config: Path, state_dir: Path, processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, made = processes.cli("up", "race/late", "-s", Strategy.CONTAINERIZED.value)
    assert code == exit_codes.OK, made
    late, first = (StagetuiService.open(load_config(small_config)) for _ in range(2))
    runtime = late.core.runtimes["local"]
    look = runtime.discover
    first_down: list[TeardownResult | None] = []

    def look_then_lose_the_race() -> list[DiscoveredEnvironment]:
        found = look()
        if not first_down and not store_locked(state_dir / "store"):  # a look under the lock stays true
            # Another process's down runs to its end between this look and the read of the store.
            with ThreadPoolExecutor(1) as other:
                first_down.append(other.submit(asyncio.run, first.down(made["id"])).result())
        return found

    monkeypatch.setattr(runtime, "discover", look_then_lose_the_race)
    outcomes = [attempt_down(late, made["id"])]
    if not first_down:  # the look was consistent with the store: the other down simply comes second
        first_down.append(attempt_down(first, made["id"]))
    assert first_down[0] is not None
    assert [o is not None for o in outcomes] == [False], "both downs tore the environment down"
    store = Store(state_dir / "store")
    assert [e.action for e in store.audit_trail() if e.environment_id == made["id"]].count("teardown") == 1
    assert [s.name for s in store.steps(made["uid"])].count("destroy") == 1


def attempt_start(service: StagetuiService, hypothesis: str) -> Experiment | None:
    """The experiment started, or None when it was refused as a losing contender should be."""
    try:
        return service.start_experiment(
            "parallel copy",
            hypothesis=hypothesis,
            change="",
            metric="provision.total_seconds",
            expected_change=-0.5,
        )
    except ConflictError:
        return None


def test_two_starts_of_one_experiment_at_once_have_one_winner(
    small_config: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, theirs = (StagetuiService.open(load_config(small_config)) for _ in range(2))
    check = experiments.all_experiments
    other: list[Experiment | None] = []

    def check_then_lose_the_race(core: ServiceCore) -> list[Experiment]:
        found = check(core)
        if core is mine.core and not other and not store_locked(state_dir / "store"):
            # Another process starts the same experiment between this check and this write.
            with ThreadPoolExecutor(1) as pool:
                other.append(pool.submit(attempt_start, theirs, "theirs").result())
        return found

    monkeypatch.setattr(experiments, "all_experiments", check_then_lose_the_race)
    started = [attempt_start(mine, "mine")]
    if not other:  # the check was under the lock: the other start simply comes second
        other.append(attempt_start(theirs, "theirs"))
    winners = [e for e in [*started, *other] if e is not None]
    assert len(winners) == 1, "both starts succeeded"
    store = Store(state_dir / "store")
    assert [r["hypothesis"] for r in store.collection("experiments").all()] == [winners[0].hypothesis]
    assert [e.action for e in store.audit_trail()].count("experiment") == 1


def test_two_first_runs_at_once_mask_with_one_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, path = AnonymizationConfig(), tmp_path / "secrets" / "mask.key"
    token_hex = secrets.token_hex
    others: list[bytes] = []

    def another_run_gets_there_first(nbytes: int | None = None) -> str:
        if not others:  # it, too, found no key file, and it writes its key before this run does
            others.append(b"")
            others[0] = keys.load_mask_key(settings, path, {})
        return token_hex(nbytes)

    monkeypatch.setattr(secrets, "token_hex", another_run_gets_there_first)
    mine = keys.load_mask_key(settings, path, {})
    assert mine == others[0] == path.read_bytes().strip(), "two runs masked with different keys"
