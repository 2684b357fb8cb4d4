"""3D surfaces of objects in nm (scikit-image marching cubes + trimesh; no torch).

- :func:`mesh_objects` / :func:`surface_of` — one closed, smoothed surface per
  object; vertex columns (x, y, z) in nm = index × voxel size + origin.
- :func:`write_surfaces` — PLY/OBJ/STL/GLB per object plus a combined,
  coloured scene.
- :func:`render_scene_png`, :func:`slice_overlays_png` — PNG previews.
- :func:`write_surface_folder` / :func:`read_surface_folder` — a whole
  surfaces folder from an instance Volume, and its meshes read back. (The
  file-level job behind ``sxtseg surfaces`` is :func:`sxtseg.jobs.surfaces_file`.)
"""

from sxtseg.mesh.config import MeshConfig
from sxtseg.mesh.export import FORMATS, SurfaceFiles, write_surfaces
from sxtseg.mesh.job import SurfacesResult, read_surface_folder, write_surface_folder
from sxtseg.mesh.render import render_scene_png, slice_overlays_png
from sxtseg.mesh.surface import ObjectMesh, distinct_colors, mesh_objects, surface_of

__all__ = [
    "FORMATS",
    "MeshConfig",
    "ObjectMesh",
    "SurfaceFiles",
    "SurfacesResult",
    "distinct_colors",
    "mesh_objects",
    "read_surface_folder",
    "render_scene_png",
    "slice_overlays_png",
    "surface_of",
    "write_surface_folder",
    "write_surfaces",
]
