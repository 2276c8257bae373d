"""Profile a built Keras model: a table of parameters, operations and output volume per row.

The numbers come from walking the model's layers and shapes (never from per-network data).
"""

import dataclasses
import math
import re

import keras

from cnnlab.profile.conventions import count_layer
from cnnlab.profile.units import unit_of

ROWS = ("slide", "layers")


@dataclasses.dataclass
class Row:
    """One row of a table: a layer, a unit, or `repeat` consecutive units counted together."""

    label: str
    params: int
    ops: int
    volume: tuple
    repeat: int = 1
    layers: list = dataclasses.field(default_factory=list)
    unit: str = None
    stage: str = None
    downsamples: bool = False
    end_volume: tuple = None  # output of the row's last layer, counted or not (a unit's output)

    def as_dict(self):
        return {
            "label": self.label,
            "repeat": self.repeat,
            "params": self.params,
            "ops": self.ops,
            "volume": list(self.volume),
            "layers": list(self.layers),
        }


@dataclasses.dataclass
class Table:
    """A profile: rows, totals, and how they were counted. Renders as text, Markdown, HTML or JSON."""

    network: str
    convention: str
    rows: list
    non_trainable_params: int = 0

    @property
    def total_params(self):
        return sum(row.params for row in self.rows)

    @property
    def total_ops(self):
        return sum(row.ops for row in self.rows)

    def as_dict(self):
        data = {
            "network": self.network,
            "convention": self.convention,
            "rows": [row.as_dict() for row in self.rows],
            "total_params": self.total_params,
            "total_ops": self.total_ops,
        }
        if self.convention == "keras":
            data["non_trainable_params"] = self.non_trainable_params
        return data

    def row(self, label):
        """The row whose label is `label`, or that holds the layer or unit `label` ("conv2_2" is in the
        "conv2_1..conv2_3" row)."""
        for row in self.rows:
            if row.label == label or any(name == label or name.startswith(f"{label}_") for name in row.layers):
                return row
        raise KeyError(f"{self.network}: no row {label!r}. Rows: {', '.join(r.label for r in self.rows)}")

    def render(self, format="text"):
        from cnnlab.profile import render

        return render.render(self, format)

    def __str__(self):
        return self.render("text")

    def __repr__(self):
        return (
            f"<Table {self.network} ({self.convention}): {len(self.rows)} rows, {self.total_params:,} parameters, "
            f"{self.total_ops:,} operations>"
        )

    def _repr_html_(self):
        return self.render("html")


def _shape(tensors):
    first = tensors[0] if isinstance(tensors, (list, tuple)) else tensors
    return tuple(first.shape[1:])


def _creation_order(layers):
    """Keras lists a functional model's layers by depth; the order they were called in reads better
    (an inception module's branches one after the other). Symbolic tensors are numbered as they are
    made (`keras_tensor`, `keras_tensor_1`...); keep Keras' order when a name does not say."""
    order = []
    for layer in layers:
        if isinstance(layer, keras.layers.InputLayer):
            order.append(-1)
            continue
        match = re.fullmatch(r"keras_tensor(?:_(\d+))?", getattr(layer.output, "name", "") or "")
        if match is None:
            return list(layers)
        order.append(int(match[1] or 0))
    return [layer for _, layer in sorted(zip(order, layers, strict=False), key=lambda pair: pair[0])]


def _flat_layers(model):
    """The model's layers in the order they were called, with the layers of nested models in place of those models."""
    for layer in _creation_order(model.layers):
        if isinstance(layer, keras.Model):
            yield from (inner for inner in _flat_layers(layer) if not isinstance(inner, keras.layers.InputLayer))
        else:
            yield layer


def _input_rows(model, convention):
    """Sequential models list no InputLayer: make the input rows from the model's inputs."""
    if any(isinstance(layer, keras.layers.InputLayer) for layer in model.layers):
        return []
    return [
        Row(
            count_layer(keras.layers.InputLayer(shape=tuple(t.shape[1:])), (), tuple(t.shape[1:]), convention)[1],
            0,
            0,
            tuple(t.shape[1:]),
            layers=["input"],
        )
        for t in model.inputs
    ]


def _layer_rows(model, convention, softmax_ops):
    """One row per counted layer. An uncounted layer (BN, ReLU, add...) joins the row before it
    when both are in the same unit, else the row after it (DenseNet's units start with BN)."""
    rows, waiting = _input_rows(model, convention), []
    for layer in _flat_layers(model):
        in_shape = () if isinstance(layer, keras.layers.InputLayer) else _shape(layer.input)
        out_shape = _shape(layer.output)
        kind, label, params, ops = count_layer(layer, in_shape, out_shape, convention, softmax_ops)
        unit, stage = unit_of(layer.name)
        if kind is None:
            if rows and rows[-1].unit == unit and not waiting:
                rows[-1].params += params
                rows[-1].layers.append(layer.name)
                rows[-1].end_volume = out_shape
            else:
                waiting.append((layer.name, params))
            continue
        downsamples = len(in_shape) == 3 and in_shape[:2] != out_shape[:2]
        rows.append(
            Row(
                label if kind == "input" else f"{layer.name}: {label}",
                params + sum(p for _, p in waiting),
                ops,
                out_shape,
                layers=[name for name, _ in waiting] + [layer.name],
                unit=unit,
                stage=stage,
                downsamples=downsamples,
                end_volume=out_shape,
            )
        )
        waiting = []
    if waiting:
        rows[-1].params += sum(p for _, p in waiting)
        rows[-1].layers += [name for name, _ in waiting]
    return rows


def _unit_rows(rows):
    """Rows of the same unit become one row (volume: the unit's last layer's output)."""
    grouped = []
    for row in rows:
        last = grouped[-1] if grouped else None
        if row.unit is not None and last is not None and last.unit == row.unit:
            last.params += row.params
            last.ops += row.ops
            last.layers += row.layers
            last.downsamples = last.downsamples or row.downsamples
            last.volume = row.end_volume
        else:
            grouped.append(
                dataclasses.replace(
                    row,
                    layers=list(row.layers),
                    label=row.unit or row.label,
                    volume=row.end_volume if row.unit else row.volume,
                )
            )
    return grouped


def _merge_repeats(rows):
    """Consecutive units of one stage that keep the spatial size share one "n x" row."""
    merged = []
    for row in rows:
        last = merged[-1] if merged else None
        if (
            row.stage is not None
            and last is not None
            and last.stage == row.stage
            and not row.downsamples
            and not last.downsamples
        ):
            last.params += row.params
            last.ops += row.ops
            last.volume = row.volume
            last.layers += row.layers
            last.repeat += 1
            last.label = f"{last.label.split('..')[0]}..{row.unit}"
        else:
            merged.append(row)
    return merged


def profile(model, convention="deck", rows="slide", softmax_ops=True):
    """Count parameters, operations and output volume of `model`, layer by layer.

    convention: "deck" (the lecture's counting), "macs" (multiply-adds of conv/fc, trainable
    parameters) or "keras" (Keras' parameter count, multiply-adds). rows: "slide" groups units
    (a ResNet stage's repeated units in one "n x" row, its downsampling unit alone) as the
    slides do; "layers" gives one row per counted layer. softmax_ops=False counts softmax as 0
    operations, as the lecture's first table does.
    """
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {', '.join(ROWS)}. Received: rows={rows!r}")
    if not isinstance(model, keras.Model) or not model.built:
        raise TypeError(
            f"profile() needs a built keras.Model (e.g. cnnlab.models.build('resnet34')). "
            f"Received: {type(model).__name__}"
        )
    unknown = [tuple(t.shape[1:]) for t in model.inputs if None in t.shape[1:]]
    if unknown:
        raise ValueError(
            f"{model.name}: profile() needs a fixed input size, got {unknown[0]}. Build the model "
            "with a full input_shape, e.g. input_shape=(32, 32, 1)."
        )
    table_rows = _layer_rows(model, convention, softmax_ops)
    if rows == "slide":
        table_rows = _merge_repeats(_unit_rows(table_rows))
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights) if convention == "keras" else 0
    return Table(model.name, convention, table_rows, non_trainable)
