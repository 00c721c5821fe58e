"""docs/architecture.md says the layers the import contracts enforce."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def contracted_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers"]
    found: list[str] = layers["layers"]
    return found


def documented_layers(text: str) -> list[str]:
    """The first code span of each numbered line under "## Layers", in order."""
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. `([^`]+)`", section, flags=re.M)


def test_the_documented_layers_are_the_contracted_ones() -> None:
    documented = documented_layers((ROOT / "docs" / "architecture.md").read_text())
    assert documented == contracted_layers()


def test_every_contract_is_named_in_the_architecture() -> None:
    # The layers inside loop/ and cli/, and every other contract, by its id.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    text = (ROOT / "docs" / "architecture.md").read_text()
    ids = [c["id"] for c in config["tool"]["importlinter"]["contracts"]]
    named_by_id = [i for i in ids if i.endswith(("-layers", "-apart"))]
    assert [i for i in named_by_id if f"`{i}`" not in text] == []


def test_a_changed_layer_is_noticed() -> None:
    # The check reads what it should: moving one module between layers shows.
    text = (ROOT / "docs" / "architecture.md").read_text()
    moved = text.replace("`config | telemetry | wire`", "`config | telemetry`", 1)
    assert documented_layers(moved) != contracted_layers()


def test_the_files_the_architecture_names_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.(?:py|md|toml))`", text))
    bases = [ROOT, ROOT / "biofeedback"]

    def exists(name: str) -> bool:
        if "/" in name:
            return any((base / name).exists() for base in bases)
        # A bare name is a top-level file, or one of the folder its table row names.
        return (ROOT / name).exists() or any(ROOT.glob(f"biofeedback/**/{name}"))

    assert sorted(n for n in named if not exists(n)) == []
