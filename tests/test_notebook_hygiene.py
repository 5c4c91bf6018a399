"""Every committed notebook is clean: no outputs, a title, a `parameters` cell of annotated, commented literals."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from gdnb.notebooks import notebook_parameters

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_walkthrough_notebooks_exist():
    names = {p.stem for p in NOTEBOOKS}
    assert {"00_kms_key", "01_bucket_and_export", "99_teardown"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_title_then_a_parameters_cell_of_literals(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    tree = ast.parse(tagged[0].source)
    assert tree.body
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name), ast.dump(node)[:80]
        ast.literal_eval(node.value)  # literals only: papermill replaces them, nothing is computed
    lines = [line for line in tagged[0].source.splitlines() if line and not line.startswith("#")]
    assert all("  # " in line for line in lines), "every parameter has a comment for papermill --help-notebook"
    declared = notebook_parameters(path)
    assert list(declared) == [n.target.id for n in tree.body]  # papermill sees every one
    assert all(p["help"] for p in declared.values())


# A code cell is one or two gdnb calls whose result is displayed (DESIGN.md, principle 1): no definitions,
# no control flow, no comprehensions, no arithmetic or comparisons, no computing with builtins.
LOGIC_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.For, ast.AsyncFor, ast.While,
               ast.If, ast.IfExp, ast.Try, ast.With, ast.Match, ast.ListComp, ast.SetComp, ast.DictComp,
               ast.GeneratorExp, ast.BoolOp, ast.BinOp, ast.Compare)
COMPUTING_BUILTINS = {"sorted", "set", "frozenset", "sum", "min", "max", "map", "filter", "zip", "enumerate",
                      "reversed", "any", "all", "range"}
MAX_STATEMENTS = 4  # top-level statements besides imports


def thin_cell_problems(source: str) -> list[str]:
    """Why a code cell is not thin (empty when it is)."""
    tree = ast.parse(source)
    problems = []
    statements = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)]
    if len(statements) > MAX_STATEMENTS:
        problems.append(f"{len(statements)} statements (at most {MAX_STATEMENTS})")
    for node in ast.walk(tree):
        if isinstance(node, LOGIC_NODES):
            problems.append(f"{type(node).__name__} at line {node.lineno}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in COMPUTING_BUILTINS:
            problems.append(f"{node.func.id}() at line {node.lineno}")
    return problems


@pytest.mark.parametrize(("source", "thin"), [
    ("plan = gdnb.plan_key(cfg)\nplan.table()", True),
    ("import gdnb\n\ncfg = gdnb.settings_from_namespace(globals())\ncfg", True),
    ("gdnb.setup.record_results(bucket_plan, export_result, objects=objects)", True),
    ("\n".join(f"gdnb.record('r{i}', {i})" for i in range(6)), False),
    ("gdnb.record('regions', sorted(set(objects['region'])))", False),
    ("gdnb.record('actions', a.records() + b.records())", False),
    ("rows = [r for r in plan.records() if r['change'] != 'no-op']", False),
    ("print(x if x else 'nothing')", False),
    ("for p in plans:\n    gdnb.apply(p)", False),
    ("def helper():\n    return 1", False),
])
def test_the_thin_cell_rule(source: str, thin: bool):
    assert (not thin_cell_problems(source)) is thin, thin_cell_problems(source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_thin(path: Path):
    nb = nbformat.read(path, as_version=4)
    thick = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" not in cell.get("metadata", {}).get("tags", []):
            problems = thin_cell_problems(cell.source)
            if problems:
                thick[f"cell {i}: {cell.source[:60]!r}"] = problems
    assert not thick, f"logic belongs in gdnb, not in the notebook: {thick}"
