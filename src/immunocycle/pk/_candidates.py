"""Candidate delivery models compared by grouped cross-validation (``pk --evaluate``).

Extra-trees (the shipped :class:`~immunocycle.pk.DeliveryModel` settings), gradient boosting,
a Gaussian process and a small neural net, each predicting log10 DE24, DE168 and DEmax from the
same features. Folds are grouped by study: Nano-Tumor has no study column, so a "study" is a run
of consecutive data sets (by ID) that share tumor model, cancer type and tumor weight, which is
how one paper's data sets appear in the file; data sets of one study never sit in both the
training and the test folds. Scores: R2 on the %ID scale (back-transformed, as the published
DNN's), R2 of log10 %ID, and the share of data sets predicted within 2-fold and 3-fold.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.impute import SimpleImputer
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from immunocycle._paths import PACKAGE_DATA
from immunocycle.pk._properties import (
    _CATEGORICAL,
    _NUMERIC,
    DE_COLUMNS,
    PUBLISHED_R2,
    DeliveryModel,
    _features,
)

CANDIDATES = ("extra_trees", "gradient_boosting", "gaussian_process", "neural_net")


def study_groups(df: pd.DataFrame) -> np.ndarray:
    """Proxy study label per data set: runs of consecutive IDs sharing TM, CT and TW."""
    d = df.sort_values("ID") if "ID" in df.columns else df
    key = d["TM"].astype(str) + "|" + d["CT"].astype(str).str.lower() + "|" + d["TW"].astype(str)
    groups = (key != key.shift()).cumsum().to_numpy()
    return pd.Series(groups, index=d.index).reindex(df.index).to_numpy()


def _prep(scale: bool):
    numeric = [SimpleImputer(strategy="median", add_indicator=True)]
    if scale:
        numeric.append(StandardScaler())
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), _CATEGORICAL),
        (make_pipeline(*numeric), _NUMERIC))


def candidate(name: str, seed: int):
    """An unfitted multi-output regressor of log10 (DE24, DE168, DEmax)."""
    if name == "extra_trees":
        return DeliveryModel()._forest(seed)
    if name == "gradient_boosting":
        gb = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                           min_samples_leaf=10, l2_regularization=1.0,
                                           random_state=seed)
        return make_pipeline(_prep(False), MultiOutputRegressor(gb))
    if name == "gaussian_process":
        kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * RBF(3.0, (1e-1, 1e2))
                  + WhiteKernel(0.3, (1e-3, 1e1)))
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=seed)
        return make_pipeline(_prep(True), gp)
    if name == "neural_net":
        nn = MLPRegressor(hidden_layer_sizes=(32, 16), alpha=1e-1, learning_rate_init=3e-3,
                          max_iter=3000, early_stopping=True, validation_fraction=0.15,
                          n_iter_no_change=50, random_state=seed)
        return make_pipeline(_prep(True), nn)
    raise ValueError(f"candidate: unknown model {name!r}; choose from {', '.join(CANDIDATES)}")


def _scores(Y: np.ndarray, Y_hat: np.ndarray) -> dict[str, float]:
    out = {}
    for j, name in enumerate(DE_COLUMNS):
        out[f"r2_{name}"] = float(r2_score(10 ** Y[:, j], 10 ** Y_hat[:, j]))
        out[f"r2_log10_{name}"] = float(r2_score(Y[:, j], Y_hat[:, j]))
        err = np.abs(Y[:, j] - Y_hat[:, j])
        out[f"within_2fold_{name}"] = float(np.mean(err <= np.log10(2)))
        out[f"within_3fold_{name}"] = float(np.mean(err <= np.log10(3)))
    return out


def compare_candidates(df: pd.DataFrame, n_splits: int = 5, seeds=(0, 1, 2),
                       names=CANDIDATES) -> dict:
    """Grouped (by study) and random k-fold scores of every candidate.

    Returns
    -------
    dict
        ``grouped`` and ``random``: candidate -> scores (means over seeds); ``best_grouped``:
        the candidate with the highest mean grouped R2 of log10 %ID; ``published_r2_*``;
        ``n_groups``; ``group_definition``.
    """
    X = _features(df)
    Y = np.log10(df[list(DE_COLUMNS.values())].to_numpy(float))
    groups = study_groups(df)
    result: dict = {"grouped": {}, "random": {}}
    for scheme in ("grouped", "random"):
        for name in names:
            runs = []
            for seed in seeds:
                if scheme == "grouped":
                    # GroupKFold is deterministic; permute the group labels per seed
                    perm = np.random.default_rng(seed).permutation(groups.max() + 1)
                    splits = GroupKFold(n_splits).split(X, Y, perm[groups])
                else:
                    splits = KFold(n_splits, shuffle=True, random_state=seed).split(X)
                Y_hat = np.empty_like(Y)
                for train, test in splits:
                    model = candidate(name, seed).fit(X.iloc[train], Y[train])
                    Y_hat[test] = model.predict(X.iloc[test])
                runs.append(_scores(Y, Y_hat))
            result[scheme][name] = {k: round(float(np.mean([r[k] for r in runs])), 4)
                                    for k in runs[0]}
    mean_log_r2 = {n: np.mean([result["grouped"][n][f"r2_log10_{e}"] for e in DE_COLUMNS])
                   for n in names}
    result["best_grouped"] = max(mean_log_r2, key=mean_log_r2.get)
    result.update({f"published_r2_{k}": v for k, v in PUBLISHED_R2.items()})
    result.update({"n_groups": int(len(np.unique(groups))), "n_splits": n_splits,
                   "seeds": list(seeds),
                   "group_definition": "runs of consecutive data-set IDs sharing tumor model, "
                                       "cancer type and tumor weight (proxy for one study)"})
    return result


RESULTS_FILE = PACKAGE_DATA / "pk" / "delivery_candidates.json"
REFIT_COMMAND = "python -m immunocycle.pk._candidates"


def stored_comparison() -> dict | None:
    """The comparison last written by :data:`REFIT_COMMAND` (None if absent)."""
    if not RESULTS_FILE.is_file():
        return None
    return json.loads(RESULTS_FILE.read_text())


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    from immunocycle.pk._properties import load_nanotumor

    res = compare_candidates(load_nanotumor(), seeds=(0,))
    res["regenerate_with"] = REFIT_COMMAND
    RESULTS_FILE.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    print(json.dumps(res, indent=1))
