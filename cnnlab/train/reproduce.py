"""`reproduce(network, recipe)`: train a lecture network with a recipe and report its test error."""

import dataclasses
import math
import time

import keras
import tensorflow as tf

from cnnlab import models
from cnnlab.data import pipeline, preprocessing, segmentation
from cnnlab.train import metrics, precision, recipes
from cnnlab.train.target import test_error


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
    target_error: float  # the slide's figure
    policy: str
    model: keras.Model
    scores: dict = dataclasses.field(default_factory=dict)  # segmentation: pixel error, Dice and IoU per class

    def describe(self):
        if self.scores:
            return self._describe_segmentation()
        verdict = "reaches" if self.test_error <= self.target_error else "misses"
        return (f"{self.network} ({self.recipe} recipe, {self.epochs} epochs, seed {self.seed}, {self.policy}): "
                f"test error {100 * self.test_error:.2f}% ({verdict} the slide's {100 * self.target_error:.1f}%) "
                f"in {self.wall_time_s:.1f} s of training")

    def _describe_segmentation(self):
        verdict = "reaches" if self.test_error <= self.target_error else "misses"
        classes = ", ".join(f"class {k}: Dice {self.scores[f'dice_{k}']:.3f}, IoU {self.scores[f'iou_{k}']:.3f}"
                            for k in (0, 1))
        return (f"{self.network} ({self.recipe} recipe, {self.epochs} epochs, seed {self.seed}, {self.policy}): "
                f"pixel error {self.test_error:.4f} on the validation slices ({verdict} the paper's "
                f"{self.target_error:.4f}, measured on the ISBI 2012 test slices: a different set); "
                f"{classes} (0 = membrane, 1 = cell interior); {self.wall_time_s:.1f} s of training")


@dataclasses.dataclass
class Run:
    """A compiled model ready for `fit`, with its data and recipe (what `prepare` returns)."""

    model: keras.Model
    splits: pipeline.Splits
    recipe: recipes.Recipe
    epochs: int
    policy: str


def prepare(network, recipe="fast", epochs=None, seed=0, data=None, mixed_precision="auto", jit_compile="auto"):
    """Seed everything, build the pipelines and the compiled model (preprocessing layers inside)."""
    chosen = recipes.get(network, recipe)
    epochs = epochs or chosen.epochs
    keras.utils.set_random_seed(seed)
    if chosen.task == "segmentation":
        return _prepare_segmentation(chosen, epochs, seed, data, mixed_precision, jit_compile)
    splits = pipeline.make(data or chosen.dataset, batch_size=chosen.batch_size, validation=chosen.validation,
                           seed=seed, one_hot=chosen.label_smoothing > 0)
    policy = precision.resolve(mixed_precision)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        network_model = models.build(network, **chosen.network_options, **chosen.kernel_options())
        model = preprocessing.with_preprocessing(network_model, splits.data.x_train, augment=chosen.augment,
                                                 seed=seed)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    if chosen.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=chosen.label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    steps = epochs * math.ceil(splits.train_size / chosen.batch_size)
    model.compile(optimizer=chosen.make_optimizer(steps), loss=loss, metrics=["accuracy"], jit_compile=jit_compile)
    return Run(model, splits, chosen, epochs, policy)


def _prepare_segmentation(chosen, epochs, seed, data, mixed_precision, jit_compile):
    """`prepare` for a per-pixel sigmoid network: image/mask pipeline, binary cross-entropy, pixel accuracy.

    jit_compile "auto" is XLA on a GPU only: on this course's 2-core CPU, XLA made a U-Net training step
    8x slower (3.6 s instead of 0.46 s for two 512x512 slices, base_filters 16, bfloat16)."""
    splits = segmentation.make(data or chosen.dataset, batch_size=chosen.batch_size, augment=chosen.augment, seed=seed)
    policy = precision.resolve(mixed_precision)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        network_model = models.build(chosen.network, **chosen.network_options, **chosen.kernel_options())
        model = preprocessing.with_preprocessing(network_model, splits.data.x_train)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    if model.output_shape[-1] != 1:
        raise ValueError(f"{chosen.network}: segmentation recipes train one sigmoid output per pixel "
                         f"(num_classes=1). Received: output shape {model.output_shape}")
    if jit_compile == "auto":
        jit_compile = bool(tf.config.list_physical_devices("GPU"))
    steps = epochs * math.ceil(splits.train_size / chosen.batch_size)
    model.compile(optimizer=chosen.make_optimizer(steps), loss=keras.losses.BinaryCrossentropy(),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy"),
                           keras.metrics.BinaryIoU(target_class_ids=[0], name="membrane_iou")],
                  jit_compile=jit_compile)
    return Run(model, splits, chosen, epochs, policy)


def reproduce(network, recipe="fast", epochs=None, seed=0, save=None, verbose="auto", data=None,
              mixed_precision="auto", jit_compile="auto", callbacks=()) -> Result:
    """Train `network` ("convnet-mnist", "convnet-cifar10", "unet") with `recipe` ("fast" or "lecture").

    For "unet" on the membrane set, the error is the pixel error on the validation slices, and
    `Result.scores` holds it with the Dice and IoU of each class (`cnnlab.train.metrics.scores`).

    Args:
        epochs: overrides the recipe's number of epochs (the one-cycle schedule stretches to fit).
        seed: seeds init, shuffling and augmentation (`keras.utils.set_random_seed`).
        save: a path ending in .keras to save the trained model to (for grading).
        verbose: Keras' progress bar ("auto", 0, 1 or 2).
        data: a loaded `cnnlab.data.Dataset` to use instead of `load(recipe.dataset)`.
        mixed_precision: a Keras dtype policy, or "auto" (see `cnnlab.train.precision.resolve`).
        jit_compile: XLA compilation, as in `keras.Model.compile` ("auto": where the model supports it).
        callbacks: extra Keras callbacks for `fit`.
    """
    run = prepare(network, recipe, epochs, seed, data, mixed_precision, jit_compile)
    start = time.perf_counter()
    history = run.model.fit(run.splits.train, validation_data=run.splits.val, epochs=run.epochs, verbose=verbose,
                            callbacks=list(callbacks), shuffle=False)  # the pipeline shuffles
    wall = time.perf_counter() - start
    if save:
        run.model.save(save)
    if run.recipe.task == "segmentation":
        data = run.splits.data
        scores = metrics.scores(data.y_val, metrics.predict_masks(run.model, data.x_val))
        return Result(network, recipe, seed, len(history.epoch), history.history, scores["pixel_error"], wall,
                      run.recipe.target_error, run.policy, run.model, scores)
    return Result(network, recipe, seed, len(history.epoch), history.history, test_error(run.model, run.splits.test),
                  wall, run.recipe.target_error, run.policy, run.model)
