"""Eight schools, centered parameterization, sampled with PyMC's NUTS."""
import numpy as np
import pymc as pm

y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
sigma = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])

with pm.Model() as model:
    mu = pm.Normal("mu", 0, 5)
    tau = pm.HalfCauchy("tau", 5)
    theta = pm.Normal("theta", mu, tau, shape=8)
    pm.Normal("obs", theta, sigma, observed=y)
    idata = pm.sample(draws=300, tune=200, chains=2, cores=2, random_seed=1)

print("mean tau:", float(idata.posterior["tau"].mean()))
print("divergent transitions:", int(idata.sample_stats["diverging"].sum()))
