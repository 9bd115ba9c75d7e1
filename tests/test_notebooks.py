"""Notebooks are committed executed -- a reader on a code host sees their printed results and figures -- and
re-execute top to bottom here (nbclient, at their reduced sizes), every plotting cell producing a figure."""
import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(pathlib.Path(__file__).resolve().parent.parent.joinpath("notebooks").glob("*.ipynb"))


def plotting_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and "plt.subplots(" in c.source]


def has_figure(cell):
    return any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def printed(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_with_its_figures(path):
    nb = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code_cells), "commit the notebook executed, top to bottom"
    assert [cell.execution_count for cell in code_cells] == list(range(1, len(code_cells) + 1))
    assert all(has_figure(cell) for cell in plotting_cells(nb)), "a committed plotting cell shows no figure"
    assert not any(o.get("output_type") == "error" for cell in code_cells for o in cell.get("outputs", []))


# 03's scaling study is tested in test_scaling; re-running its notebook (40 s) is left to the slow set
RUNS = [pytest.param(p, marks=pytest.mark.slow) if p.name.startswith("03_") else p for p in NOTEBOOKS]


@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.name)
def test_notebook_runs_and_shows_its_figures(path, monkeypatch):
    monkeypatch.setenv("DRAGONJAX_NOTEBOOK_SMALL", "1")  # the notebooks' reduced sizes (the kernel inherits it)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    shown = [c for c in plotting_cells(nb) if has_figure(c)]
    assert len(shown) == len(plotting_cells(nb)), "a plotting cell showed no figure (did something switch the backend?)"
    if path.name.startswith("02_"):  # the notebook is about the transition: it must show one
        t_star = re.search(r"'t_star': ([^,}]+)", printed(nb)).group(1)
        assert t_star != "None", "02 shows no transition (m never reached 1/2)"
