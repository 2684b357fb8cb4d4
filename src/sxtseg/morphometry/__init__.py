"""Objects from masks and their measurements in nm (numpy/scipy/scikit-image; no torch).

- :func:`objects_from_mask` — membrane outlines or filled masks -> instance volume.
- :func:`measure_objects` — one row per object (volumes, surfaces, axes, Feret,
  cross-sections), :func:`write_table` — CSV (+ Parquet).
- :func:`cross_sections` — per-Z-slice 2D statistics of one object.
- :func:`load_objects` / :func:`write_instances` — objects from a mask or
  instance file; an instance volume to a file. (The file-level job behind
  ``sxtseg measure`` is :func:`sxtseg.jobs.measure_file`.)
"""

from sxtseg.morphometry.config import MeasureConfig, ObjectsConfig
from sxtseg.morphometry.crosssection import SectionStats, cross_sections
from sxtseg.morphometry.job import load_objects, write_instances
from sxtseg.morphometry.measure import COLUMNS, feret_max, measure_objects, write_table
from sxtseg.morphometry.objects import (
    enclosed_regions,
    filter_by_volume,
    instance_dtype,
    label_components,
    objects_from_mask,
    relabel_sequential,
    trim_instances,
)
from sxtseg.morphometry.split import split_protrusions, split_touching

__all__ = [
    "COLUMNS",
    "MeasureConfig",
    "ObjectsConfig",
    "SectionStats",
    "cross_sections",
    "enclosed_regions",
    "feret_max",
    "filter_by_volume",
    "instance_dtype",
    "label_components",
    "load_objects",
    "measure_objects",
    "objects_from_mask",
    "relabel_sequential",
    "split_protrusions",
    "split_touching",
    "trim_instances",
    "write_instances",
    "write_table",
]
