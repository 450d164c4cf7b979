"""The fitted parameters of the matcher and the two small learners behind them (numpy only).

The pair scorer is a logistic regression over the pair features (plus an optional small
gradient-boosted tree ensemble whose output enters the regression), so that its output is a
calibrated probability that the candidate answers the question. The decision rule then picks
answer / suggest / none from the probabilities of the top entries with two thresholds chosen on
the fit data (see fit.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from knowledge.match_features import FEATURES


@dataclass
class Model:
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    bias: float = -3.0
    # boosted trees on the raw features, added to the linear margin ({} = none)
    trees: dict[str, Any] = field(default_factory=dict)
    # query-level heads (weights then bias) over query_features(): P(top entry is right),
    # P(the right entry is among the top three)
    head_answer: list[float] = field(default_factory=list)
    head_suggest: list[float] = field(default_factory=list)
    t_answer: float = 0.97
    t_none: float = 0.35
    # product rule: the citizen typed exactly (after normalisation) an entry's question and no
    # other entry comes close (second entry's probability below this) -> answer
    exact_p2: float = 0.02
    k_slots: int = 10
    avg_len: float = 12.0
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        model = cls(**data)
        if model.features != FEATURES:
            raise ValueError(
                "model file was fitted for other features: run python -m knowledge.fit"
            )
        return model

    # -- scoring ----------------------------------------------------------------------------

    def _linear_inputs(self, x: np.ndarray) -> np.ndarray:
        if not self.mean:
            return x
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def margin(self, x: np.ndarray) -> np.ndarray:
        z = np.full(len(x), self.bias)
        if self.weights:
            z = z + self._linear_inputs(x) @ np.asarray(self.weights)
        if self.trees:
            z = z + trees_predict(self.trees, x)
        return z

    def predict(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.empty(0)
        return 1.0 / (1.0 + np.exp(-self.margin(x)))

    # -- decision ---------------------------------------------------------------------------

    def heads(self, probs: list[float], dup: float) -> tuple[float, float]:
        """(P(top entry is right), P(right entry among the top three)) for one query."""
        if not probs:
            return 0.0, 0.0
        x = query_features(probs, dup)
        out = []
        for head in (self.head_answer, self.head_suggest):
            if head:
                z = float(np.dot(head[:-1], x) + head[-1])
                out.append(1.0 / (1.0 + np.exp(-z)))
            else:
                out.append(probs[0])
        return out[0], out[1]

    def choose(
        self, probs: list[float], dup: float = 0.0, exact: bool = False
    ) -> tuple[str, float, float]:
        """probs: per-entry probabilities, best first; dup: how alike the top two entries are;
        exact: the best entry's question is the citizen's question, normalised."""
        p_top, p_in3 = self.heads(probs, dup)
        p2 = probs[1] if len(probs) > 1 else 0.0
        if p_top >= self.t_answer or (exact and p2 < self.exact_p2):
            kind = "answer"
        elif p_in3 >= self.t_none:
            kind = "suggest"
        else:
            kind = "none"
        return kind, p_top, p_in3


QUERY_FEATURES = ["logit_p1", "logit_p2", "logit_p3", "p1", "p2", "sum3", "dup", "dup_p2"]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def query_features(probs: list[float], dup: float) -> np.ndarray:
    p1 = probs[0]
    p2 = probs[1] if len(probs) > 1 else 0.0
    p3 = probs[2] if len(probs) > 2 else 0.0
    return np.array([_logit(p1), _logit(p2), _logit(p3), p1, p2, p1 + p2 + p3, dup, dup * p2])


# -- logistic regression (Newton's method with an L2 penalty) ------------------------------


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, offset: np.ndarray | None = None, iters: int = 50
) -> tuple[np.ndarray, float]:
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    off = np.zeros(n) if offset is None else offset
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        z = xb @ w + off
        p = 1.0 / (1.0 + np.exp(-z))
        g = xb.T @ (p - y) + reg * w
        h = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(h, g)
        w -= step
        if np.max(np.abs(step)) < 1e-7:
            break
    return w[:-1], float(w[-1])


# -- gradient-boosted regression trees on the logistic loss --------------------------------
# A tree of depth D is stored complete, in heap order: feature[2^D-1], threshold[2^D-1] and
# leaf value[2^D]; a node that does not split sends everything left (threshold 1e30), so one
# vectorised walk of D steps scores all rows on all trees at once.


def _build_tree(xb, offsets, cuts, g, h, depth, min_leaf, l2):
    """xb: features pre-binned (bin k: value <= cuts[f][k]); offsets: bin offset per feature."""
    n_inner = 2**depth - 1
    feat = np.zeros(n_inner, dtype=np.int64)
    thr = np.full(n_inner, 1e30)
    leaf = np.zeros(2**depth)
    total_bins = int(offsets[-1])
    flat = xb + offsets[:-1]  # (n, F) global bin ids

    def grow(idx: np.ndarray, node: int, level: int) -> None:
        gi, hi = g[idx], h[idx]
        gs, hs = gi.sum(), hi.sum()
        value = float(-gs / (hs + l2))
        if level == depth:
            leaf[node - n_inner] = value
            return
        best = (0.0, -1, 0.0)
        if len(idx) >= 2 * min_leaf:
            parent = gs * gs / (hs + l2)
            codes = flat[idx]
            nf = codes.shape[1]
            gb = np.bincount(codes.ravel(), weights=np.repeat(gi, nf), minlength=total_bins)
            hb = np.bincount(codes.ravel(), weights=np.repeat(hi, nf), minlength=total_bins)
            cb = np.bincount(codes.ravel(), minlength=total_bins)
            for f in range(nf):
                a, b = offsets[f], offsets[f + 1]
                if b - a < 2:
                    continue
                gl, hl, cl = (
                    np.cumsum(gb[a:b])[:-1],
                    np.cumsum(hb[a:b])[:-1],
                    np.cumsum(cb[a:b])[:-1],
                )
                gr, hr, cr = gs - gl, hs - hl, len(idx) - cl
                gain = gl * gl / (hl + l2) + gr * gr / (hr + l2) - parent
                gain[(cl < min_leaf) | (cr < min_leaf)] = -1.0
                k = int(np.argmax(gain))
                if gain[k] > best[0]:
                    best = (float(gain[k]), f, k)
        if best[1] < 0:
            # no useful split: the whole subtree predicts this node's value
            lo, hi_ = node, node
            while lo < n_inner:
                lo, hi_ = 2 * lo + 1, 2 * hi_ + 2
            leaf[lo - n_inner : hi_ - n_inner + 1] = value
            return
        _, f, k = best
        feat[node], thr[node] = f, float(cuts[f][k])
        mask = xb[idx, f] <= k
        grow(idx[mask], 2 * node + 1, level + 1)
        grow(idx[~mask], 2 * node + 2, level + 1)

    grow(np.arange(len(g)), 0, 0)
    return feat, thr, leaf


def trees_predict(trees: dict, x: np.ndarray) -> np.ndarray:
    """Sum of all trees' leaf values for each row of x (rate already folded into the leaves)."""
    feat = np.asarray(trees["feature"])  # (T, 2^D-1)
    thr = np.asarray(trees["threshold"])
    leaf = np.asarray(trees["leaf"])  # (T, 2^D)
    n_trees, n_inner = feat.shape
    node = np.zeros((len(x), n_trees), dtype=np.int64)
    cols = np.arange(n_trees)
    while True:
        inner = node < n_inner
        if not inner.any():
            break
        f = feat[cols, np.minimum(node, n_inner - 1)]
        t = thr[cols, np.minimum(node, n_inner - 1)]
        v = np.take_along_axis(x, f, axis=1) if x.ndim == 2 else x[f]
        node = np.where(inner, 2 * node + 1 + (v > t), node)
    return leaf[cols, node - n_inner].sum(axis=1)


def fit_trees(
    x: np.ndarray,
    y: np.ndarray,
    base: np.ndarray,
    n_trees: int = 100,
    depth: int = 3,
    rate: float = 0.1,
    min_leaf: int = 40,
    l2: float = 5.0,
    n_bins: int = 32,
) -> dict:
    """Boost on top of a fixed margin `base` (the logistic regression's)."""
    # cut points: the distinct quantiles; a value v falls in bin searchsorted(cuts, v), so
    # "bin <= k" is "v <= cuts[k]" (the threshold the walk in trees_predict uses)
    cuts = [
        np.unique(np.quantile(x[:, f], np.linspace(0, 1, n_bins + 1)[1:-1]))
        for f in range(x.shape[1])
    ]
    xb = np.stack(
        [np.searchsorted(cuts[f], x[:, f], side="left") for f in range(x.shape[1])], axis=1
    )
    offsets = np.concatenate([[0], np.cumsum([len(c) + 1 for c in cuts])]).astype(np.int64)
    feats, thrs, leaves = [], [], []
    f_cur = base.astype(np.float64).copy()
    for _ in range(n_trees):
        p = 1.0 / (1.0 + np.exp(-f_cur))
        g = p - y
        h = np.maximum(p * (1 - p), 1e-6)
        feat, thr, leaf = _build_tree(xb, offsets, cuts, g, h, depth, min_leaf, l2)
        leaf *= rate
        feats.append(feat)
        thrs.append(thr)
        leaves.append(leaf)
        one = {"feature": [feat], "threshold": [thr], "leaf": [leaf]}
        f_cur += trees_predict(one, x)
    return {
        "feature": np.asarray(feats).tolist(),
        "threshold": np.asarray(thrs).tolist(),
        "leaf": np.asarray(leaves).tolist(),
    }
