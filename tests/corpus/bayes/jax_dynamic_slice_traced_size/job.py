"""Mini-batch SGD where the batch is sliced inside a jitted function using a traced batch size."""
import jax
import jax.numpy as jnp

key = jax.random.PRNGKey(0)
X = jax.random.normal(key, (1000, 8))
true_w = jnp.arange(8.0)
y = X @ true_w


@jax.jit
def sgd_step(w, X, y, start, batch_size):
    xb = jax.lax.dynamic_slice(X, (start, 0), (batch_size, X.shape[1]))
    yb = jax.lax.dynamic_slice(y, (start,), (batch_size,))
    g = jax.grad(lambda w: jnp.mean((xb @ w - yb) ** 2))(w)
    return w - 0.05 * g


w = jnp.zeros(8)
batch_size = 32
for epoch in range(3):
    for start in range(0, 1000 - batch_size, batch_size):
        w = sgd_step(w, X, y, start, batch_size)
    print(f"epoch {epoch} mse={float(jnp.mean((X @ w - y) ** 2)):.5f}")
