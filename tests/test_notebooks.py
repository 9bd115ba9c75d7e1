"""Notebooks execute top to bottom (nbclient); their outputs are kept out of git."""
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(pathlib.Path(__file__).resolve().parent.parent.joinpath("notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_is_committed_without_outputs(path, monkeypatch):
    monkeypatch.setenv("DRAGONJAX_NOTEBOOK_SMALL", "1")  # the notebooks' reduced sizes (the kernel inherits it)
    nb = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.get("outputs") for cell in code_cells), "clear outputs before committing"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    plots = [c for c in nb.cells if c.cell_type == "code" and "plt.subplots(" in c.source]
    shown = [c for c in plots if any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert len(shown) == len(plots), "a plotting cell showed no figure (did something switch the backend?)"
