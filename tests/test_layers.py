"""Each outside-world library has one owner; the core loads none of them; the CLI is light.

The import-linter contracts in pyproject.toml check the import graph; these
tests check what a fresh interpreter really loads, and that the contracts would
catch a stray import.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import biofeedback

ROOT = Path(__file__).resolve().parent.parent
# Library -> the only part of biofeedback that may load it.
OWNERS = {
    "textual": "biofeedback.ui",
    "rich": "biofeedback.ui",
    "aiomqtt": "biofeedback.mqtt",
    "bleak": "biofeedback.sensors.ble",
    "bleak_retry_connector": "biofeedback.sensors.ble",
    "miniaudio": "biofeedback.audio",
    "psycopg": "biofeedback.store.central",
}
# The central store is split by job into modules beside it, each of them an owner.
CENTRAL_PARTS = ("central_schema", "central_write", "central_read")


def loaded_after(import_line: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys\n{import_line}\nprint(','.join(n for n in {names!r} if n in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return [n for n in out.stdout.strip().split(",") if n]


def modules() -> list[str]:
    found = [
        info.name
        for info in pkgutil.walk_packages(biofeedback.__path__, "biofeedback.")
        if not info.name.endswith("__main__")  # runs the CLI when imported
    ]
    return ["biofeedback", *sorted(found)]


def owns(module: str, library: str) -> bool:
    owner = OWNERS[library]
    if library == "psycopg" and module in {f"biofeedback.store.{p}" for p in CENTRAL_PARTS}:
        return True
    return module == owner or module.startswith(owner + ".")


@pytest.mark.parametrize("module", modules())
def test_a_module_loads_no_library_it_does_not_own(module: str) -> None:
    foreign = tuple(lib for lib in OWNERS if not owns(module, lib))
    assert loaded_after(f"import {module}", foreign) == []


def test_cli_import_is_light() -> None:
    assert loaded_after("import biofeedback.cli", (*OWNERS, "numpy")) == []


@pytest.fixture(scope="module")
def lint_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages and contracts copied aside, to break on purpose."""
    if shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("lint-imports is not installed beside this interpreter")
    base = tmp_path_factory.mktemp("lint")
    for package in ("biofeedback", "simulators"):
        shutil.copytree(ROOT / package, base / package)
    shutil.copy(ROOT / "pyproject.toml", base / "pyproject.toml")
    return base


def lint(base: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(exe), "--no-cache"],
        cwd=base,
        env={"PYTHONPATH": str(base), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("path", "library"),
    [
        ("biofeedback/sensors/payload.py", "aiomqtt"),
        ("biofeedback/models/core.py", "textual"),
        ("biofeedback/signals/hrv.py", "bleak"),
        ("biofeedback/cli/running.py", "miniaudio"),
        ("biofeedback/store/outgoing.py", "psycopg"),
        ("biofeedback/review/summary.py", "psycopg"),
        ("simulators/physiology.py", "textual"),
        ("simulators/physiology.py", "biofeedback.loop.session"),
    ],
)
def test_a_stray_import_breaks_the_contracts(lint_copy: Path, path: str, library: str) -> None:
    target = lint_copy / path
    original = target.read_text()
    target.write_text(f"import {library}  # noqa\n{original}")
    try:
        proc = lint(lint_copy)
    finally:
        target.write_text(original)
    assert proc.returncode != 0, proc.stdout
    assert "BROKEN" in proc.stdout
    module = path.removesuffix(".py").replace("/", ".")
    assert f"{module} -> {library}" in proc.stdout


# One probe per contract (its id in pyproject.toml): a file, and the one import that,
# added to it, breaks that contract.
PROBES = {
    "layers": ("biofeedback/loop/progress.py", "from biofeedback.loop import session"),
    # The fold below the per-sink queues, inside loop/.
    "loop-layers": ("biofeedback/loop/progress.py", "from biofeedback.loop import fanout"),
    # setup below the other command modules (the package-wide layers see one cli).
    "cli-layers": ("biofeedback/cli/setup.py", "from biofeedback.cli import common"),
    # A source reaching estimation, a floor below it since the regroup.
    "plumbing-apart": ("biofeedback/sensors/replay.py", "from biofeedback.signals import rr_clean"),
    "bleak-owner": ("biofeedback/sensors/payload.py", "import bleak"),
    "textual-owner": ("biofeedback/console.py", "import rich"),
    "miniaudio-owner": ("biofeedback/audio/sink.py", "import miniaudio"),
    "aiomqtt-owner": ("biofeedback/telemetry.py", "import aiomqtt"),
    "psycopg": ("biofeedback/store/outgoing.py", "import psycopg"),
    "ui-handed": ("biofeedback/ui/widgets.py", "from biofeedback import store"),
    "simulators": ("simulators/physiology.py", "from biofeedback.signals import hrv"),
    # Miniaudio into the pure audio score, through the module that owns it.
    "pure-core": ("biofeedback/audio/score.py", "from biofeedback.audio import device"),
    # The controller into a view (the dashboard's state).
    "views-no-controller": (
        "biofeedback/ui/state.py",
        "from biofeedback.pacing.controller import PacingController",
    ),
}


def contract_ids() -> list[str]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [c["id"] for c in config["tool"]["importlinter"]["contracts"]]


def test_every_contract_has_a_probe() -> None:
    assert sorted(contract_ids()) == sorted(PROBES)


@pytest.mark.parametrize("contract", sorted(PROBES))
def test_each_contract_breaks_on_its_probe(lint_copy: Path, contract: str) -> None:
    path, line = PROBES[contract]
    target = lint_copy / path
    original = target.read_text()
    exe = Path(sys.executable).parent / "lint-imports"
    command = [str(exe), "--no-cache", "--contract", contract]
    env = {"PYTHONPATH": str(lint_copy), "PATH": "/usr/bin:/bin"}

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=lint_copy, env=env, capture_output=True, text=True, timeout=120
        )

    kept = check()
    assert kept.returncode == 0, kept.stdout
    # At the end, where no docstring or __future__ import minds it.
    target.write_text(f"{original}\n{line}  # noqa\n")
    try:
        broken = check()
    finally:
        target.write_text(original)
    assert broken.returncode != 0, broken.stdout
    assert "1 broken" in broken.stdout, broken.stdout


def test_the_untouched_copy_keeps_every_contract(lint_copy: Path) -> None:
    proc = lint(lint_copy)
    assert proc.returncode == 0, proc.stdout
    assert "0 broken" in proc.stdout


def test_owned_libraries_are_installed_or_reserved() -> None:
    # A contract on a library nobody installed would prove nothing: all but the
    # reserved audio library must be importable here.
    for library in OWNERS:
        if library != "miniaudio":
            assert importlib.util.find_spec(library) is not None, library


def test_no_test_imports_another_test_module_or_a_benchmark() -> None:
    # Shared helpers live in tests/support; benchmarks print figures and may change freely.
    tests_dir = Path(__file__).resolve().parent
    offenders = []
    for path in sorted(tests_dir.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            words = line.split()
            if words[:1] in (["from"], ["import"]) and len(words) > 1:
                module = words[1]
                if module.startswith(("benchmarks", "tests.test_")):
                    offenders.append(f"{path.relative_to(tests_dir)}:{n}: {line.strip()}")
    assert offenders == []


def test_no_import_circles() -> None:
    # A circle (a module reaching itself through others, TYPE_CHECKING imports too)
    # makes both ends one unit that can only be read and changed together.
    import grimp

    graph = grimp.build_graph("biofeedback", "simulators")
    circles = sorted(
        {
            tuple(sorted((module, imported)))
            for module in graph.modules
            if module.startswith(("biofeedback", "simulators"))
            for imported in graph.find_modules_directly_imported_by(module)
            if graph.chain_exists(importer=imported, imported=module)
        }
    )
    assert circles == []
