"""`cnnlab reproduce NETWORK [--recipe lecture|fast] [--epochs N]`: the subcommand, to wire into cnnlab.cli."""

from cnnlab.data import DatasetError
from cnnlab.train import recipes


def add_reproduce_parser(subparsers):
    """Add the `reproduce` subcommand to `argparse` subparsers; it runs `run_reproduce(args)`."""
    networks = sorted({network for network, _ in recipes.RECIPES})
    command = subparsers.add_parser("reproduce", help="train a lecture network and compare its test error "
                                                      "with the slide's figure")
    command.add_argument("network", choices=networks)
    command.add_argument("--recipe", choices=("fast", "lecture"), default="fast",
                         help="fast: our faster recipe (default); lecture: the lecture's hyperparameters")
    command.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--save", metavar="PATH.keras", help="save the trained model (for grading)")
    command.set_defaults(run=run_reproduce)
    return command


def run_reproduce(args):
    """Train, print the test error against the slide's figure and the time; 0, or an error message."""
    from cnnlab.train.reproduce import reproduce

    if args.save and not args.save.endswith(".keras"):
        return f"--save needs a path ending in .keras. Received: --save {args.save}"
    try:
        result = reproduce(args.network, recipe=args.recipe, epochs=args.epochs, seed=args.seed, save=args.save)
    except DatasetError as error:
        return str(error)
    print(result.describe())
    if args.save:
        print(f"saved to {args.save}")
    return 0
