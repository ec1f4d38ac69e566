"""Straight-line fit with underestimated errors (the emcee tutorial model), with progress bar."""
import emcee
import numpy as np

rng = np.random.default_rng(123)
m_true, b_true, f_true = -0.9594, 4.294, 0.534
N = 50
x = np.sort(10 * rng.random(N))
yerr = 0.1 + 0.5 * rng.random(N)
y = m_true * x + b_true
y += np.abs(f_true * y) * rng.normal(size=N)
y += yerr * rng.normal(size=N)


def log_prob(theta):
    m, b, log_f = theta
    if not (-5.0 < m < 0.5 and 0.0 < b < 10.0 and -10.0 < log_f < 1.0):
        return -np.inf
    model = m * x + b
    sigma2 = yerr ** 2 + model ** 2 * np.exp(2 * log_f)
    return -0.5 * np.sum((y - model) ** 2 / sigma2 + np.log(sigma2))


pos = np.array([-1.0, 4.0, np.log(0.5)]) + 1e-4 * rng.normal(size=(32, 3))
sampler = emcee.EnsembleSampler(32, 3, log_prob)
sampler.run_mcmc(pos, 3000, progress=True)

tau = sampler.get_autocorr_time()
print("autocorrelation time:", np.round(tau, 1))
flat = sampler.get_chain(discard=100, thin=15, flat=True)
print("flat samples:", flat.shape)
for name, col in zip(["m", "b", "log_f"], flat.T):
    q = np.percentile(col, [16, 50, 84])
    print(f"{name} = {q[1]:.3f} +{q[2] - q[1]:.3f} -{q[1] - q[0]:.3f}")
print(f"mean acceptance fraction: {np.mean(sampler.acceptance_fraction):.3f}")
resid = y - (np.median(flat[:, 0]) * x + np.median(flat[:, 1]))
print(f"mean_squared_error of median fit: {np.mean(resid ** 2):.3f}  (error bars underestimated by f)")
