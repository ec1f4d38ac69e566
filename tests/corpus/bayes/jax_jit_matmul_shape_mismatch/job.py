"""Linear model trained with plain JAX gradient descent; weight matrix built with the wrong shape."""
import jax
import jax.numpy as jnp

key = jax.random.PRNGKey(0)
k1, k2, k3 = jax.random.split(key, 3)
n_features, n_out = 16, 4
X = jax.random.normal(k1, (256, n_features))
Y = jax.random.normal(k2, (256, n_out))

# bug: (n_out, n_features) instead of (n_features, n_out)
params = {"W": jax.random.normal(k3, (n_out, n_features)) * 0.1, "b": jnp.zeros(n_out)}


def loss_fn(params, x, y):
    pred = jnp.dot(x, params["W"]) + params["b"]
    return jnp.mean((pred - y) ** 2)


@jax.jit
def update(params, x, y, lr=0.1):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, loss


for step in range(100):
    params, loss = update(params, X, Y)
    if step % 10 == 0:
        print(f"step {step} loss={float(loss):.4f}")
