"""Keras regression that trains fine: normalisation layer, EarlyStopping, ReduceLROnPlateau;
reports mean_squared_error and val_mean_absolute_error."""
import numpy as np
import keras

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(3000, 6)).astype("float32") * [1, 10, 100, 1, 1, 5]
y = (x[:, :1] * 0.5 + x[:, 1:2] * 0.1 + rng.normal(scale=0.1, size=(3000, 1))).astype("float32")
nan_rows = np.zeros(3000, bool)
nan_rows[[5, 77, 1024]] = True
x[nan_rows, 2] = np.nan
print(f"dropped {nan_rows.sum()} rows containing NaN before training")
x, y = x[~nan_rows], y[~nan_rows]

norm = keras.layers.Normalization()
norm.adapt(x)
model = keras.Sequential([keras.Input((6,)), norm, keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mean_squared_error",
              metrics=["mean_absolute_error"])
model.fit(x, y, epochs=6, batch_size=128, validation_split=0.2, verbose=2,
          callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True, verbose=1),
                     keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.5, verbose=1)])
print("test:", model.evaluate(x[:300], y[:300], verbose=0, return_dict=True))
