"""Binary classifier (Flax + Optax Adam) on sensor features; some sensor readings are missing (NaN)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from tqdm import tqdm

rng = np.random.default_rng(1)
X = rng.normal(size=(2000, 12)).astype(np.float32)
labels = (X[:, 0] + X[:, 3] > 0).astype(np.int32)
X[rng.choice(2000, 25, replace=False), 5] = np.nan  # sensor 5 dropped out


class Classifier(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.gelu(nn.Dense(32)(x))
        return nn.Dense(2)(x)


model = Classifier()
params = model.init(jax.random.PRNGKey(0), X[:1])
tx = optax.adam(1e-3)
opt_state = tx.init(params)


@jax.jit
def train_step(params, opt_state, x, y):
    def loss_fn(p):
        logits = model.apply(p, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits

    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state)
    acc = jnp.mean(jnp.argmax(logits, -1) == y)
    return optax.apply_updates(params, updates), opt_state, loss, acc


batch = 100
for epoch in range(3):
    perm = rng.permutation(2000)
    bar = tqdm(range(0, 2000, batch), desc=f"epoch {epoch}")
    for start in bar:
        idx = perm[start:start + batch]
        params, opt_state, loss, acc = train_step(params, opt_state, X[idx], labels[idx])
        bar.set_postfix(loss=f"{float(loss):.4f}", acc=f"{float(acc):.3f}")
    print(f"epoch {epoch} done: last batch loss={float(loss):.4f} acc={float(acc):.3f}")
