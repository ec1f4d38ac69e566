"""Variational inference (SVI, mean-field guide) for a Poisson regression of web traffic."""
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import SVI, Trace_ELBO
from numpyro.infer.autoguide import AutoNormal

rng = np.random.default_rng(0)
hour = rng.uniform(0, 24, 1000)
visits = rng.poisson(np.exp(2.0 + 0.15 * hour))


def model(hour, visits=None):
    a = numpyro.sample("a", dist.Normal(0, 5))
    b = numpyro.sample("b", dist.Normal(0, 5))
    numpyro.sample("visits", dist.Poisson(jnp.exp(a + b * hour)), obs=visits)


guide = AutoNormal(model)
svi = SVI(model, guide, numpyro.optim.SGD(step_size=1e-4), loss=Trace_ELBO())
result = svi.run(jax.random.PRNGKey(0), 2000, hour, visits=visits)
print("final loss:", result.losses[-1])
print("posterior medians:", guide.median(result.params))
