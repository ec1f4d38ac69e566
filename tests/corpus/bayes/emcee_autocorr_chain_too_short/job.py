"""Fit a damped-oscillation model to a light curve with emcee and report autocorrelation times."""
import emcee
import numpy as np

rng = np.random.default_rng(42)
t = np.linspace(0, 10, 80)
true = (1.2, 0.3, 2.1)
y = true[0] * np.exp(-true[1] * t) * np.cos(true[2] * t) + rng.normal(0, 0.1, t.size)


def log_prob(theta):
    amp, damp, freq = theta
    if not (0 < amp < 5 and 0 < damp < 2 and 0 < freq < 5):
        return -np.inf
    model = amp * np.exp(-damp * t) * np.cos(freq * t)
    return -0.5 * np.sum((y - model) ** 2 / 0.1 ** 2)


nwalkers, ndim = 16, 3
p0 = np.array([1.0, 0.5, 2.0]) + 1e-2 * rng.normal(size=(nwalkers, ndim))
sampler = emcee.EnsembleSampler(nwalkers, ndim, log_prob)
sampler.run_mcmc(p0, 300, progress=False)
print("mean acceptance fraction:", np.mean(sampler.acceptance_fraction))
tau = sampler.get_autocorr_time()
print("autocorrelation time:", tau)
