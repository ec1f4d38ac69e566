"""Poisson regression of daily defect counts; the counts were delta-encoded upstream by mistake."""
import numpy as np
import pymc as pm

rng = np.random.default_rng(7)
shifts = rng.integers(0, 3, size=60)
raw_counts = rng.poisson(np.exp(1.0 + 0.4 * shifts))
counts = np.diff(raw_counts, prepend=0)  # bug in the ETL: day-over-day differences
print("counts head:", counts[:10], "min:", counts.min())

with pm.Model() as model:
    a = pm.Normal("a", 0, 2)
    b = pm.Normal("b", 0, 1)
    lam = pm.math.exp(a + b * shifts)
    pm.Poisson("defects", mu=lam, observed=counts)
    idata = pm.sample(draws=500, tune=500, chains=2, cores=2, random_seed=0)
