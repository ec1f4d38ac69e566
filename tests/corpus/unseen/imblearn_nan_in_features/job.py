"""Undersample a churn table read from CSV; a lab column has blanks that became NaN."""
import io

import numpy as np
from imblearn.under_sampling import RandomUnderSampler, TomekLinks
from imblearn.pipeline import make_pipeline

rng = np.random.default_rng(0)
rows = ["tenure,monthly,support_calls,churn"]
for i in range(600):
    calls = "" if i % 53 == 0 else str(rng.integers(0, 9))
    rows.append(f"{rng.integers(1, 72)},{rng.normal(70, 20):.2f},{calls},{int(rng.random() < 0.12)}")
data = np.genfromtxt(io.StringIO("\n".join(rows)), delimiter=",", skip_header=1)
X, y = data[:, :3], data[:, 3].astype(int)
print("loaded", X.shape, "churn rate", y.mean().round(3))

sampler = make_pipeline(TomekLinks(), RandomUnderSampler(random_state=0))
X_res, y_res = sampler.fit_resample(X, y)
print("resampled", X_res.shape)
