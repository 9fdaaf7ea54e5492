"""Import direction (models <- warehouse <- flows <- dashboards) and the single-writer rule, by AST."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

LAYERS = {"models": 0, "warehouse": 1, "flows": 2, "dashboards": 3}
WRITERS = {"warehouse/db.py", "flows/pipeline.py"}


def _modules() -> list[Path]:
    return [p for layer in LAYERS for p in (REPO / layer).rglob("*.py")]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_layers_import_only_downward() -> None:
    for path in _modules():
        own = LAYERS[path.relative_to(REPO).parts[0]]
        for name in _imports(path):
            if name in LAYERS:
                assert LAYERS[name] <= own, (
                    f"{path.relative_to(REPO)} imports {name} (up the stack)"
                )


def test_dashboards_never_import_flows_or_writers() -> None:
    for path in (REPO / "dashboards").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "open_writer" not in text
        assert (
            "warehouse.load" not in text
            and "warehouse.build" not in text
            and "warehouse.publish" not in text
        )


def test_only_the_pipeline_opens_the_writer() -> None:
    for path in _modules():
        rel = path.relative_to(REPO).as_posix()
        if "open_writer(" in path.read_text(encoding="utf-8"):
            assert rel in WRITERS, f"{rel} opens the warehouse read-write"


def test_models_import_nothing_from_opspulse() -> None:
    for path in (REPO / "models").rglob("*.py"):
        assert not (_imports(path) & {"warehouse", "flows", "dashboards"}), path


def test_packages_declare_all() -> None:
    for path in _modules():
        if path.name in {"__init__.py", "__main__.py", "app.py"} or "sql" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            t.id
            for n in tree.body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        assert "__all__" in names, f"{path.relative_to(REPO)} has no __all__"
