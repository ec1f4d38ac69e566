"""Gradient descent with a Huber-style loss written with Python control flow, then jitted."""
import jax
import jax.numpy as jnp

key = jax.random.PRNGKey(1)
x = jax.random.normal(key, (128,))
y = 3.0 * x + 0.5


def huber(residual, delta=1.0):
    if jnp.abs(residual) < delta:
        return 0.5 * residual ** 2
    return delta * (jnp.abs(residual) - 0.5 * delta)


def loss_fn(w, x, y):
    residuals = y - w[0] * x - w[1]
    return jnp.mean(jax.vmap(huber)(residuals))


@jax.jit
def step(w, x, y):
    g = jax.grad(loss_fn)(w, x, y)
    return w - 0.1 * g


w = jnp.zeros(2)
for i in range(50):
    w = step(w, x, y)
    if i % 10 == 0:
        print(f"iter {i} w={w}")
