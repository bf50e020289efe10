"""The import graph of simdup: no cycles, command modules independent, and the plain command line without Dask
(nor Hugging Face datasets)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simdup"


def module_names() -> dict[str, Path]:
    """Every module of the package (the compiled core by its source), by dotted name."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in PACKAGE.rglob("*.pyx"):
        names[".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)] = path
    return names


def imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The simdup modules ``module`` imports anywhere in its file (in functions too: a lazy import is a
    dependency all the same), without its own ancestor packages, which Python always loads first."""
    if path.suffix != ".py":
        return set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # `from pkg import name`: the submodule pkg.name if there is one, else pkg itself.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import simdup.x.y` names the module simdup.x.y
                target = target.rpartition(".")[0]
            if target and not (module == target or module.startswith(target + ".")):
                found.add(target)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports(name, path, modules) for name, path in modules.items()}


def test_the_graph_is_read() -> None:
    modules = module_names()
    assert {"simdup", "simdup._core", "simdup.cli", "simdup.cli.dedup", "simdup.distributed.pipeline"} <= set(modules)
    assert imports("simdup.cli.dedup", modules["simdup.cli.dedup"], modules) >= {"simdup.batch", "simdup.cli._common"}
    # A relative import of the parent's module, two levels up, and a lazy one inside a function.
    assert "simdup.corpus" in imports("simdup.cli.index", modules["simdup.cli.index"], modules)
    assert "simdup.cli.dedup_dask" in imports("simdup.cli", modules["simdup.cli"], modules)


def test_no_import_cycle_inside_simdup(graph: dict[str, set[str]]) -> None:
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_cli_command_modules_import_only_the_shared_helpers(graph: dict[str, set[str]]) -> None:
    cli = {name for name in graph if name.startswith("simdup.cli.") and name != "simdup.cli.__main__"}
    commands = {name for name in cli if not name.rpartition(".")[2].startswith("_")}
    helpers = cli - commands
    assert {"simdup.cli.dedup", "simdup.cli.dedup_dask", "simdup.cli.fingerprints", "simdup.cli.fit",
            "simdup.cli.index"} <= commands and "simdup.cli._common" in helpers
    for name in cli:
        # Only the parser (simdup.cli itself) knows every command; no command or helper imports it, or a command.
        forbidden = graph[name] & (commands | {"simdup.cli"})
        assert not forbidden, f"{name} imports {forbidden}"
    # The library never imports the command line, nor its own public alias simdup.dask.
    for name, targets in graph.items():
        if not name.startswith(("simdup.cli", "simdup.__main__")):
            assert not {t for t in targets if t.startswith("simdup.cli")}, name
        assert "simdup.dask" not in targets, name


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_command_line_imports_without_dask_or_datasets() -> None:
    result = run_python("import sys, simdup, simdup.cli\n"
                        "simdup.cli.build_parser().parse_args(['dedup', 'x.jsonl', '-o', 'y.jsonl'])\n"
                        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pandas')"
                        " or m.startswith('simdup.distributed') or m.split('.')[0] == 'datasets'))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_python_dash_m_runs_the_command_line() -> None:
    for module in ("simdup", "simdup.cli"):
        result = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0 and result.stdout.startswith("simdup "), result.stderr


def test_simdup_dask_is_the_public_alias_of_simdup_distributed() -> None:
    pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    import simdup.dask
    import simdup.distributed

    assert simdup.dask.dedup is simdup.distributed.dedup
    assert simdup.dask.DaskDedupResult is simdup.distributed.DaskDedupResult
    assert simdup.dask.SHUFFLE_ROW_COST == simdup.distributed.SHUFFLE_ROW_COST
    assert simdup.dask.__all__ == ["DaskDedupResult", "dedup"]
    assert "simdup.distributed" in (simdup.dask.__doc__ or "")
