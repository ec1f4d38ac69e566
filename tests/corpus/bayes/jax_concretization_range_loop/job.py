"""Inner-loop optimizer (several gradient steps per outer batch) jitted with the step count as an argument."""
import jax
import jax.numpy as jnp

key = jax.random.PRNGKey(0)
X = jax.random.normal(key, (512, 4))
y = X @ jnp.array([1.0, -1.0, 2.0, 0.5])


def loss_fn(w, X, y):
    return jnp.mean((X @ w - y) ** 2)


@jax.jit
def inner_optimize(w, X, y, num_inner_steps):
    for _ in range(num_inner_steps):
        w = w - 0.1 * jax.grad(loss_fn)(w, X, y)
    return w


w = jnp.zeros(4)
for outer in range(5):
    w = inner_optimize(w, X, y, 10)
    print(f"outer {outer} loss={float(loss_fn(w, X, y)):.6f}")
