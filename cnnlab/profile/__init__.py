"""Tables of parameters, operations and output volume, counted as the lecture counts them."""

from cnnlab.profile.conventions import CONVENTIONS, UnsupportedLayerError, count_layer
from cnnlab.profile.receptive_field import receptive_field
from cnnlab.profile.table import Row, Table, profile

__all__ = ["CONVENTIONS", "Row", "Table", "UnsupportedLayerError", "count_layer", "profile", "receptive_field"]
