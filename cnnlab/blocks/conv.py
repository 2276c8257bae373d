"""Basic units: conv (+BN, +activation), pooling and fully connected layers, named as the slides' rows."""

from keras import layers

from cnnlab.blocks.shapes import call_checked


def conv_unit(
    x,
    filters,
    kernel_size,
    name,
    strides=1,
    padding="same",
    activation="relu",
    batch_norm=False,
    use_bias=None,
    groups=1,
    **conv_options,
):
    """conv(kernel_size, filters) -> [BN] -> [activation].

    Layers: `name` (Conv2D), `name_bn`, `name_<activation>`. Without BN, the activation is
    fused into the conv, like Keras' VGG16. `use_bias` defaults to `not batch_norm`
    (a bias before BN is redundant). `padding` is "same" (p = (k-1)/2) or "valid".
    """
    if use_bias is None:
        use_bias = not batch_norm
    fused = activation if not batch_norm else None
    x = call_checked(
        layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            groups=groups,
            use_bias=use_bias,
            activation=fused,
            name=name,
            **conv_options,
        ),
        x,
    )
    if batch_norm:
        x = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)
        if activation is not None:
            x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def max_pool(x, pool_size, name, strides=None, padding="valid"):
    """pool(pool_size, strides): max pooling."""
    return call_checked(layers.MaxPooling2D(pool_size, strides=strides, padding=padding, name=name), x)


def avg_pool(x, pool_size, name, strides=None, padding="valid"):
    """Average pooling (DenseNet transitions, auxiliary classifiers)."""
    return call_checked(layers.AveragePooling2D(pool_size, strides=strides, padding=padding, name=name), x)


def fc(x, units, name, activation="relu", dropout=0.0, **dense_options):
    """fc(units) -> [activation] -> [dropout]. Flattens a feature map first (layer `name_flatten`)."""
    if len(x.shape) > 2:
        x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(units, activation=activation, name=name, **dense_options)(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def classifier(x, num_classes, name="fc", softmax=True, **dense_options):
    """The last fc layer, then softmax as its own layer (the slides give softmax a row).

    The softmax layer is float32 so that mixed precision training stays stable.
    """
    x = fc(x, num_classes, name=name, activation=None, **dense_options)
    if softmax:
        x = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return x
