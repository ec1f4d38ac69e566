"""emcee posterior for a linear trend; walkers initialised at the least-squares solution."""
import emcee
import numpy as np

rng = np.random.default_rng(0)
x = np.sort(rng.uniform(0, 10, 50))
y = 2.0 * x + 1.0 + rng.normal(0, 1.0, 50)

A = np.vstack([x, np.ones_like(x)]).T
w_ls = np.linalg.lstsq(A, y, rcond=None)[0]
print("least squares:", w_ls)


def log_prob(theta):
    m, b = theta
    return -0.5 * np.sum((y - (m * x + b)) ** 2)


nwalkers, ndim = 32, 2
p0 = np.tile(w_ls, (nwalkers, 1))  # every walker at the same point
sampler = emcee.EnsembleSampler(nwalkers, ndim, log_prob)
sampler.run_mcmc(p0, 1000, progress=True)
print(sampler.get_chain(flat=True).mean(axis=0))
