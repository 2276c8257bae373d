"""The training labs' fast recipes in full mode, one after another, against the papers' and slides' figures.

For the lent GPU machine (JAX, no TensorFlow: the PyDataset pipeline is chosen by itself):

    KERAS_BACKEND=jax CNNLAB_DATA_DIR=... python bench/gpu_labs.py [--networks resnet20 ...]

Prints per network: test error (U-Net: pixel error on our validation slices, not the paper's test slices),
the target and where it comes from, epochs, final training error, training images/s and wall time; then
whether plain-56 trains worse than plain-20 (He et al.'s degradation). `--tiny` runs every recipe for one
epoch on a few hundred images (two membrane slices): a check that the script runs end to end on a CPU, its
errors mean nothing.
"""

import argparse
import dataclasses
import sys
import time

import keras

from cnnlab.data import load
from cnnlab.train import precision, recipes, reproduce

LABS = [
    "convnet-mnist",
    "convnet-cifar10",
    "lenet5",
    "resnet20",
    "plain20",
    "resnet56",
    "plain56",
    "densenet-bc-cifar",
    "unet",
]


def tiny(dataset, images=256):
    """A few hundred training and test images (two training slices, one validation slice for the membranes)."""
    data = load(dataset)
    if data.x_val is not None:
        return dataclasses.replace(
            data, x_train=data.x_train[:2], y_train=data.y_train[:2], x_val=data.x_val[:1], y_val=data.y_val[:1]
        )
    return dataclasses.replace(
        data,
        x_train=data.x_train[:images],
        y_train=data.y_train[:images],
        x_test=data.x_test[: images // 2],
        y_test=data.y_test[: images // 2],
    )


def devices():
    if keras.backend.backend() == "jax":
        import jax

        return ", ".join(str(device.device_kind) for device in jax.devices())
    return "GPU" if precision.on_gpu() else "CPU"


def run(network, tiny_mode, seed):
    recipe = recipes.get(network, "fast")
    data = tiny(recipe.dataset) if tiny_mode else None
    start = time.perf_counter()
    result = reproduce(network, "fast", epochs=1 if tiny_mode else None, seed=seed, data=data, verbose=0)
    wall = time.perf_counter() - start
    train_size = len((data or load(recipe.dataset)).x_train)
    accuracy = result.history.get("accuracy", [float("nan")])[-1]
    return result, 1 - accuracy, result.epochs * train_size / result.wall_time_s, wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", choices=LABS, default=LABS)
    parser.add_argument("--tiny", action="store_true", help="one epoch on a few hundred images (CPU check)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(
        f"{time.strftime('%Y-%m-%d')}, Keras {keras.__version__} on {keras.backend.backend()}, {devices()}"
        f"{', tiny mode: the errors mean nothing' if args.tiny else ''}"
    )
    print(
        f"{'network':<18} {'error':>8} {'target':>8} {'verdict':<8} {'epochs':>6} {'train err':>9} "
        f"{'images/s':>9} {'wall s':>7}  target from"
    )
    train_errors = {}
    for network in args.networks:
        result, train_error, rate, wall = run(network, args.tiny, args.seed)
        train_errors[network] = train_error
        segmentation = bool(result.scores)
        error = f"{result.test_error:.4f}" if segmentation else f"{100 * result.test_error:.2f}%"
        target = f"{result.target_error:.4f}" if segmentation else f"{100 * result.target_error:.2f}%"
        verdict = "reaches" if result.test_error <= result.target_error else "misses"
        source = result.target_from + (" (ISBI test slices; ours: validation slices 25-29)" if segmentation else "")
        print(
            f"{network:<18} {error:>8} {target:>8} {verdict:<8} {result.epochs:>6} {100 * train_error:8.2f}% "
            f"{rate:9.0f} {wall:7.1f}  {source}",
            flush=True,
        )
    if {"plain20", "plain56"} <= set(train_errors):
        worse = train_errors["plain56"] > train_errors["plain20"]
        print(
            f"degradation (plain-56 trains worse than plain-20): {'yes' if worse else 'no'} "
            f"({100 * train_errors['plain56']:.2f}% vs {100 * train_errors['plain20']:.2f}% training error)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
