"""The course's notebook (cnn_explainability_demo.ipynb) runs from top to bottom, offline: on both shipped
models, and training a model of its own. Any cell's error fails the test. It is committed without outputs.

The notebook runs in a real Jupyter kernel (nbclient, as Jupyter's "Run All" does), of this very interpreter:
the virtual environment pytest runs in, whatever kernels the machine has installed elsewhere. Its settings are
injected by rewriting the configuration cell, the one tagged ``parameters`` (papermill's name for it).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from cnn.model_manager import ModelManager

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "cnn_explainability_demo.ipynb"
CONFIGURATION_TAG = "parameters"
SEED_SETTINGS = {"DATASET", "TRAIN_NEW_MODEL", "EPOCHS", "BATCH_SIZE", "LEARNING_RATE", "sample_idx", "filter_idx"}
KERNEL = "this-python"
CELL_TIMEOUT_S = 300  # the slowest cell takes about 10 s here; a hung kernel fails, it does not stall the suite
MIN_PICTURES = 15  # figures (PNG) and grids (HTML) the notebook shows; each run shows more than this


def committed() -> NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def configuration_cell(notebook: NotebookNode) -> NotebookNode:
    cells = [cell for cell in notebook.cells if CONFIGURATION_TAG in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"one cell must be tagged {CONFIGURATION_TAG!r}, found {len(cells)}"
    return cells[0]


def configured(notebook: NotebookNode, **values: object) -> NotebookNode:
    """The notebook with its configuration cell assigning ``values`` (each name it assigns once) instead."""
    cell = configuration_cell(notebook)
    for name, value in values.items():
        cell.source, count = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", cell.source, flags=re.MULTILINE)
        assert count == 1, f"the configuration cell must assign {name} once, on a line of its own"
    return notebook


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> KernelSpecManager:
    """A kernelspec of this interpreter, found before any other (a user's own "python3" may be another Python)."""
    folder = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(folder / KERNEL)  # its command: sys.executable -m ipykernel_launcher
    return KernelSpecManager(kernel_dirs=[str(folder)])


def run(notebook: NotebookNode, kernels: KernelSpecManager) -> NotebookNode:
    """Execute every cell in order, in the repository's folder; raises CellExecutionError at a cell's error."""
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernels)
    NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(REPO)}}).execute()
    return notebook


def outputs(notebook: NotebookNode, cell_id: str) -> list[NotebookNode]:
    return next(cell for cell in notebook.cells if cell.get("id") == cell_id).outputs


def printed(notebook: NotebookNode, cell_id: str) -> str:
    return "".join(output.text for output in outputs(notebook, cell_id)
                   if output.output_type == "stream" and output.name == "stdout")


def pictures(notebook: NotebookNode) -> list[str]:
    """The MIME type of every figure and grid shown; a Figure shown as mere text (no PNG) fails."""
    shown = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert "Figure size" not in data.get("text/plain", "") or "image/png" in data, \
                f"cell {cell.id} shows a matplotlib Figure as text: is the inline backend on?"
            shown += [kind for kind in ("image/png", "text/html") if kind in data]
    return shown


def test_committed_notebook_has_no_outputs_and_is_valid() -> None:
    notebook = committed()
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {cell.id} is committed with outputs"
            assert cell.execution_count is None, f"cell {cell.id} is committed with an execution count"
            assert "execution" not in cell.metadata, f"cell {cell.id} is committed with its timings"


def test_configuration_cell_holds_the_seeds_settings() -> None:
    tree = ast.parse(configuration_cell(committed()).source)
    assigned = {target.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets}
    assert SEED_SETTINGS <= assigned
    settings = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)}
    # As committed, it uses the shipped model and never writes over it.
    assert settings["TRAIN_NEW_MODEL"] is False and settings["SAVE_MODEL"] is False
    assert (settings["EPOCHS"], settings["BATCH_SIZE"], settings["LEARNING_RATE"]) == (5, 128, 0.001)


@pytest.mark.parametrize("dataset, blind_class", [("mnist", "0"), ("fashion_mnist", "Coat")])
def test_notebook_runs_on_the_shipped_model(kernels: KernelSpecManager, dataset: str, blind_class: str) -> None:
    notebook = run(configured(committed(), DATASET=dataset, sample_idx=7, filter_idx=3), kernels)
    assert len(pictures(notebook)) >= MIN_PICTURES
    assert "test image #7" in printed(notebook, "feature-maps")
    # The README's lesson, as the notebook shows it: Grad-CAM's weights are one row, the same for five images,
    # and for one class of each shipped model they are all negative.
    rows = re.findall(r"\[([^][]+)\]", printed(notebook, "fixed-weights-code"))  # numpy's rows, brackets off
    assert len(rows) == 5 and len(set(rows)) == 1
    assert f"all negative: [{blind_class!r}]" in printed(notebook, "no-evidence")
    # HiResCAM's map adds up to the logit minus its bias: the two numbers printed are equal.
    first, second = re.findall(r"-?\d+\.\d{4}", printed(notebook, "hirescam-sum"))
    assert first == second


def test_notebook_trains_a_model_offline(kernels: KernelSpecManager, offline_data_dir: Path) -> None:
    shipped = ModelManager().model_path("mnist")
    before = shipped.stat().st_mtime_ns
    notebook = run(configured(committed(), DATASET="mnist", TRAIN_NEW_MODEL=True, EPOCHS=1,
                              DATA_DIR=str(offline_data_dir)), kernels)
    assert re.search(r"epoch 1/1: loss [\d.]+, training accuracy [\d.]+, test accuracy [\d.]+", printed(notebook, "model"))
    assert any("image/png" in output.get("data", {}) for output in outputs(notebook, "model"))  # the training curves
    assert len(pictures(notebook)) >= MIN_PICTURES
    assert shipped.stat().st_mtime_ns == before  # SAVE_MODEL is False: the app's model is left alone
