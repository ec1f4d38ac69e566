"""Fit an XGBoost churn classifier, then score this week's batch."""
import numpy as np
import pandas as pd
from xgboost import XGBClassifier

rng = np.random.default_rng(0)
n = 800
train = pd.DataFrame({
    "age": rng.integers(18, 80, n),
    "tenure_months": rng.integers(0, 120, n),
    "monthly_charges": rng.normal(70, 25, n),
    "num_tickets": rng.poisson(2, n),
})
y = (train["num_tickets"] + rng.normal(0, 1, n) > 2.5).astype(int)

model = XGBClassifier(n_estimators=30, max_depth=3, learning_rate=0.2)
model.fit(train, y, eval_set=[(train, y)], verbose=10)
print("trained on columns:", list(train.columns))

# the scoring batch comes from a different export: a column was renamed
batch = train.sample(50, random_state=1).rename(columns={"tenure_months": "tenure"})
batch = batch[["age", "tenure", "monthly_charges", "num_tickets"]]
print("scoring columns:", list(batch.columns))
proba = model.predict_proba(batch)[:, 1]
print("mean churn probability:", proba.mean())
