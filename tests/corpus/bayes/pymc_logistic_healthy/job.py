"""Bayesian logistic regression on a synthetic churn data set; evaluates classification error."""
import arviz as az
import numpy as np
import pymc as pm

rng = np.random.default_rng(123)
n = 400
tenure = rng.normal(0, 1, n)
tickets = rng.normal(0, 1, n)
logit = -0.5 - 1.2 * tenure + 0.8 * tickets
churn = rng.binomial(1, 1 / (1 + np.exp(-logit)))

with pm.Model() as model:
    intercept = pm.Normal("intercept", 0, 2)
    b_tenure = pm.Normal("b_tenure", 0, 2)
    b_tickets = pm.Normal("b_tickets", 0, 2)
    p = pm.math.sigmoid(intercept + b_tenure * tenure + b_tickets * tickets)
    pm.Bernoulli("churn", p=p, observed=churn)
    idata = pm.sample(draws=500, tune=500, chains=2, cores=2, random_seed=123)

print(az.summary(idata).to_string())
post = idata.posterior
p_hat = 1 / (1 + np.exp(-(post["intercept"].mean().item()
                          + post["b_tenure"].mean().item() * tenure
                          + post["b_tickets"].mean().item() * tickets)))
error = float(np.mean((p_hat > 0.5) != churn))
print(f"train classification error: {error:.3f}")
print(f"divergences: {int(idata.sample_stats['diverging'].sum())}")
