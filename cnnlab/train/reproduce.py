"""`fit(model, recipe, data)`: train any model with a recipe; `reproduce(network, recipe)`: build a lecture
network with the recipe's options, then `fit` it."""

import dataclasses
import time

import keras

from cnnlab import models
from cnnlab.data import Dataset, arrays, load, pad, pipeline, preprocessing, segmentation
from cnnlab.train import precision, recipes
from cnnlab.train.target import ERRORS


@dataclasses.dataclass
class Result:
    """What one training run gives: the Keras history, the test error (fraction), the wall time (s)."""

    network: str
    recipe: str
    seed: int
    epochs: int
    history: dict
    test_error: float
    wall_time_s: float  # model.fit only (graph tracing included); the test evaluation is not counted
    target_error: float  # the published figure (the slide's, or the paper's)
    policy: str
    model: keras.Model
    scores: dict = dataclasses.field(default_factory=dict)  # segmentation: pixel error, Dice and IoU per class
    target_from: str = "the slide's"

    def describe(self):
        if self.scores:
            return self._describe_segmentation()
        verdict = "reaches" if self.test_error <= self.target_error else "misses"
        return (
            f"{self.network} ({self.recipe} recipe, {self.epochs} epochs, seed {self.seed}, {self.policy}): "
            f"test error {100 * self.test_error:.2f}% ({verdict} {self.target_from} "
            f"{100 * self.target_error:.3g}%) in {self.wall_time_s:.1f} s of training"
        )

    def _describe_segmentation(self):
        verdict = "reaches" if self.test_error <= self.target_error else "misses"
        classes = ", ".join(
            f"class {k}: Dice {self.scores[f'dice_{k}']:.3f}, IoU {self.scores[f'iou_{k}']:.3f}" for k in (0, 1)
        )
        return (
            f"{self.network} ({self.recipe} recipe, {self.epochs} epochs, seed {self.seed}, {self.policy}): "
            f"pixel error {self.test_error:.4f} on the validation slices ({verdict} the paper's "
            f"{self.target_error:.4f}, measured on the ISBI 2012 test slices: a different set); "
            f"{classes} (0 = membrane, 1 = cell interior); {self.wall_time_s:.1f} s of training"
        )


@dataclasses.dataclass
class Run:
    """A model with its data and recipe (`prepare` returns it compiled, ready for `model.fit`)."""

    model: keras.Model
    splits: pipeline.Splits
    recipe: recipes.Recipe
    epochs: int
    policy: str


def make_splits(recipe, data=None, seed=0):
    """The recipe's splits (`pipeline.make`: tf.data, or PyDatasets without TensorFlow) of `data` (a `Dataset`, a
    dataset name, or None: `recipe.dataset`), zero-padded to `recipe.pad_to` when set; image/mask pairs
    (`cnnlab.data.segmentation`) for segmentation."""
    data = data if data is not None else recipe.dataset
    if recipe.task == "segmentation":
        return segmentation.make(data, batch_size=recipe.batch_size, augment=recipe.augment, seed=seed)
    if recipe.pad_to:
        data = load(data) if isinstance(data, str) else data
        data = dataclasses.replace(
            data,
            **{
                key: pad(getattr(data, key), recipe.pad_to)
                for key in ("x_train", "x_val", "x_test")
                if getattr(data, key) is not None
            },
        )
    return pipeline.make(
        data, batch_size=recipe.batch_size, validation=recipe.validation, seed=seed, one_hot=recipe.one_hot_labels
    )


def build_network(network, recipe, **options):
    """The registered `network` with the recipe's kernel init and weight decay on its conv and fc kernels.

    Builders that take `kernel_initializer`/`kernel_regularizer` (the lecture's convnet) get them; for the
    others they are set on the built model's Conv2D and Dense kernels (the L2 penalty as the kernel's
    regularizer, the init by drawing the kernel again, from a new initializer per layer: one unseeded Keras
    initializer draws the same values for every kernel of the same shape).
    """
    kernel = recipe.kernel_options()
    if set(kernel) <= set(models.get(network).options()):
        return models.build(network, **options, **kernel)
    model = models.build(network, **options)
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            fresh = recipe.kernel_options()
            if "kernel_initializer" in fresh:
                layer.kernel.assign(fresh["kernel_initializer"](layer.kernel.shape, layer.kernel.dtype))
            if "kernel_regularizer" in fresh:
                layer.kernel.regularizer = fresh["kernel_regularizer"]
    return model


def prepare(network, recipe="fast", epochs=None, seed=0, data=None, mixed_precision="auto", jit_compile="auto"):
    """Seed everything, build the pipelines and the compiled model (preprocessing layers inside)."""
    run = _build(network, recipe, epochs, seed, data, mixed_precision)
    compile_model(run.model, run.recipe, run.epochs * steps_per_epoch(run.splits), jit_compile)
    return run


def _build(network, recipe, epochs, seed, data, mixed_precision):
    """Seed everything, build the pipelines and the model (preprocessing layers inside), not compiled."""
    chosen = recipes.get(network, recipe)
    epochs = epochs or chosen.epochs
    keras.utils.set_random_seed(seed)
    splits = make_splits(chosen, data, seed)
    policy = precision.resolve(mixed_precision)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        network_model = build_network(
            network,
            chosen,
            **{"input_shape": splits.input_shape, "num_classes": splits.num_classes, **chosen.network_options},
        )
        # a segmentation recipe augments image and mask alike in tf.data, not in the model
        in_model = "none" if chosen.task == "segmentation" else chosen.augment
        model = preprocessing.with_preprocessing(network_model, splits.data.x_train, augment=in_model, seed=seed)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    if chosen.task == "segmentation" and model.output_shape[-1] != 1:
        raise ValueError(
            f"{network}: segmentation recipes train one sigmoid output per pixel (num_classes=1). "
            f"Received: output shape {model.output_shape}"
        )
    return Run(model, splits, chosen, epochs, policy)


def steps_per_epoch(splits):
    """Batches in one pass over the training split (tf.data or PyDataset)."""
    return arrays.batches(splits.train)


def compile_model(model, recipe, steps, jit_compile="auto"):
    """Compile `model` with the recipe's optimizer and schedule for `steps` steps, its loss and metrics.

    `jit_compile="auto"` follows `recipe.jit_compile` (`cnnlab.train.precision.jit_compile`); the steps per call
    follow `recipe.steps_per_execution` (`cnnlab.train.precision.steps_per_execution`)."""
    if jit_compile == "auto":
        jit_compile = precision.jit_compile(recipe.jit_compile)
    model.compile(
        optimizer=recipe.make_optimizer(steps),
        loss=recipe.make_loss(),
        metrics=recipe.make_metrics(),
        jit_compile=jit_compile,
        steps_per_execution=precision.steps_per_execution(recipe.steps_per_execution),
    )


def fit(
    model,
    recipe,
    data=None,
    epochs=None,
    seed=0,
    save=None,
    verbose="auto",
    jit_compile="auto",
    callbacks=(),
    network=None,
) -> Result:
    """Compile `model` with `recipe`, train it, and return its history, test error and wall time.

    Args:
        model: a Keras model that takes the pipeline's batches (uint8 images: put the normalization
            inside, `cnnlab.data.preprocessing.with_preprocessing`). Its dtype policy is the one it was
            built with.
        recipe: a `Recipe`, or its name for `network` ("fast", "lecture").
        data: `pipeline.Splits` (or `segmentation.SegmentationSplits`), a `Dataset` or a dataset name (None:
            `recipe.dataset`); the last two go through `make_splits` (shuffled with `seed`).
        epochs: overrides the recipe's number of epochs (the schedule stretches to fit).
        save: a path ending in .keras to save the trained model to (for grading).
        verbose: Keras' progress bar ("auto", 0, 1 or 2).
        jit_compile: XLA compilation, as in `keras.Model.compile` ("auto": where the model supports it).
        callbacks: extra Keras callbacks for `fit`.
        network: the name reported in the result (default: `model.name`).
    """
    if isinstance(recipe, str):
        recipe = recipes.get(network or model.name, recipe)
    if save and not str(save).endswith(".keras"):
        raise ValueError(f"save needs a path ending in .keras. Received: save={save!r}")
    split_types = (pipeline.Splits, segmentation.SegmentationSplits)
    if not isinstance(data, (*split_types, Dataset, str, type(None))):
        raise TypeError(
            f"data must be pipeline.Splits, a cnnlab Dataset or a dataset name. Received: {type(data).__name__}"
        )
    splits = data if isinstance(data, split_types) else make_splits(recipe, data, seed)
    epochs = epochs or recipe.epochs
    compile_model(model, recipe, epochs * steps_per_epoch(splits), jit_compile)
    start = time.perf_counter()
    history = model.fit(
        splits.train,
        validation_data=splits.val,
        epochs=epochs,
        verbose=verbose,
        callbacks=list(callbacks),
        shuffle=False,
    )  # the pipeline shuffles
    wall = time.perf_counter() - start
    if save:
        model.save(save)
    error, scores = ERRORS[recipe.error](model, splits)
    return Result(
        network or model.name,
        recipe.name,
        seed,
        len(history.epoch),
        history.history,
        error,
        wall,
        recipe.target_error,
        model.dtype_policy.name,
        model,
        scores,
        recipe.target_from,
    )


def reproduce(
    network,
    recipe="fast",
    epochs=None,
    seed=0,
    save=None,
    verbose="auto",
    data=None,
    mixed_precision="auto",
    jit_compile="auto",
    callbacks=(),
) -> Result:
    """Train the registered `network` with its recipe `recipe` ("fast" or "lecture"; `recipes.RECIPES`).

    For "unet" on the membrane set, the error is the pixel error on the validation slices, and
    `Result.scores` holds it with the Dice and IoU of each class (`cnnlab.train.metrics.scores`).

    Args:
        epochs: overrides the recipe's number of epochs (the schedule stretches to fit).
        seed: seeds init, shuffling and augmentation (`keras.utils.set_random_seed`).
        save: a path ending in .keras to save the trained model to (for grading).
        verbose: Keras' progress bar ("auto", 0, 1 or 2).
        data: a loaded `cnnlab.data.Dataset` to use instead of `load(recipe.dataset)`.
        mixed_precision: a Keras dtype policy, or "auto" (see `cnnlab.train.precision.resolve`).
        jit_compile: XLA compilation, as in `keras.Model.compile` ("auto": where the model supports it).
        callbacks: extra Keras callbacks for `fit`.
    """
    run = _build(network, recipe, epochs, seed, data, mixed_precision)
    return fit(
        run.model,
        run.recipe,
        run.splits,
        epochs=run.epochs,
        seed=seed,
        save=save,
        verbose=verbose,
        jit_compile=jit_compile,
        callbacks=callbacks,
        network=network,
    )
