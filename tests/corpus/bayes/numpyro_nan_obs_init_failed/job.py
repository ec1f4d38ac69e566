"""Gamma regression of claim amounts with NumPyro NUTS; a few claim amounts are missing (NaN)."""
import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

rng = np.random.default_rng(3)
age = rng.uniform(18, 80, 300)
claims = rng.gamma(2.0, np.exp(5 + 0.01 * age) / 2.0)
claims[[12, 140, 233]] = np.nan  # unsettled claims exported as empty cells
print(f"{len(claims)} claims loaded, mean amount {np.nanmean(claims):.1f}")


def model(age, claims=None):
    a = numpyro.sample("a", dist.Normal(5, 2))
    b = numpyro.sample("b", dist.Normal(0, 0.1))
    shape = numpyro.sample("shape", dist.Exponential(1.0))
    rate = shape / jax.numpy.exp(a + b * age)
    numpyro.sample("claims", dist.Gamma(shape, rate), obs=claims)


mcmc = MCMC(NUTS(model), num_warmup=500, num_samples=500)
mcmc.run(jax.random.PRNGKey(0), age, claims=claims)
mcmc.print_summary()
