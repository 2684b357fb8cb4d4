"""The measurement table dock: sortable, a click centres the viewer on the object, CSV export."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QFileDialog,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = ["MeasurementTable"]

_CENTROID = ("centroid_z_nm", "centroid_y_nm", "centroid_x_nm")


def _item(value: Any) -> QTableWidgetItem:
    item = QTableWidgetItem()
    if isinstance(value, (bool, np.bool_)):
        item.setData(Qt.ItemDataRole.DisplayRole, "yes" if value else "no")
    elif isinstance(value, (int, np.integer)):
        item.setData(Qt.ItemDataRole.DisplayRole, int(value))
    elif isinstance(value, (float, np.floating)):
        v = float(value)
        item.setData(Qt.ItemDataRole.DisplayRole, float(f"{v:.6g}") if math.isfinite(v) else v)
    else:
        item.setData(Qt.ItemDataRole.DisplayRole, str(value))
    return item


class MeasurementTable(QWidget):
    """One row per object, in nm; sortable by any column.

    Clicking a row centres the viewer on the object's centroid (and moves the
    slider to its slice); *Export CSV* writes the table as ``sxtseg measure``
    does.

    Parameters
    ----------
    viewer : napari.Viewer
    table : pandas.DataFrame
        From :func:`sxtseg.morphometry.measure_objects`.
    instances : Labels layer, optional
        Its ``selected_label`` follows the clicked object.
    """

    def __init__(self, viewer: Any, table: Any, *, instances: Any = None) -> None:
        super().__init__()
        self.viewer = viewer
        self.instances = instances
        self.table = table
        self.summary = QLabel()
        self.view = QTableWidget()
        self.view.setSelectionBehavior(QTableWidget.SelectRows)
        self.view.setSelectionMode(QTableWidget.SingleSelection)
        self.view.setEditTriggers(QTableWidget.NoEditTriggers)
        self.export_button = QPushButton("Export CSV...")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.view)
        layout.addWidget(self.export_button)
        self.view.cellClicked.connect(lambda row, _col: self.centre_on_row(row))
        self.export_button.clicked.connect(self._export_dialog)
        self.set_table(table, instances=instances)

    def set_table(self, table: Any, *, instances: Any = None) -> None:
        """Show a new table (sorting is kept off while filling)."""
        self.table = table
        if instances is not None:
            self.instances = instances
        cols = [str(c) for c in table.columns]
        self.view.setSortingEnabled(False)
        self.view.clear()
        self.view.setColumnCount(len(cols))
        self.view.setRowCount(len(table))
        self.view.setHorizontalHeaderLabels(cols)
        for r, row in enumerate(table.itertuples(index=False)):
            for c, value in enumerate(row):
                self.view.setItem(r, c, _item(value))
        self.view.setSortingEnabled(True)
        self.view.resizeColumnsToContents()
        self.summary.setText(f"{len(table)} objects (nm, nm², nm³); click a row to go there")

    def object_id(self, row: int) -> int:
        """The object id shown in (sorted) row ``row``."""
        col = list(self.table.columns).index("id")
        item = self.view.item(row, col)
        if item is None:
            raise IndexError(f"no row {row}")
        return int(item.data(Qt.ItemDataRole.DisplayRole))

    def centre_on_row(self, row: int) -> None:
        """Centre the camera on the object of a (sorted) table row."""
        self.centre_on(self.object_id(row))

    def centre_on(self, obj_id: int) -> tuple[float, float, float]:
        """Centre the camera on object ``obj_id``'s centroid (z, y, x) in nm and show its slice.

        Returns
        -------
        (z, y, x) nm
        """
        hit = self.table[self.table["id"] == obj_id]
        if hit.empty:
            raise KeyError(f"no object {obj_id}")
        zyx = tuple(float(hit.iloc[0][c]) for c in _CENTROID)
        self.viewer.camera.center = zyx
        ndim = self.viewer.dims.ndim
        if ndim >= 3:
            self.viewer.dims.set_point(ndim - 3, zyx[0])
        if self.instances is not None:
            self.instances.selected_label = int(obj_id)
        return (zyx[0], zyx[1], zyx[2])

    def export(self, path: str | Path) -> list[Path]:
        """Write the table (CSV, TSV or Parquet by extension) as ``sxtseg measure`` does."""
        from sxtseg.morphometry import write_table

        return write_table(self.table, Path(path), overwrite=True)

    def _export_dialog(self) -> None:  # pragma: no cover - needs a user
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export measurements",
            "objects.csv",
            "CSV (*.csv);;TSV (*.tsv);;Parquet (*.parquet)",
        )
        if path:
            self.export(path)
