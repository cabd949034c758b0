"""Recomputing a block in the backward pass (gradient checkpointing, `keras.remat`), dropout masks included."""

import keras


class _DrawnSeed(keras.random.SeedGenerator):
    """A seed drawn before the recomputed call: ``next()`` returns it every time, so both passes drop alike."""

    def __init__(self, seed):  # no state variable: nothing to update inside the checkpoint
        self.seed = seed

    def next(self, ordered=True):
        return self.seed


class RecomputedBlock:
    """Mixin for a block created inside a `keras.RematScope`: its activations are recomputed in the backward pass.

    Keras' own rematerialized call hands every argument to ``jax.checkpoint`` / ``tf.recompute_grad``, which
    turns the Python flag ``training`` into a traced value (JAX) or rejects keyword arguments (TF graphs);
    and a dropout layer would draw its seed inside the checkpoint: a leaked tracer on JAX, a second, different
    mask in TF's recomputation (silently wrong gradients). Here keyword arguments stay Python values, and each
    active dropout layer's seed is drawn once outside and passed in, so the outputs, gradients and seed states
    equal those of the plain call.
    """

    def rematerialized_call(self, layer_call, *args, **kwargs):
        def call(*tensors, **options):
            training = options.get("training")
            dropouts = [layer for layer in self._flatten_layers(include_self=False)
                        if training and isinstance(layer, keras.layers.Dropout) and layer.rate > 0]
            seeds = [layer.seed_generator.next() for layer in dropouts]

            def forward(*inputs):
                generators = [layer.seed_generator for layer in dropouts]
                for layer, seed in zip(dropouts, inputs[len(tensors):], strict=True):
                    object.__setattr__(layer, "seed_generator", _DrawnSeed(seed))  # untracked: only for this call
                try:
                    return layer_call(*inputs[:len(tensors)], **options)
                finally:
                    for layer, generator in zip(dropouts, generators, strict=True):
                        object.__setattr__(layer, "seed_generator", generator)

            return keras.remat(forward)(*tensors, *seeds)

        return call
