"""Logistic regression on a sensor table that has missing readings."""
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline

rng = np.random.default_rng(1)
n = 300
df = pd.DataFrame({
    "temp": rng.normal(20, 5, n),
    "humidity": rng.uniform(20, 90, n),
    "vibration": rng.normal(0.5, 0.1, n),
})
df.loc[rng.choice(n, 9, replace=False), "humidity"] = np.nan   # sensor dropouts
df["fault"] = (df["vibration"] > 0.6).astype(int)
print(df.describe().T[["count", "mean"]])

pipe = make_pipeline(StandardScaler(), LogisticRegression())
pipe.fit(df[["temp", "humidity", "vibration"]], df["fault"])
print("train accuracy:", pipe.score(df[["temp", "humidity", "vibration"]], df["fault"]))
