"""Feature-engineering step of a training job: read the click log CSV with polars and aggregate."""
import os
import random

import polars as pl

random.seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(HERE, "clicks.csv")
with open(path, "w") as f:
    f.write("user_id,item_id,dwell_ms,clicked\n")
    for i in range(5000):
        dwell = "n/a" if i == 4321 else str(random.randint(10, 90000))   # the exporter wrote n/a once
        f.write(f"{random.randint(1, 300)},{random.randint(1, 2000)},{dwell},{random.random() < 0.1:d}\n")
try:
    df = pl.read_csv(path)
    feats = df.group_by("user_id").agg(pl.col("dwell_ms").mean().alias("mean_dwell"), pl.col("clicked").sum())
    print(feats.describe())
finally:
    os.remove(path)
