"""The hard line between core and faces: only stagetui.ui may import Textual; the domain stays pure."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "stagetui"
CORE = [
    "stagetui.service.api",
    "stagetui.cli.main",
    "stagetui.strategies.registry",
    "stagetui.runtimes.local",
    "stagetui.runtimes.docker.runtime",
]


def test_core_and_cli_import_no_textual() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in CORE)
        + "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        + "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_imports_no_io_frameworks_and_no_upper_layer() -> None:
    forbidden = (
        "textual",
        "rich",
        "sqlite3",
        "tinydb",
        "docker",
        "boto3",
        "stagetui.service",
        "stagetui.cli",
        "stagetui.ui",
        "stagetui.store",
        "stagetui.runtimes",
        "stagetui.data",
        "stagetui.strategies",
    )
    for path in (PACKAGE / "domain").glob("*.py"):
        bad = {name for name in _imports(path) if name.startswith(forbidden)}
        assert not bad, f"{path.name} imports {bad}"


def test_adapters_and_strategies_never_import_the_faces_or_the_service() -> None:
    for layer in ("runtimes", "data", "sources", "store", "strategies", "sample", "compose"):
        for path in (PACKAGE / layer).rglob("*.py"):
            bad = {
                n for n in _imports(path) if n.startswith(("stagetui.service", "stagetui.cli", "stagetui.ui"))
            }
            assert not bad, f"{layer}/{path.name} imports {bad}"


def test_compose_definitions_are_parsed_without_an_engine() -> None:
    for path in (PACKAGE / "compose").glob("*.py"):
        bad = {n for n in _imports(path) if n.startswith(("docker", "stagetui.runtimes", "stagetui.data"))}
        assert not bad, f"compose/{path.name} imports {bad}"


def _module_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_sample_service_uses_the_standard_library_only() -> None:
    """On SQLite it runs on a bare Python; psycopg is imported only for a database on PostgreSQL."""
    own = {"__future__", "stagetui.sample.backends"}
    for module in ("service.py", "backends.py"):
        imports = _module_level_imports(PACKAGE / "sample" / module)
        assert not {n for n in imports if n.split(".")[0] not in sys.stdlib_module_names and n not in own}
    assert _imports(PACKAGE / "sample" / "backends.py") - _module_level_imports(
        PACKAGE / "sample" / "backends.py"
    ) == {"psycopg"}
