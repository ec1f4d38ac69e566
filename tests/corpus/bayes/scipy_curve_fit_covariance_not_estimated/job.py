"""Fit a logistic growth curve to cumulative case counts; initial guess taken from another region."""
import numpy as np
from scipy.optimize import curve_fit

rng = np.random.default_rng(1)
days = np.arange(60, dtype=float)
cases = 5000 / (1 + np.exp(-0.2 * (days - 35))) + rng.normal(0, 50, days.size)


def logistic(t, K, r, t0):
    return K / (1 + np.exp(-r * (t - t0)))


print(f"fitting {days.size} points")
popt, pcov = curve_fit(logistic, days, cases, p0=[1.0, 50.0, 200.0])
print("K, r, t0 =", popt)
print("parameter std errors:", np.sqrt(np.diag(pcov)))
