"""Online learning of a phishing classifier with river, evaluated progressively."""
import warnings
from river import compose, datasets, evaluate, linear_model, metrics, optim, preprocessing

warnings.simplefilter("default")

dataset = datasets.Phishing()
print(dataset)

model = compose.Pipeline(
    preprocessing.StandardScaler(),
    linear_model.LogisticRegression(optimizer=optim.SGD(0.05)),
)
metric = metrics.Accuracy() + metrics.LogLoss() + metrics.MacroF1()

evaluate.progressive_val_score(dataset, model, metric, print_every=100, show_time=True, show_memory=True)
print("final:", metric)

# held-out style check of the error rate on the last samples, the way a user would report it
err = metrics.Accuracy()
n_nan = 0
for x, y in list(datasets.Phishing())[-200:]:
    if any(v != v for v in x.values()):
        n_nan += 1
        continue
    err.update(y, model.predict_one(x))
print(f"error_rate={1 - err.get():.4f} nan_rows_skipped={n_nan} failed=0")
