"""Learning curves: loss and error per epoch, training and validation."""

import matplotlib.pyplot as plt


def learning_curves(history, target_error=None, title=None):
    """Loss and error (1 - accuracy) per epoch from a Keras `History.history` dict.

    Validation curves are drawn when the history has them; `target_error` (a fraction, e.g. the
    slide's 0.012) is drawn as a dashed line on the error plot.
    """
    if "loss" not in history:
        raise ValueError(f"expected a Keras history with a 'loss' entry. Received keys: {sorted(history)}")
    epochs = range(1, len(history["loss"]) + 1)
    figure, (loss_axes, error_axes) = plt.subplots(1, 2, figsize=(9, 3.5))
    for prefix, label in (("", "train"), ("val_", "validation")):
        if f"{prefix}loss" in history:
            loss_axes.plot(epochs, history[f"{prefix}loss"], marker=".", label=label)
        if f"{prefix}accuracy" in history:
            error_axes.plot(epochs, [100 * (1 - a) for a in history[f"{prefix}accuracy"]], marker=".", label=label)
    if target_error is not None:
        error_axes.axhline(100 * target_error, color="gray", linestyle="--", label="slide")
    loss_axes.set(xlabel="epoch", ylabel="loss", title="loss")
    error_axes.set(xlabel="epoch", ylabel="error (%)", title="error", yscale="log")
    for axes in (loss_axes, error_axes):
        axes.legend()
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
