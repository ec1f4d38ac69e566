"""Hierarchical model of school test scores (centered parameterization), sampled with NUTS."""
import numpyro

numpyro.set_host_device_count(2)

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

# eight schools data
y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
sigma = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def model(sigma, y=None):
    mu = numpyro.sample("mu", dist.Normal(0, 5))
    tau = numpyro.sample("tau", dist.HalfCauchy(5))
    with numpyro.plate("school", len(sigma)):
        theta = numpyro.sample("theta", dist.Normal(mu, tau))
        numpyro.sample("obs", dist.Normal(theta, sigma), obs=y)


kernel = NUTS(model, target_accept_prob=0.6, max_tree_depth=4)
mcmc = MCMC(kernel, num_warmup=60, num_samples=150, num_chains=2)
mcmc.run(jax.random.PRNGKey(3), sigma, y=y)
mcmc.print_summary()
samples = mcmc.get_samples()
print("posterior mean tau:", float(jnp.mean(samples["tau"])))
