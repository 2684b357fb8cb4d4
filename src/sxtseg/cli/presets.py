"""Print the network presets as one JSON object: preset -> {m, parameters, gmac_1024}.

gmac_1024 is the cost of both heads for one 1024×1024 slice (10^9 multiply-adds);
gmac_label_1024 is the label path alone (what segmentation runs).

Example: sxtseg presets
"""

import json

import typer

NAME = "presets"


def command() -> int:
    from sxtseg.model.cost import preset_table

    typer.echo(json.dumps(preset_table(), indent=2))
    return 0
