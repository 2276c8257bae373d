"""Training recipes that reproduce the lecture's results: `reproduce("convnet-mnist", recipe="fast")`."""

from cnnlab.train.cli import add_reproduce_parser, run_reproduce
from cnnlab.train.recipes import RECIPES, Recipe
from cnnlab.train.reproduce import Result, reproduce
from cnnlab.train.target import TimeToError, test_error

__all__ = ["add_reproduce_parser", "run_reproduce", "RECIPES", "Recipe", "Result", "reproduce",
           "TimeToError", "test_error"]
