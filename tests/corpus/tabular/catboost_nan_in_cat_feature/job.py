"""CatBoost model with a categorical 'region' column that has gaps in the export."""
import numpy as np
import pandas as pd
from catboost import CatBoostClassifier

rng = np.random.default_rng(2)
n = 500
df = pd.DataFrame({
    "region": rng.choice(["north", "south", "east", "west"], n),
    "plan": rng.choice(["basic", "pro"], n),
    "usage_gb": rng.gamma(2, 10, n),
})
df.loc[rng.choice(n, 15, replace=False), "region"] = np.nan   # missing in the source system
y = (df["usage_gb"] > 20).astype(int)
print(df.isna().sum().to_string())

model = CatBoostClassifier(iterations=100, depth=4, learning_rate=0.1, verbose=25,
                           allow_writing_files=False)
model.fit(df, y, cat_features=["region", "plan"])
print("trained", model.tree_count_, "trees")
