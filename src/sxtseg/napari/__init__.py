"""napari plugin of sxtseg (npe2 manifest ``napari.yaml``; install ``sxtseg[napari]``).

Contributions:

- a **reader** for every volume format sxtseg reads (lazy, scale in nm, axes
  z, y, x) and for ``sxtseg run`` results folders;
- a **writer** of Labels layers to MRC, TIFF, OME-Zarr and HDF5 with the voxel size;
- widgets: **Segment**, **Objects & surfaces** (with a measurement table),
  **Fine-tune** (paint, train, re-segment);
- **sample data**: a small simulated tomogram with its truth.

Nothing here is imported by ``import sxtseg``; the modules that need napari
or Qt import them at module level and are only loaded by napari.
"""

from __future__ import annotations

__all__: list[str] = []
