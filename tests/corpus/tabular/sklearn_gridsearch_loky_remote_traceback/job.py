"""Grid search over a LogisticRegression pipeline with 2 parallel workers."""
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_breast_cancer(return_X_y=True)
pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
grid = {
    "clf__C": [0.1, 1.0, 10.0],
    "clf__solver": ["lbfgs", "liblinear"],
    "clf__l1_ratio": [0.0, 1.0],
}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=2, error_score="raise", verbose=1)
search.fit(X, y)
print("best params:", search.best_params_, "best score:", search.best_score_)
