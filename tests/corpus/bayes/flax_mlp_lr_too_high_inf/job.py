"""Flax MLP regression on unscaled targets trained with SGD; learning rate copied from a scaled setup."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn

rng = np.random.default_rng(0)
X = rng.normal(size=(512, 8)).astype(np.float32)
y = (X @ rng.normal(size=8) * 1000.0 + 5000.0).astype(np.float32)  # prices in dollars, unscaled


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(64)(x))
        x = nn.relu(nn.Dense(64)(x))
        return nn.Dense(1)(x).squeeze(-1)


model = MLP()
params = model.init(jax.random.PRNGKey(0), X[:1])
tx = optax.sgd(learning_rate=1e-3, momentum=0.9)
opt_state = tx.init(params)


@jax.jit
def train_step(params, opt_state, x, y):
    def loss_fn(p):
        return jnp.mean((model.apply(p, x) - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


for step in range(0, 101):
    params, opt_state, loss = train_step(params, opt_state, X, y)
    if step < 10 or step % 10 == 0:
        print(f"step {step} loss={float(loss):.6g}")
print("training finished")
