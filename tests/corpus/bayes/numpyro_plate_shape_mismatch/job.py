"""Hierarchical regression of store sales; the plate is sized by stores but the data are per week."""
import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

rng = np.random.default_rng(0)
n_stores, n_weeks = 20, 52
store_effect = rng.normal(0, 1, n_stores)
sales = store_effect[:, None] + rng.normal(0, 0.5, (n_stores, n_weeks))  # (stores, weeks)


def model(sales=None):
    mu = numpyro.sample("mu", dist.Normal(0, 1))
    tau = numpyro.sample("tau", dist.HalfNormal(1))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1))
    with numpyro.plate("store", n_stores):
        effect = numpyro.sample("effect", dist.Normal(mu, tau))
        with numpyro.plate("week", n_weeks):
            numpyro.sample("obs", dist.Normal(effect, sigma), obs=sales)


mcmc = MCMC(NUTS(model), num_warmup=200, num_samples=200, progress_bar=False)
mcmc.run(jax.random.PRNGKey(0), sales=sales)
mcmc.print_summary()
