"""Two-component Gaussian mixture fit with PyMC; posterior summarized with ArviZ."""
import arviz as az
import numpy as np
import pymc as pm

rng = np.random.default_rng(42)
data = np.concatenate([rng.normal(-2, 1, 150), rng.normal(3, 1, 150)])

with pm.Model() as model:
    w = pm.Dirichlet("w", a=np.ones(2))
    mu = pm.Normal("mu", 0, 5, shape=2)
    sd = pm.HalfNormal("sd", 2, shape=2)
    pm.NormalMixture("x", w=w, mu=mu, sigma=sd, observed=data)
    idata = pm.sample(draws=300, tune=300, chains=2, cores=2, random_seed=1,
                      progressbar=False, compute_convergence_checks=False)

print(az.summary(idata, var_names=["w", "mu", "sd"]).to_string())
