"""Training recipes that reproduce the lecture's results: `reproduce("convnet-mnist", recipe="fast")`, or
`fit(model, recipe, data)` for any model."""

from cnnlab.train.cli import add_reproduce_parser, run_reproduce
from cnnlab.train.recipes import RECIPES, Recipe
from cnnlab.train.reproduce import Result, fit, reproduce
from cnnlab.train.target import TimeToError, test_error

__all__ = [
    "add_reproduce_parser",
    "run_reproduce",
    "RECIPES",
    "Recipe",
    "Result",
    "fit",
    "reproduce",
    "TimeToError",
    "test_error",
]
