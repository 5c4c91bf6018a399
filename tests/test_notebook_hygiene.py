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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_thin(path: Path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.For | ast.While)]
        assert not defs, f"logic belongs in gdnb, not in the notebook: {cell.source[:80]}"
