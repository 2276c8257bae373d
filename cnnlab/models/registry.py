"""One registry for every network of the lecture: `register` a builder with its config, `build` by name."""

import dataclasses
import difflib
import inspect
from collections.abc import Callable

import keras

from cnnlab.blocks.shapes import InputTooSmallError


@dataclasses.dataclass(frozen=True)
class Network:
    """A registered network: its builder, its config (data) and how the slides tabulate it."""

    name: str
    builder: Callable[..., keras.Model]
    config: dict
    defaults: dict  # options with a network-specific default (e.g. the input shape of convnet-mnist)
    table_options: dict  # profiler options that print this network's table as the slides do
    summary: str

    def options(self):
        """The options a user may pass to `build` (the builder's keyword arguments)."""
        fixed = set(self.config) | {"name"}
        return [p for p in inspect.signature(self.builder).parameters if p not in fixed]

    def build(self, **options):
        unknown = sorted(set(options) - set(self.options()))
        if unknown:
            raise TypeError(
                f"{self.name}: unknown option(s) {', '.join(unknown)}. "
                f"Options of {self.name}: {', '.join(self.options())}."
            )
        try:
            return self.builder(name=self.name, **self.config, **{**self.defaults, **options})
        except InputTooSmallError as error:
            shape = {**self.defaults, **options}.get("input_shape", self._default("input_shape"))
            error.min_input = self._smallest_input(shape, error.min_input, options)
            error.args = (error.describe(self.name, shape),)
            raise

    def _default(self, option):
        return inspect.signature(self.builder).parameters[option].default

    def _smallest_input(self, shape, candidate, options, tries=12):
        """Grow the input from the first failing layer's need until every layer fits (a few cheap builds)."""
        for _ in range(tries):
            if candidate is None:
                return None
            try:
                self.builder(
                    name=self.name,
                    **self.config,
                    **{**self.defaults, **options, "input_shape": (*candidate, shape[-1])},
                )
                return candidate
            except InputTooSmallError as error:
                candidate = error.min_input
        return None


NETWORKS: dict[str, Network] = {}


def register(name, builder, *, defaults=None, table_options=None, **config):
    """Register `builder` under `name` with its fixed `config` and overridable `defaults`.

    Registering a name twice is an error."""
    if name in NETWORKS:
        raise ValueError(f"network {name!r} is registered twice")
    doc = inspect.getdoc(builder) or ""
    NETWORKS[name] = Network(name, builder, config, dict(defaults or {}), dict(table_options or {}), doc.split("\n")[0])


def names():
    """Registered network names, in registration order (the lecture's order)."""
    return list(NETWORKS)


def get(name):
    """The registered `Network`; an unknown name lists the known ones and the nearest."""
    if name not in NETWORKS:
        near = difflib.get_close_matches(name, NETWORKS, n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown network {name!r}.{hint} Known networks: {', '.join(NETWORKS)}")
    return NETWORKS[name]


def build(name, **options) -> keras.Model:
    """Build a registered network, e.g. `build("resnet34")` or `build("vgg16", num_classes=10,
    input_shape=(32, 32, 3))`. Options: input_shape, num_classes, batch_norm, dropout... (see
    `get(name).options()`)."""
    return get(name).build(**options)
