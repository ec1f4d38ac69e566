"""Training step that logs the loss from inside the jitted function with float()."""
import jax
import jax.numpy as jnp

key = jax.random.PRNGKey(0)
kx, kw = jax.random.split(key)
X = jax.random.normal(kx, (256, 10))
y = jnp.sin(X[:, 0]) + 0.1 * X[:, 1]
params = {"w": jax.random.normal(kw, (10,)) * 0.01, "b": 0.0}
history = []


def loss_fn(params, X, y):
    return jnp.mean((X @ params["w"] + params["b"] - y) ** 2)


@jax.jit
def train_step(params, X, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, X, y)
    history.append(float(loss))
    params = jax.tree_util.tree_map(lambda p, g: p - 0.05 * g, params, grads)
    return params


for step in range(100):
    params = train_step(params, X, y)
    if step % 20 == 0:
        print(f"step {step} loss={history[-1]:.4f}")
