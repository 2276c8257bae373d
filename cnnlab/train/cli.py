"""`cnnlab reproduce NETWORK [--recipe lecture|fast] [--epochs N] [--seed S]`, `cnnlab reproduce --list`:
the subcommand, to wire into cnnlab.cli."""

from cnnlab.data import DatasetError
from cnnlab.train import recipes


def add_reproduce_parser(subparsers):
    """Add the `reproduce` subcommand to `argparse` subparsers; it runs `run_reproduce(args)`."""
    command = subparsers.add_parser(
        "reproduce", help="train a lecture network and compare its test error with the published figure"
    )
    command.add_argument("network", nargs="?", choices=recipes.networks())
    command.add_argument(
        "--recipe",
        choices=("fast", "lecture"),
        default="fast",
        help="fast: our faster recipe (default); lecture: the lecture's (or the paper's) hyperparameters",
    )
    command.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--save", metavar="PATH.keras", help="save the trained model (for grading)")
    command.add_argument("--list", action="store_true", help="list every recipe and its target")
    command.set_defaults(run=run_reproduce)
    return command


def recipe_table():
    """One line per recipe: network, recipe, dataset, epochs, batch, optimizer, schedule, target."""
    lines = [
        f"{'network':<18} {'recipe':<8} {'dataset':<8} {'epochs':>6} {'batch':>5}  {'optimizer':<9} "
        f"{'schedule':<9} target"
    ]
    for (network, name), recipe in recipes.RECIPES.items():
        lines.append(
            f"{network:<18} {name:<8} {recipe.dataset:<8} {recipe.epochs:>6} {recipe.batch_size:>5}  "
            f"{recipe.optimizer:<9} {recipe.schedule:<9} {100 * recipe.target_error:.3g}% "
            f"({recipe.target_from})"
        )
    return "\n".join(lines)


def run_reproduce(args):
    """Train, print the test error against the published figure and the time; 0, or an error message."""
    from cnnlab.train.reproduce import reproduce

    if args.list:
        print(recipe_table())
        return 0
    if not args.network:
        return "reproduce needs a network (or --list). Known: " + ", ".join(recipes.networks())
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
