"""Which layers form one unit (one row of a slide table), read from the layers' names.

cnnlab's blocks name every layer `<unit>_<role>`:
- repeated units `<stage><n>_<i>_...` or `<stage><n>_unit<i>_...` (ResNet `conv3_1_a`, DenseNet
  `dense3_unit12_conv1`): consecutive units of a stage share one "n x" row, except a unit that
  changes the spatial size (ResNet's downsampling unit), which has its own row;
- single modules (`inception_4a_...`, `transition2_...`, `aux1_...`, U-Net's `enc1_...`,
  `dec1_...`, `bridge_...`): one row each.
A model written by hand with the same names is grouped the same way; any other layer is a row of its own.
"""

import re

REPEATED = re.compile(r"^(?P<stage>[a-z]+\d+)_(?:unit)?(?P<index>\d+)_")
MODULE = re.compile(r"^(?P<unit>inception_\d[a-z]|transition\d+|aux\d+|enc\d+|dec\d+|bridge)_")


def unit_of(layer_name):
    """(unit, stage) for a layer inside a unit, (None, None) otherwise; stage is None for single modules."""
    match = REPEATED.match(layer_name)
    if match:
        return f"{match['stage']}_{layer_name[len(match['stage']) + 1 : match.end() - 1]}", match["stage"]
    match = MODULE.match(layer_name)
    if match:
        return match["unit"], None
    return None, None
