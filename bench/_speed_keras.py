"""The tutorials' own Keras code for bench/speed.py, run in bench/.tf-venv (tensorflow-cpu), one model per
process: ``python _speed_keras.py MODEL DATA.npy BATCH EPOCHS THREADS`` prints one JSON line with the
seconds of each epoch (``model.fit``, shuffled, the first epoch includes tracing).

Architectures as in the Keras blog "Building autoencoders in Keras" (dense, deep, conv 16-8-8, denoising
32-32, sequence-to-sequence LSTM) and its VAE, with the sizes bench/speed.py states; Adam, lr 1e-3.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
name, path, batch, epochs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
import keras  # noqa: E402
from keras import layers  # noqa: E402

x = np.load(path)


def conv_model(filters):
    inp = keras.Input((28, 28, 1))
    h = inp
    for f in filters:
        h = layers.Conv2D(f, 3, activation="relu", padding="same")(h)
        h = layers.MaxPooling2D(2, padding="same")(h)
    for f in reversed(filters):
        h = layers.Conv2D(f, 3, activation="relu", padding="same")(h)
        h = layers.UpSampling2D(2)(h)
    if filters == [16, 8, 8]:  # the blog's 4 -> 8 -> 16 -> 32 needs one 'valid' conv to land on 28
        h = layers.Cropping2D(2)(h)
    out = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(h)
    return keras.Model(inp, out)


class VAE(keras.Model):
    """The keras.io VAE example's train_step with a 784-64-2 dense encoder and decoder."""

    def __init__(self):
        super().__init__()
        inp = keras.Input((784,))
        h = layers.Dense(64, activation="relu")(inp)
        self.encoder = keras.Model(inp, [layers.Dense(2)(h), layers.Dense(2)(h)])
        zin = keras.Input((2,))
        self.decoder = keras.Model(
            zin, layers.Dense(784, activation="sigmoid")(layers.Dense(64, activation="relu")(zin))
        )
        # Keras 3 logs its own (empty) 'loss' tracker over a custom train_step's return: the example's own
        # Mean tracker carries the loss that is reported
        self.vae_loss = keras.metrics.Mean(name="vae_loss")

    @property
    def metrics(self):
        return [self.vae_loss]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            mu, logvar = self.encoder(data)
            z = mu + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mu))
            rec = self.decoder(z)
            rec_loss = tf.reduce_mean(
                tf.reduce_sum(keras.losses.binary_crossentropy(data[..., None], rec[..., None]), axis=1)
            )
            kl = tf.reduce_mean(-0.5 * tf.reduce_sum(1 + logvar - mu**2 - tf.exp(logvar), axis=1))
            loss = rec_loss + kl
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.vae_loss.update_state(loss)
        return {"vae_loss": self.vae_loss.result()}


if name in ("dense", "deep"):
    inp = keras.Input((784,))
    sizes = [32] if name == "dense" else [128, 64, 32]
    h = inp
    for s in sizes:
        h = layers.Dense(s, activation="relu")(h)
    for s in reversed(sizes[:-1]):
        h = layers.Dense(s, activation="relu")(h)
    model = keras.Model(inp, layers.Dense(784, activation="sigmoid")(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    xin, target = x, x
elif name in ("conv", "denoise"):
    model = conv_model([16, 8, 8] if name == "conv" else [32, 32])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    target = np.transpose(x, (0, 2, 3, 1))  # (N, 28, 28, 1)
    # the tutorial adds the noise once, before training
    xin = (
        target
        if name == "conv"
        else np.clip(target + 0.5 * np.random.default_rng(0).standard_normal(target.shape).astype(np.float32), 0, 1)
    )
elif name == "vae":
    model = VAE()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    xin, target = x, None
else:  # lstm: LSTM(64) -> RepeatVector(50) -> LSTM(64, return_sequences) -> Dense(50), as aekit's model
    inp = keras.Input((50, 50))
    z = layers.Dense(64)(layers.LSTM(64)(inp))
    h = layers.LSTM(64, return_sequences=True)(layers.RepeatVector(50)(z))
    model = keras.Model(inp, layers.TimeDistributed(layers.Dense(50))(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    xin, target = x, x


class Times(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        times.append(time.perf_counter() - self.t0)
        losses.append(float(logs["vae_loss"] if "vae_loss" in logs else logs["loss"]))


times, losses = [], []
model.fit(xin, target, batch_size=batch, epochs=epochs, shuffle=True, verbose=0, callbacks=[Times()])
print(
    json.dumps(
        {
            "params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
            "epoch_s": [round(t, 4) for t in times],
            "loss": losses[-1],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        }
    )
)
