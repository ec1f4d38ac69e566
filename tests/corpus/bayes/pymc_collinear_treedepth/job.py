"""Regression with two nearly collinear, unscaled predictors (floor area in sqm and in sqft)."""
import numpy as np
import pymc as pm

rng = np.random.default_rng(5)
n = 100
sqm = rng.uniform(40, 160, n)
sqft = sqm * 10.7639 + rng.normal(0, 0.5, n)
price = 1500 * sqm + rng.normal(0, 20000, n)

with pm.Model() as model:
    a = pm.Normal("a", 0, 1e5)
    b_sqm = pm.Normal("b_sqm", 0, 1e4)
    b_sqft = pm.Normal("b_sqft", 0, 1e4)
    sigma = pm.HalfNormal("sigma", 5e4)
    pm.Normal("price", a + b_sqm * sqm + b_sqft * sqft, sigma, observed=price)
    idata = pm.sample(draws=300, tune=300, chains=2, cores=2, random_seed=2,
                      nuts={"max_treedepth": 6})

print(idata.posterior[["b_sqm", "b_sqft"]].mean())
