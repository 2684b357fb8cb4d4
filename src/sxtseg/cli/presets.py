"""Print the network presets as one JSON object: preset -> {m, parameters, gmac_1024}.

Example: sxtseg presets
"""

NAME = "presets"


def command() -> int:
    from sxtseg.cli._common import not_yet

    not_yet(NAME, "issue 4")
    return 1
