"""Training recipes: the lecture's (or the paper's) hyperparameters (`"lecture"`) and a faster one (`"fast"`).

A recipe is data: dataset, batch size, epochs, optimizer and schedule, init, regularization, label
smoothing, augmentation, loss, metrics and test error, and the published figure it must reproduce.

How the lecture's regularization lambda maps to Keras: the lecture's loss is mean cross-entropy +
(lambda / 2) * sum(w ** 2) over the conv/fc kernels (not the biases), so that the SGD update is
w <- w - lr * (grad + lambda * w), i.e. lambda is the weight decay. Keras' `L2(l2)` adds
l2 * sum(w ** 2), hence `L2(lambda / 2)`.
"""

import dataclasses
import math

import keras


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to train one network; `target_error` is the published test error (a fraction) to reach."""

    network: str
    dataset: str
    target_error: float
    epochs: int
    batch_size: int = 128
    optimizer: str = "sgd"  # see OPTIMIZERS
    learning_rate: float = 1e-2
    schedule: str = "constant"  # see SCHEDULES
    warmup_fraction: float = 0.2  # one-cycle: fraction of all steps spent warming up
    weight_decay: float = 0.0  # lambda, as an L2 penalty on conv/fc kernels (see the module docstring)
    init_stddev: float | None = None  # Gaussian init sigma; None: `initializer`, else the builder's default
    label_smoothing: float = 0.0
    augment: str = "none"  # cnnlab.data.preprocessing.AUGMENTATIONS; segmentation: cnnlab.data.segmentation's
    validation: int = 0  # training images held out for validation (the last ones)
    task: str = "classification"  # or "segmentation": image/mask pipeline, per-pixel loss, pixel error
    network_options: dict = dataclasses.field(default_factory=dict)  # passed to models.build
    momentum: float = 0.9  # of the "momentum" optimizer
    name: str = "custom"  # "lecture", "fast": the key of RECIPES with `network`
    min_warmup_steps: int = 0  # one-cycle: the warm-up lasts at least this many steps (at most half the run)
    decay_at: tuple = ()  # "step": fractions of all steps after which the rate drops...
    decay_to: tuple = ()  # ...to these multiples of learning_rate
    initializer: str | None = None  # conv/fc kernel init: a Keras initializer name or "lecun1998"
    pad_to: int | None = None  # zero-pad the images to pad_to x pad_to (`cnnlab.data.pad`)
    loss: str = "crossentropy"  # see LOSSES
    metrics: tuple = ("accuracy",)  # Keras metric names for `compile`, or keys of METRICS
    error: str = "classification"  # test error function, see cnnlab.train.target.ERRORS
    jit_compile: str = "auto"  # what `jit_compile="auto"` means: "auto" (Keras decides) or "gpu" (XLA on a GPU only)
    steps_per_execution: int = 1  # training steps per call of the compiled step (`precision.steps_per_execution`)
    target_from: str = "the slide's"  # where target_error comes from, as `describe` prints it

    def kernel_options(self):
        """New `kernel_initializer` and `kernel_regularizer` instances for the builder.

        The initializer is unseeded: `keras.utils.set_random_seed` makes it reproducible. One instance
        draws the same values for every kernel of the same shape (it fixes its seed when made), which the
        convnet's kernels, all of different shapes, never have; `build_network` makes one per layer.
        """
        options = {}
        if self.init_stddev is not None and self.initializer is not None:
            raise ValueError(
                f"{self.network}: give init_stddev or initializer, not both. Received: "
                f"init_stddev={self.init_stddev}, initializer={self.initializer!r}"
            )
        if self.init_stddev is not None:
            options["kernel_initializer"] = keras.initializers.RandomNormal(stddev=self.init_stddev)
        elif self.initializer == "lecun1998":
            options["kernel_initializer"] = FanInUniform()
        elif self.initializer is not None:
            options["kernel_initializer"] = keras.initializers.get(self.initializer)
        if self.weight_decay:
            options["kernel_regularizer"] = keras.regularizers.L2(self.weight_decay / 2)
        return options

    def warmup_steps(self, steps):
        """One-cycle warm-up length for a run of `steps` steps: `warmup_fraction` of them, but at least
        `min_warmup_steps` (or half the run, if that is shorter)."""
        return max(int(self.warmup_fraction * steps), min(self.min_warmup_steps, steps // 2))

    def learning_rate_schedule(self, steps):
        """The learning rate over `steps` steps in all (see SCHEDULES)."""
        if self.schedule == "constant":
            return self.learning_rate
        if self.schedule == "one-cycle":
            warmup = self.warmup_steps(steps)
            return keras.optimizers.schedules.CosineDecay(
                self.learning_rate / 25,
                decay_steps=steps - warmup,
                warmup_target=self.learning_rate,
                warmup_steps=warmup,
            )
        if self.schedule == "step":
            if (
                not self.decay_at
                or len(self.decay_at) != len(self.decay_to)
                or list(self.decay_at) != sorted(set(self.decay_at))
                or not 0 < self.decay_at[0] <= self.decay_at[-1] < 1
            ):
                raise ValueError(
                    f"{self.network}: a step schedule needs increasing decay_at fractions in (0, 1) "
                    f"and one decay_to multiple each. Received: decay_at={self.decay_at}, "
                    f"decay_to={self.decay_to}"
                )
            # PiecewiseConstantDecay keeps values[i] while the step count is <= boundaries[i]: the drop at
            # fraction f of the run applies from the update that follows round(f * steps) updates.
            boundaries = [round(fraction * steps) - 1 for fraction in self.decay_at]
            values = [self.learning_rate] + [self.learning_rate * multiple for multiple in self.decay_to]
            return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
        raise ValueError(
            f"unknown schedule {self.schedule!r}. Known: {', '.join(SCHEDULES)}. Received: schedule={self.schedule!r}"
        )

    def make_optimizer(self, steps):
        """The optimizer for `steps` training steps in all."""
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}. Known: {', '.join(OPTIMIZERS)}. "
                f"Received: optimizer={self.optimizer!r}"
            )
        return OPTIMIZERS[self.optimizer](self, self.learning_rate_schedule(steps))

    def make_loss(self):
        """The Keras loss; cross-entropy takes one-hot labels when label smoothing is on (`one_hot_labels`)."""
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}. Known: {', '.join(LOSSES)}. Received: loss={self.loss!r}")
        return LOSSES[self.loss](self)

    def make_metrics(self):
        """The Keras metrics for `compile`: METRICS' objects for their names, the other names as they are."""
        return [METRICS[name]() if name in METRICS else name for name in self.metrics]

    @property
    def one_hot_labels(self):
        """Whether the pipeline must give one-hot labels (Keras' label smoothing needs them)."""
        return self.label_smoothing > 0


@keras.saving.register_keras_serializable(package="cnnlab")
class FanInUniform(keras.initializers.Initializer):
    """LeCun et al. (1998), appendix C: weights uniform in +-2.4 / F_in, F_in the unit's fan-in."""

    def __call__(self, shape, dtype=None):
        limit = 2.4 / math.prod(shape[:-1])
        return keras.random.uniform(shape, -limit, limit, dtype=dtype)


SCHEDULES = {
    "constant": "learning_rate throughout",
    "one-cycle": "linear warm-up from learning_rate / 25 to learning_rate, then a cosine down to 0",
    "step": "learning_rate, multiplied by decay_to[i] after the fraction decay_at[i] of all steps",
}
OPTIMIZERS = {  # name -> f(recipe, learning rate or schedule)
    "sgd": lambda recipe, rate: keras.optimizers.SGD(rate),
    "momentum": lambda recipe, rate: keras.optimizers.SGD(rate, momentum=recipe.momentum),
    "nesterov": lambda recipe, rate: keras.optimizers.SGD(rate, momentum=0.9, nesterov=True),
    "adam": lambda recipe, rate: keras.optimizers.Adam(rate),
    "adamw": lambda recipe, rate: keras.optimizers.AdamW(rate, weight_decay=1e-4),
}
LOSSES = {
    "crossentropy": lambda recipe: (
        keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
        if recipe.one_hot_labels
        else keras.losses.SparseCategoricalCrossentropy()
    ),
    "binary_crossentropy": lambda recipe: keras.losses.BinaryCrossentropy(),  # one sigmoid per pixel
}
METRICS = {  # name -> a new Keras metric, for what a name string cannot say
    "pixel_accuracy": lambda: keras.metrics.BinaryAccuracy(name="accuracy"),
    "membrane_iou": lambda: keras.metrics.BinaryIoU(target_class_ids=[0], name="membrane_iou"),
}

# The lecture: SGD, learning rate 1e-2, mini-batch 128, lambda 1e-2, Gaussian init sigma 0.1.
LECTURE = dict(batch_size=128, optimizer="sgd", learning_rate=1e-2, weight_decay=1e-2, init_stddev=0.1)

# LeCun et al. 1998 (sec. III-C, appendix C): 20 passes over MNIST padded to 32 x 32, no distortions, 0.95% test
# error; per-pattern updates with the stochastic diagonal Levenberg-Marquardt method (SDLM, not in Keras): a step
# size eta / (mu + h_kk) per weight from a running estimate of the Hessian's diagonal, global eta 5e-4 for 2
# passes, 2e-4 for 3, 1e-4 for 3, 5e-5 for 4, 1e-5 after; init uniform in +-2.4 / fan-in; a MAP loss on the RBF
# outputs. Approximated here: the same passes, init and relative rate steps (1, 0.4, 0.2, 0.1, 0.02 after passes
# 2, 5, 8, 12); Adam, another per-weight step size (from the squared gradients), stands in for SDLM, with our
# base rate 1e-3 on mini-batches of 32 instead of single patterns; softmax cross-entropy over the RBF scores is
# the MAP loss without its rejection term.
LENET_PAPER = dict(
    batch_size=32,
    optimizer="adam",
    learning_rate=1e-3,
    schedule="step",
    decay_at=(2 / 20, 5 / 20, 8 / 20, 12 / 20),
    decay_to=(0.4, 0.2, 0.1, 0.02),
    initializer="lecun1998",
    pad_to=32,
    target_from="LeCun et al. 1998's",
)

# Ours: one-cycle SGD with Nesterov momentum, LeCun's 1/sqrt(fan-in) init (lecun_uniform: the paper's 2.4 / fan-in
# shrinks the signal about tenfold per layer, which only its per-weight steps made up for) and random shifts.
# Measured while choosing it (seed 0): with the paper's init, peak rate 0.01 diverged at epoch 3 of 12 and 0.03
# was at 30% error after 2 epochs (the RBF scores then in bfloat16); label smoothing 0.1 cost accuracy (2.89%
# against 2.32% after 2 epochs at 0.01); with this recipe for 12 epochs, 0.98% with shifts, 1.06% without
# (training accuracy 99.9%: overfitting); Adam one-cycle to 3e-3 instead gave 1.00%.
LENET_FAST = dict(
    epochs=20,
    batch_size=128,
    optimizer="nesterov",
    learning_rate=0.02,
    schedule="one-cycle",
    min_warmup_steps=90,
    augment="translate",
    initializer="lecun_uniform",
    pad_to=32,
    target_from="LeCun et al. 1998's",
)

# He et al. 2016, sec. 4.2 (CIFAR-10): SGD momentum 0.9, lr 0.1 divided by 10 at 32k and 48k of 64k iterations
# (164 epochs of 391 batches of 128: 64,124 iterations), weight decay 1e-4, He init ("as in [13]"), 4-pixel pad
# + random 32 x 32 crop + horizontal flip. Test errors: ResNet-20 8.75%, ResNet-56 6.97%; the plain nets have no
# test-error row (Fig. 6 shows them above the ResNets), so they get their ResNet's figure as the target.
RESNET_PAPER = dict(
    epochs=164,
    batch_size=128,
    optimizer="momentum",
    learning_rate=0.1,
    schedule="step",
    decay_at=(0.5, 0.75),
    decay_to=(0.1, 0.01),
    weight_decay=1e-4,
    initializer="he_normal",
    augment="flip-crop",
    target_from="He et al. 2016's",
)
# Ours: one-cycle with Nesterov momentum and label smoothing, as for convnet-cifar10, for 30 epochs. Measured on
# the course's CPU (seed 0, bfloat16, 75 s per epoch): ResNet-20 ends at 9.79% (9.22% in 40 epochs), missing
# 8.75%; the other three networks were not run (docs/data-and-training.md).
RESNET_FAST = dict(
    epochs=30,
    batch_size=128,
    optimizer="nesterov",
    learning_rate=0.1,
    schedule="one-cycle",
    weight_decay=5e-4,
    initializer="he_normal",
    label_smoothing=0.1,
    augment="flip-crop",
    target_from="He et al. 2016's",
)

# Huang et al. 2017 (CIFAR, with augmentation "C10+"): SGD Nesterov 0.9, batch 64, 300 epochs, lr 0.1 divided by
# 10 at 50% and 75% of them, weight decay 1e-4, He init. Their smallest DenseNet-BC is depth 100, k = 12 (4.51%
# on C10+); they have no BC-40 row. Our depth-40, k = 12 DenseNet-BC (0.19M parameters) is closest to their
# DenseNet (no BC) depth 40, k = 12 (1.0M parameters, 7.00% on C10+), the target used here: a smaller network,
# so an optimistic one.
DENSENET_PAPER = dict(
    RESNET_PAPER,
    epochs=300,
    batch_size=64,
    optimizer="nesterov",
    target_from="Huang et al. 2017's (DenseNet-40, k = 12)",
)
# Ours, as for the ResNets; not run to the end either (267 s per epoch on the course's CPU).
DENSENET_FAST = dict(RESNET_FAST, epochs=40, batch_size=64, target_from="Huang et al. 2017's (DenseNet-40, k = 12)")

# The convnet's fast recipe: one epoch of one-cycle SGD with Nesterov momentum and label smoothing. Measured on the
# course's CPU (mixed_bfloat16, one epoch, 2026-12-05): batch 128, 0.78-0.97% test error (mean 0.87%, seeds 0-9;
# 0.83-0.91% in float32, seeds 0-3) in about 6.8 s; batch 256, 0.89-1.26% (mean 1.05%: seed 4 missed 1.2%) in about
# 6.4 s. Also one epoch at batch 256, seeds 0-4: no label smoothing 1.07-1.28%, batch 192 0.87-1.09%, Adam to 3e-3
# 1.01-1.21%, weight decay 5e-4 0.98-1.18%, a 45-step warm-up 0.96-1.31%, with a peak of 0.15 up to 1.69%.
CONVNET_MNIST_FAST = dict(
    epochs=1,
    batch_size=128,
    optimizer="nesterov",
    learning_rate=0.1,
    schedule="one-cycle",
    min_warmup_steps=90,
    label_smoothing=0.1,
    steps_per_execution=16,
)

RECIPES = {
    (recipe.network, recipe.name): recipe
    for recipe in [
        Recipe("convnet-mnist", "mnist", 0.012, epochs=30, name="lecture", **LECTURE),
        Recipe("convnet-mnist", "mnist", 0.012, name="fast", **CONVNET_MNIST_FAST),
        Recipe("convnet-cifar10", "cifar10", 0.28, epochs=50, name="lecture", **LECTURE),
        Recipe(
            "convnet-cifar10",
            "cifar10",
            0.28,
            epochs=10,
            batch_size=256,
            optimizer="nesterov",
            learning_rate=0.05,
            schedule="one-cycle",
            min_warmup_steps=90,
            weight_decay=5e-4,
            label_smoothing=0.1,
            augment="flip-translate",
            name="fast",
        ),
        Recipe("lenet5", "mnist", 0.0095, epochs=20, name="lecture", **LENET_PAPER),
        Recipe("lenet5", "mnist", 0.0095, name="fast", **LENET_FAST),
        *[
            Recipe(network, "cifar10", target, name=name, **options)
            for network, target in [
                ("resnet20", 0.0875),
                ("plain20", 0.0875),
                ("resnet56", 0.0697),
                ("plain56", 0.0697),
            ]
            for name, options in [("lecture", RESNET_PAPER), ("fast", RESNET_FAST)]
        ],
        Recipe("densenet-bc-cifar", "cifar10", 0.07, name="lecture", **DENSENET_PAPER),
        Recipe("densenet-bc-cifar", "cifar10", 0.07, name="fast", **DENSENET_FAST),
    ]
}

# U-Net on the ISBI 2012 membrane slices: a small U-Net (base_filters 16, same padding) on whole 512x512
# slices, one sigmoid output per pixel (cell interior), random flips and 90-degree rotations of image and
# mask. Target: the paper's pixel error on the ISBI test slices, 0.0611 (we measure it on our validation
# slices 25-29, a different set). The paper: SGD with momentum 0.99, a batch of one large tile, Gaussian
# init with std sqrt(2 / fan_in), a pixel-wise loss weighted to separate touching cells, elastic
# deformations; its learning rate is not given. "lecture" keeps the optimizer and batch and differs in the
# rest: a 16-filter same-padding U-Net instead of 64 filters and valid padding, Glorot init, no weight map,
# no elastic deformation, the learning rate below.
UNET_NETWORK = dict(input_shape=(512, 512, 1), base_filters=16, padding="same", num_classes=1)
# XLA on a GPU only: on this course's 2-core CPU it made a U-Net training step 8x slower (3.6 s instead of 0.46 s
# for two 512x512 slices, base_filters 16, bfloat16).
UNET = dict(
    task="segmentation",
    augment="dihedral",
    loss="binary_crossentropy",
    metrics=("pixel_accuracy", "membrane_iou"),
    error="pixel",
    jit_compile="gpu",
)

RECIPES.update(
    {
        ("unet", "lecture"): Recipe(
            "unet",
            "isbi2012_membrane",
            0.0611,
            epochs=40,
            batch_size=1,
            optimizer="momentum",
            momentum=0.99,
            learning_rate=1e-3,
            network_options=UNET_NETWORK,
            name="lecture",
            **UNET,
        ),
        ("unet", "fast"): Recipe(
            "unet",
            "isbi2012_membrane",
            0.0611,
            epochs=30,
            batch_size=2,
            optimizer="adamw",
            learning_rate=3e-3,
            schedule="one-cycle",
            network_options={**UNET_NETWORK, "batch_norm": True},
            name="fast",
            **UNET,
        ),
    }
)


def networks():
    """The networks that have recipes, sorted."""
    return sorted({network for network, _ in RECIPES})


def get(network, recipe="fast"):
    """The `Recipe` of `network` called `recipe` ("fast" or "lecture")."""
    if (network, recipe) not in RECIPES:
        known = ", ".join(f"{n} --recipe {r}" for n, r in RECIPES)
        raise ValueError(
            f"no recipe {recipe!r} for {network!r}. Known: {known}. Received: network={network!r}, recipe={recipe!r}"
        )
    return RECIPES[(network, recipe)]
