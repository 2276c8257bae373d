"""Training recipes: the lecture's hyperparameters (`"lecture"`) and a faster one (`"fast"`) per network.

A recipe is data: dataset, batch size, epochs, optimizer and schedule, init, regularization, label
smoothing, augmentation, and the slide's figure it must reproduce.

How the lecture's regularization lambda maps to Keras: the lecture's loss is mean cross-entropy +
(lambda / 2) * sum(w ** 2) over the conv/fc kernels (not the biases), so that the SGD update is
w <- w - lr * (grad + lambda * w), i.e. lambda is the weight decay. Keras' `L2(l2)` adds
l2 * sum(w ** 2), hence `L2(lambda / 2)`.
"""

import dataclasses

import keras


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to train one network; `target_error` is the slide's test error (a fraction)."""

    network: str
    dataset: str
    target_error: float
    epochs: int
    batch_size: int = 128
    optimizer: str = "sgd"  # "sgd" (plain), "nesterov" (momentum 0.9), "momentum" (SGD, `momentum`) or "adamw"
    learning_rate: float = 1e-2
    schedule: str = "constant"  # "constant" or "one-cycle" (linear warm-up, then cosine decay to 0)
    warmup_fraction: float = 0.2  # one-cycle: fraction of all steps spent warming up
    weight_decay: float = 0.0  # lambda, as an L2 penalty (see the module docstring)
    init_stddev: float | None = None  # Gaussian init sigma; None keeps the builder's default (Glorot)
    label_smoothing: float = 0.0
    augment: str = "none"  # cnnlab.data.preprocessing.AUGMENTATIONS; segmentation: cnnlab.data.segmentation's
    validation: int = 0  # training images held out for validation (the last ones)
    task: str = "classification"  # or "segmentation": image/mask pipeline, per-pixel loss, pixel error
    network_options: dict = dataclasses.field(default_factory=dict)  # passed to models.build
    momentum: float = 0.9  # of the "momentum" optimizer

    def kernel_options(self):
        """`kernel_initializer` and `kernel_regularizer` for the builder.

        The initializer is unseeded on purpose: `keras.utils.set_random_seed` makes it reproducible,
        while a fixed seed would give every layer of the same shape prefix the same start values.
        """
        options = {}
        if self.init_stddev is not None:
            options["kernel_initializer"] = keras.initializers.RandomNormal(stddev=self.init_stddev)
        if self.weight_decay:
            options["kernel_regularizer"] = keras.regularizers.L2(self.weight_decay / 2)
        return options

    def learning_rate_schedule(self, steps):
        """The learning rate: a constant, or for "one-cycle" a schedule over `steps` steps in all that
        rises linearly from learning_rate / 25 to learning_rate, then follows a cosine down to 0."""
        if self.schedule == "constant":
            return self.learning_rate
        if self.schedule != "one-cycle":
            raise ValueError(f"unknown schedule {self.schedule!r}; use 'constant' or 'one-cycle'")
        warmup = int(self.warmup_fraction * steps)
        return keras.optimizers.schedules.CosineDecay(self.learning_rate / 25, decay_steps=steps - warmup,
                                                      warmup_target=self.learning_rate, warmup_steps=warmup)

    def make_optimizer(self, steps):
        """The optimizer for `steps` training steps in all."""
        rate = self.learning_rate_schedule(steps)
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(rate)
        if self.optimizer == "nesterov":
            return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True)
        if self.optimizer == "momentum":
            return keras.optimizers.SGD(rate, momentum=self.momentum)
        if self.optimizer == "adamw":
            return keras.optimizers.AdamW(rate, weight_decay=1e-4)
        raise ValueError(f"unknown optimizer {self.optimizer!r}; use 'sgd', 'nesterov', 'momentum' or 'adamw'")


# The lecture: SGD, learning rate 1e-2, mini-batch 128, lambda 1e-2, Gaussian init sigma 0.1.
LECTURE = dict(batch_size=128, optimizer="sgd", learning_rate=1e-2, weight_decay=1e-2, init_stddev=0.1)

RECIPES = {
    ("convnet-mnist", "lecture"): Recipe("convnet-mnist", "mnist", 0.012, epochs=30, **LECTURE),
    ("convnet-mnist", "fast"): Recipe("convnet-mnist", "mnist", 0.012, epochs=2, batch_size=256,
                                      optimizer="nesterov", learning_rate=0.1, schedule="one-cycle",
                                      label_smoothing=0.1),
    ("convnet-cifar10", "lecture"): Recipe("convnet-cifar10", "cifar10", 0.28, epochs=50, **LECTURE),
    ("convnet-cifar10", "fast"): Recipe("convnet-cifar10", "cifar10", 0.28, epochs=10, batch_size=256,
                                        optimizer="nesterov", learning_rate=0.05, schedule="one-cycle",
                                        weight_decay=5e-4, label_smoothing=0.1, augment="flip-translate"),
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
UNET = dict(task="segmentation", augment="dihedral")

RECIPES.update({
    ("unet", "lecture"): Recipe("unet", "isbi2012_membrane", 0.0611, epochs=40, batch_size=1, optimizer="momentum",
                                momentum=0.99, learning_rate=1e-3, network_options=UNET_NETWORK, **UNET),
    ("unet", "fast"): Recipe("unet", "isbi2012_membrane", 0.0611, epochs=30, batch_size=2, optimizer="adamw",
                             learning_rate=3e-3, schedule="one-cycle",
                             network_options={**UNET_NETWORK, "batch_norm": True}, **UNET),
})


def get(network, recipe="fast"):
    """The `Recipe` of `network` called `recipe` ("fast" or "lecture")."""
    if (network, recipe) not in RECIPES:
        known = ", ".join(f"{n} --recipe {r}" for n, r in RECIPES)
        raise ValueError(f"no recipe {recipe!r} for {network!r}. Known: {known}. "
                         f"Received: network={network!r}, recipe={recipe!r}")
    return RECIPES[(network, recipe)]
