"""Editing a notebook the way JupyterLab does, on a pycrdt Doc (jupyter_ydoc's YNotebook layout).

A notebook document has a ``cells`` Array of Maps; each cell's ``source`` is a
Text. One transaction is one update on the wire, as one keystroke is in a
browser.
"""

from __future__ import annotations

import uuid
from typing import Any

from pycrdt import Array, Doc, Map, Text

from .ywire import YClientError

__all__ = ["append_text", "cell_source", "insert_cell", "notebook_cells"]


def notebook_cells(doc: Doc[Any]) -> Array[Any]:
    """The ``cells`` array of a YNotebook document (an Array of Maps)."""
    cells: Array[Any] = doc.get("cells", type=Array)
    return cells


def cell_source(doc: Doc[Any], cell_index: int) -> Text:
    """The ``source`` Text of a notebook cell."""
    cell = notebook_cells(doc)[cell_index]
    if not isinstance(cell, Map):
        raise YClientError(f"cell {cell_index} is not a Map: {type(cell).__name__}")
    source = cell["source"]
    if not isinstance(source, Text):
        raise YClientError(f"cell {cell_index} source is not a Text: {type(source).__name__}")
    return source


def append_text(doc: Doc[Any], cell_index: int, text: str) -> None:
    """Type ``text`` at the end of a cell's source (one transaction = one update)."""
    source = cell_source(doc, cell_index)
    with doc.transaction():
        source.insert(len(source), text)


def insert_cell(
    doc: Doc[Any],
    index: int | None = None,
    *,
    source: str = "",
    cell_type: str = "code",
) -> None:
    """Insert a cell shaped like jupyter_ydoc's ``YNotebook.create_ycell`` builds it."""
    cell: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "cell_type": cell_type,
        "source": Text(source),
        "metadata": Map(),
    }
    if cell_type == "code":
        cell["outputs"] = Array()
        cell["execution_count"] = None
        cell["execution_state"] = "idle"
    cells = notebook_cells(doc)
    with doc.transaction():
        if index is None:
            cells.append(Map(cell))
        else:
            cells.insert(index, Map(cell))
