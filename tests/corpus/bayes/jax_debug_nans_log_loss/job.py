"""Log-normal revenue regression trained with mini-batch gradient descent; NaN checking enabled."""
import jax

jax.config.update("jax_debug_nans", True)

import jax.numpy as jnp
import numpy as np

rng = np.random.default_rng(0)
n = 1024
x = rng.uniform(0, 2, size=n).astype(np.float32)
revenue = np.exp(1.0 + 0.8 * x + rng.normal(0, 0.3, size=n)).astype(np.float32)
revenue[900::37] = -revenue[900::37]  # the last month's export books refunds as negative revenue
X, y = jnp.asarray(x), jnp.asarray(revenue)


def loss_fn(params, x, y):
    a, b = params
    return jnp.mean((jnp.log(y) - (a + b * x)) ** 2)


@jax.jit
def step(params, x, y):
    loss, g = jax.value_and_grad(loss_fn)(params, x, y)
    return params - 0.1 * g, loss


params = jnp.zeros(2)
batch = 128
for epoch in range(3):
    for i, start in enumerate(range(0, n, batch)):
        params, loss = step(params, X[start:start + batch], y[start:start + batch])
        print(f"epoch {epoch} step {i} loss={float(loss):.5f}")
print("fitted", params)
