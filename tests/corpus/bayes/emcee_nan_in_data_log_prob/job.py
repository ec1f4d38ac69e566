"""emcee fit of an exponential decay to detector counts read from a CSV with a corrupt row."""
import io

import emcee
import numpy as np

csv = io.StringIO("t,counts\n" + "\n".join(
    f"{t},{c}" for t, c in zip(range(30), np.round(800 * np.exp(-np.arange(30) / 9.0) + 20))
).replace("17,", "17,n/a#", 1))
data = np.genfromtxt(csv, delimiter=",", names=True)
t, counts = data["t"], data["counts"]
print(f"loaded {t.size} rows")


def log_prob(theta):
    log_a, log_tau, log_bg = theta
    mu = np.exp(log_a) * np.exp(-t / np.exp(log_tau)) + np.exp(log_bg)
    return np.sum(counts * np.log(mu) - mu)


rng = np.random.default_rng(0)
p0 = np.log([800.0, 9.0, 20.0]) + 1e-3 * rng.normal(size=(24, 3))
sampler = emcee.EnsembleSampler(24, 3, log_prob)
sampler.run_mcmc(p0, 2000, progress=True)
print(np.exp(np.median(sampler.get_chain(discard=500, flat=True), axis=0)))
