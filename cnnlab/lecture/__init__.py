"""The lecture's tables as data, and a check that cnnlab's builders and profiler reproduce them."""

import dataclasses
import functools
import json
from importlib import resources

from cnnlab import models
from cnnlab.profile import profile
from cnnlab.profile.depth import weight_layers


@functools.cache
def tables():
    """The lecture's numbers (cnnlab/lecture/tables.json), under the deck convention."""
    return json.loads(resources.files(__package__).joinpath("tables.json").read_text())


@dataclasses.dataclass
class Check:
    """One lecture table (or row of numbers) compared with what cnnlab computes."""

    name: str
    slide: str
    failures: list
    typos: list

    @property
    def ok(self):
        return not self.failures

    def describe(self):
        status = "ok" if self.ok else "MISMATCH"
        lines = [f"{status:8s} {self.name}: {self.slide}"]
        lines += [f"         - {failure}" for failure in self.failures]
        lines += [f"         typo on the slide: {typo}" for typo in self.typos]
        return "\n".join(lines)


def _compare(what, ours, expected, failures):
    if ours != expected:
        failures.append(f"{what}: cnnlab {ours}, lecture {expected}")


def _fmt(value):
    return f"{value:,}" if isinstance(value, int) else str(value)


def check_table(entry, build=models.build):
    """Build the table's network, profile it as the slides do, and compare every row and total."""
    table = profile(build(entry["network"]), **models.get(entry["network"]).table_options)
    failures = []
    if entry["rows"] is not None:
        if len(table.rows) != len(entry["rows"]):
            failures.append(f"{len(table.rows)} rows, the slide has {len(entry['rows'])}")
        for ours, (label, repeat, params, ops, volume) in zip(table.rows, entry["rows"], strict=False):
            got = (ours.repeat, ours.params, ours.ops, list(ours.volume))
            if got != (repeat, params, ops, volume):
                failures.append(
                    f"row {label!r}: cnnlab {got}, lecture {(repeat, params, ops, volume)} "
                    "(repeat, params, ops, volume)"
                )
    _compare("total parameters", table.total_params, entry["total_params"], failures)
    _compare("total operations", table.total_ops, entry["total_ops"], failures)
    typos = []
    for typo in entry["typos"]:
        where = "total" if typo["row"] == "total" else f"row {typo['row'] + 1} {entry['rows'][typo['row']][0]!r}"
        typos.append(
            f"{where} {typo['field']} printed {_fmt(typo['printed'])}, correct {_fmt(typo['correct'])} "
            "(cnnlab prints the correct value)"
        )
    return Check(entry["network"], entry["slide"], failures, typos)


def check_flops_row(build=models.build):
    """The ResNet models table's FLOPs row: exact multiply-adds, and within the slide's rounding."""
    data = tables()["flops_row"]
    failures = []
    for name, numbers in data["networks"].items():
        macs = profile(build(name), convention="macs").total_ops
        _compare(f"{name} multiply-adds", macs, numbers["multiply_adds"], failures)
        if abs(macs - numbers["printed"]) >= 0.1e9:
            failures.append(
                f"{name}: {macs / 1e9:.2f}e9 multiply-adds is not {numbers['printed'] / 1e9:.1f}e9 "
                "within the slide's rounding"
            )
    return Check("resnet18..152", data["note"], failures, [])


def check_depths(build=models.build):
    """Weight layers of the VGG, ResNet and DenseNet configuration tables; DenseNet's first conv has 2k maps."""
    data = tables()
    failures = []
    for name, depth in data["weight_layers"].items():
        model = build(name)
        _compare(f"{name} weight layers", weight_layers(model), depth, failures)
        if name in data["densenet_first_conv"]:
            _compare(
                f"{name} first conv maps",
                model.get_layer("conv1").filters,
                data["densenet_first_conv"][name]["first_conv_features"],
                failures,
            )
    return Check(
        ", ".join(data["weight_layers"]), "VGG / ResNet / DenseNet configuration tables, layer counts", failures, []
    )


def check_all(build=models.build):
    """Every lecture table, the FLOPs row and the configuration tables' depths.

    `build(name)` makes each network (pass a cached one to share builds with other work)."""
    return [*(check_table(entry, build) for entry in tables()["tables"]), check_flops_row(build), check_depths(build)]
