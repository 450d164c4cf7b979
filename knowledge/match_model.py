"""The fitted parameters of the matcher, served with numpy and the compiled tree walk
(knowledge/_kernels.pyx, whose numpy twin below gives the same sums): no learning library.

The pair scorer is an ensemble of boosted trees over the (clipped) pair features whose output is
the probability that the candidate answers the question; an office may add its own trees on top
(knowledge/office_fit.py). Three query-level heads turn the top entries' probabilities, and the
best candidate's own features, into P(the top entry is right), P(the right entry is among the top
three) and P(no entry answers it); the decision rule picks answer / suggest / none with two
thresholds chosen on the fit data (see fit.py, which fits all of it with scikit-learn). The heads
are logistic over the probabilities, or (fit.py --heads trees, experimental) boosted trees that
also read the best candidate's own features (head_forests); an office's own fit keeps logistic
heads, which its few hundred questions can carry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from knowledge.match_features import FEATURES

try:  # the compiled walk (setup.py); without it, the numpy walk below gives the same sums
    from knowledge._kernels import walk as compiled_walk
    from knowledge._kernels import walk_clipped as compiled_walk_clipped
except ImportError:  # pragma: no cover - a build without a C compiler
    compiled_walk = compiled_walk_clipped = None


@dataclass
class Model:
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    # features are clipped to the range seen in fitting (a 575-character "question" must not
    # produce a score no fitted example ever had)
    clip_lo: list[float] = field(default_factory=list)
    clip_hi: list[float] = field(default_factory=list)
    # the pair scorer: boosted trees (see Forest), margin = base + sum of leaf values
    forest: dict[str, Any] = field(default_factory=dict)
    base: float = -3.0
    # an office's own pair model, boosted on its features plus the generic margin ({} = none)
    office_forest: dict[str, Any] = field(default_factory=dict)
    office_base: float = 0.0
    # query-level heads (weights then bias) over query_features(): P(top entry is right),
    # P(the right entry is among the top three)
    head_answer: list[float] = field(default_factory=list)
    head_suggest: list[float] = field(default_factory=list)
    # P(no entry answers the question): suggesting pays when P(right entry among the top three)
    # exceeds it (by t_none), since a suggestion costs half of a plain "none" when none exists
    head_none: list[float] = field(default_factory=list)
    # the same three heads as boosted trees over head_row() (the query features, then the best
    # candidate's clipped pair features): {"answer" | "suggest" | "none": {"forest", "base"}}.
    # When present they are used instead of the logistic heads.
    head_forests: dict[str, Any] = field(default_factory=dict)
    t_answer: float = 0.97
    t_none: float = 0.0
    # below "none": candidates whose pair probability reaches this are shown as 相关问题
    t_related: float = 0.1
    # product rule: the citizen typed exactly (after normalisation) an entry's question and no
    # other entry comes close (second entry's probability below this) -> answer
    exact_p2: float = 0.02
    k_slots: int = 10
    avg_len: float = 12.0
    # share of questions holding each common character and bigram (match_index.PRIOR_DOCS)
    prior: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("forest", "office_forest"):  # drop forest_predict's cached arrays
            data[key] = {k: v for k, v in data[key].items() if not k.startswith("_")}
        data["head_forests"] = {
            name: {"base": h["base"], "forest": {k: v for k, v in h["forest"].items()
                                                 if not k.startswith("_")}}
            for name, h in self.head_forests.items()
        }  # fmt: skip
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        model = cls(**data)
        # a model fitted before features were added reads its own columns of the rows; one that
        # needs a feature the code no longer computes cannot be used
        if not set(model.features) <= set(FEATURES) or len(model.clip_lo or model.features) != len(
            model.features
        ):
            raise ValueError(
                "model file was fitted for other features: run python -m knowledge.fit"
            )
        width = len(QUERY_FEATURES) + 1
        if any(h and len(h) != width for h in (model.head_answer, model.head_suggest,
                                               model.head_none)):  # fmt: skip
            raise ValueError("model file was fitted for other query features")
        if model.head_forests:
            row = len(QUERY_FEATURES) + len(HEAD_EXTRA) + len(model.features)
            if set(model.head_forests) != {"answer", "suggest", "none"} or any(
                int(np.max(h["forest"]["feature"])) >= row for h in model.head_forests.values()
            ):
                raise ValueError("model file was fitted for other query features")
        return model

    def copy(self) -> Model:
        return Model(**self.to_dict())

    # -- scoring ----------------------------------------------------------------------------

    def columns(self, x: np.ndarray) -> np.ndarray:
        """The model's own columns of pair-feature rows (FEATURES): a model may read fewer."""
        cols = self._clip_arrays()[0]
        return x if cols is None else x[:, cols]

    def clip(self, x: np.ndarray) -> np.ndarray:
        """The model's own columns, clipped to the range seen in fitting."""
        cols, lo, hi = self._clip_arrays()
        if cols is not None:
            x = x.take(cols, axis=1)
        if lo is None:
            return x
        # np.clip's value, without its Python wrapper (a third of its time at fifteen rows)
        return np.minimum(np.maximum(x, lo), hi)

    def _clip_arrays(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """The columns to read (None: all) and the clip bounds as arrays, kept until the lists
        they come from are replaced."""
        return self._clip_cache()[1]

    def _walk_clip(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """_clip_arrays as compiled_walk_clipped reads them: every column's position, and no
        bounds as empty arrays."""
        return self._clip_cache()[2]

    def _clip_cache(self) -> tuple[Any, ...]:
        kept = self.__dict__.get("_clip_kept")
        if (
            kept is None
            or kept[0][0] is not self.features
            or kept[0][1] is not self.clip_lo
            or kept[0][2] is not self.clip_hi
        ):
            key = (self.features, self.clip_lo, self.clip_hi)
            cols = None if self.features == FEATURES else _columns(tuple(self.features))
            lo = np.asarray(self.clip_lo, dtype=np.float64) if self.clip_lo else None
            hi = np.asarray(self.clip_hi, dtype=np.float64) if self.clip_lo else None
            none = np.empty(0, dtype=np.float64)
            walk = (
                np.arange(len(FEATURES), dtype=np.int64) if cols is None else cols.astype(np.int64),
                none if lo is None else lo,
                none if hi is None else hi,
            )
            kept = self.__dict__["_clip_kept"] = (key, (cols, lo, hi), walk)
        return kept

    def generic_margin(self, x: np.ndarray) -> np.ndarray:
        """x already clipped."""
        if self.forest:
            return forest_predict(self.forest, x) + self.base
        return np.full(len(x), self.base)

    def margin(self, x: np.ndarray) -> np.ndarray:
        if (
            compiled_walk_clipped is not None
            and self.forest
            and not self.office_forest
            and len(x) <= CHUNK
        ):  # the clipping done by the walk: the same margins without numpy's small calls
            packed, roots = _packed(self.forest)
            x = np.ascontiguousarray(x, dtype=np.float64)
            depth = int(self.forest["depth"])
            out = compiled_walk_clipped(packed, roots, depth, x, _ONE, *self._walk_clip())
            return out[:, 0] + self.base
        x = self.clip(x)
        z = self.generic_margin(x)
        if self.office_forest:
            z = self.office_base + forest_predict(self.office_forest, np.column_stack([x, z]))
        return z

    def predict(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.empty(0)
        return 1.0 / (1.0 + np.exp(-self.margin(x)))

    # -- decision ---------------------------------------------------------------------------

    def head_row(self, probs: list[float], dup: float, top: Sequence[float]) -> np.ndarray:
        """What the tree heads read: query_features, the gap between the two best entries, how
        many entries were retrieved, then the best candidate's pair features (FEATURES order,
        the model's own columns, clipped)."""
        row = self.clip(np.asarray(top, dtype=np.float64)[None, :])[0]
        return np.concatenate([self._head_lead(probs, dup, top), row])

    @staticmethod
    def _head_lead(probs: list[float], dup: float, top: Sequence[float]) -> list[float]:
        """head_row's values before the best candidate's features."""
        p2 = probs[1] if len(probs) > 1 else 0.0
        return [*_query_values(probs, dup, [top[k] for k in QUERY_EXTRA_IDX]),
                probs[0] - p2, float(len(probs))]  # fmt: skip

    def _head_margins(self, row: np.ndarray) -> np.ndarray:
        """The three tree heads' margins for one head_row, in one walk over all their trees."""
        _, (feat, thr, child, value, roots), depth, bounds, bases, packed = self._heads_trees()
        if compiled_walk is not None:
            x = np.ascontiguousarray(row, dtype=np.float64)[None, :]
            return bases + compiled_walk(packed, roots, depth, x, bounds)[0]
        node = roots
        for _ in range(depth):
            node = child[2 * node + (row[feat[node]] <= thr[node])]
        return bases + np.add.reduceat(value[node], bounds)

    def _head_margins_of(self, probs: list[float], dup: float, top: Sequence[float]) -> list[float]:
        """_head_margins(head_row(probs, dup, top)) by the compiled walk, which clips the best
        candidate's features itself: the same values without a dozen small numpy calls."""
        _, (*_, roots), depth, bounds, bases, packed = self._heads_trees()
        lead = self._head_lead(probs, dup, top)
        x = np.concatenate([lead, np.asarray(top, dtype=np.float64)])[None, :]
        z = compiled_walk_clipped(packed, roots, depth, x, bounds, *self._walk_clip(), len(lead))[0]
        return (bases + z).tolist()

    def _heads_trees(self) -> tuple[Any, ...]:
        """The three tree heads' trees merged for one walk, kept until they are replaced."""
        walk = self.__dict__.get("_heads_walk")
        if walk is None or walk[0] is not self.head_forests:
            names = ("answer", "suggest", "none")
            forests = [self.head_forests[n]["forest"] for n in names]
            width = max(len(f["feature"][0]) for f in forests)
            merged: dict[str, Any] = {"depth": max(int(f["depth"]) for f in forests)}
            for key, pad in (("feature", 0), ("threshold", 0.0), ("left", 0), ("right", 0),
                             ("value", 0.0), ("leaf", True)):  # fmt: skip
                merged[key] = [r + [pad] * (width - len(r)) for f in forests for r in f[key]]
            bounds = np.cumsum([0] + [len(f["feature"]) for f in forests])[:-1].astype(np.int64)
            bases = np.asarray([self.head_forests[n]["base"] for n in names])
            flat = _flatten(merged)
            walk = (self.head_forests, flat, int(merged["depth"]), bounds, bases, pack(flat, width))
            self.__dict__["_heads_walk"] = walk
        return walk

    def heads(self, probs: list[float], dup: float, top: Sequence[float] | None = None):
        """(P(top entry is right), P(right entry among the top three) - P(no entry answers))
        for one query: the second is what suggesting gains over saying nothing. top: the best
        candidate's pair-feature row (FEATURES order)."""
        if not probs:
            return 0.0, -1.0
        if top is None:
            top = np.zeros(len(FEATURES))
        if self.head_forests:
            if compiled_walk_clipped is not None:
                p = [1.0 / (1.0 + math.exp(-z)) for z in self._head_margins_of(probs, dup, top)]
                return p[0], p[1] - p[2]
            z = self._head_margins(self.head_row(probs, dup, top))
            # math.exp as above: numpy's vectorised exp (AVX-512) may differ in the last bit
            p = [1.0 / (1.0 + math.exp(-float(v))) for v in z]
            return p[0], p[1] - p[2]
        x = query_features(probs, dup, [top[k] for k in QUERY_EXTRA_IDX])
        out = []
        for head, default in (
            (self.head_answer, probs[0]),
            (self.head_suggest, probs[0]),
            (self.head_none, 1.0 - probs[0]),
        ):
            if head:
                z = float(np.dot(head[:-1], x) + head[-1])
                out.append(1.0 / (1.0 + np.exp(-z)))
            else:
                out.append(default)
        return out[0], out[1] - out[2]

    def choose(
        self,
        probs: list[float],
        dup: float = 0.0,
        exact: bool = False,
        top: Sequence[float] | None = None,
    ) -> tuple[str, float, float]:
        """probs: per-entry probabilities, best first; dup: how alike the top two entries are;
        exact: the best entry's question is the citizen's question, normalised; top: the best
        candidate's pair-feature row (FEATURES order)."""
        p_top, gain = self.heads(probs, dup, top)
        p2 = probs[1] if len(probs) > 1 else 0.0
        if p_top >= self.t_answer or (exact and p2 < self.exact_p2):
            kind = "answer"
        elif gain >= self.t_none:
            kind = "suggest"
        else:
            kind = "none"
        return kind, p_top, gain


_COLUMNS: dict[tuple[str, ...], np.ndarray] = {}


def _columns(features: tuple[str, ...]) -> np.ndarray:
    cols = _COLUMNS.get(features)
    if cols is None:
        cols = _COLUMNS[features] = np.asarray([FEATURES.index(f) for f in features])
    return cols


QUERY_FEATURES = [
    "logit_p1", "logit_p2", "logit_p3", "p1", "p2", "sum3", "dup", "dup_p2",
    "has_answer", "len_q",
]  # fmt: skip
# what the tree heads read after QUERY_FEATURES (then the best candidate's pair features)
HEAD_EXTRA = ["p_gap", "n_entries"]
# the pair features query_features takes from the top candidate's row, in order
QUERY_EXTRA = ["has_answer", "len_q"]
QUERY_EXTRA_IDX = [FEATURES.index(n) for n in QUERY_EXTRA]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def query_features(probs: list[float], dup: float, extra: Sequence[float] = (0.0, 0.0)):
    return np.array(_query_values(probs, dup, extra))


def _query_values(probs: list[float], dup: float, extra: Sequence[float]) -> list[float]:
    p1 = probs[0]
    p2 = probs[1] if len(probs) > 1 else 0.0
    p3 = probs[2] if len(probs) > 2 else 0.0
    return [_logit(p1), _logit(p2), _logit(p3), p1, p2, p1 + p2 + p3, dup, dup * p2, *extra]


# -- boosted trees, served without scikit-learn ----------------------------------------------
# Trees are fitted by scikit-learn (knowledge/fit.py, the optional "fit" extra) and exported as
# padded arrays, one row per tree: feature, threshold, left, right, value, leaf. A row goes left
# when its feature is <= the threshold. One vectorised walk of `depth` steps scores all rows on
# all trees at once.


# rows scored at once: the walk keeps a few (rows x trees) arrays, which for a fitting set of a
# hundred thousand pairs would take gigabytes
CHUNK = 4096


def forest_predict(forest: dict[str, Any], x: np.ndarray) -> np.ndarray:
    if len(x) > CHUNK:
        return np.concatenate(
            [forest_predict(forest, x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)]
        )
    if compiled_walk is not None:
        packed, roots = _packed(forest)
        x = np.ascontiguousarray(x, dtype=np.float64)
        return compiled_walk(packed, roots, int(forest["depth"]), x, _ONE)[:, 0]
    return _numpy_walk(_flat(forest), int(forest["depth"]), x)


_ONE = np.zeros(1, dtype=np.int64)  # one group: all the trees


def _flat(forest: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """_flatten(forest), kept in the forest (to_dict leaves it out)."""
    arrays = forest.get("_flat")
    if arrays is None:
        arrays = forest["_flat"] = _flatten(forest)
    return arrays


def _packed(forest: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """pack(_flat(forest)) and the trees' roots, kept in the forest as _flat is."""
    kept = forest.get("_packed")
    if kept is None:
        arrays = _flat(forest)
        kept = forest["_packed"] = (pack(arrays, len(forest["feature"][0])), arrays[4])
    return kept


# A node as the compiled walk reads it (knowledge/_kernels.pyx's Node): sixteen bytes, where
# the five arrays of _flatten spread a node over three cache lines.
NODE = np.dtype([("thr", "<f8"), ("feat", "<u2"), ("right", "<u2"), ("left", "<u2"),
                 ("pad", "<u2")])  # fmt: skip


def pack(arrays: tuple[np.ndarray, ...], width: int) -> np.ndarray:
    """_flatten's arrays as NODE records, as bytes: children as positions within their tree
    (rows of ``width`` nodes), and a leaf's value in place of its threshold (a leaf is its own
    child, so what it is compared with never matters)."""
    feat, thr, child, value, _ = arrays
    if width >= 1 << 16 or (len(feat) and int(feat.max()) >= 1 << 16):
        raise ValueError("trees too wide, or too many features, for 16-bit nodes")
    here = np.arange(len(feat))
    first = here - here % width
    right, left = child[0::2], child[1::2]
    nodes = np.zeros(len(feat), dtype=NODE)
    nodes["thr"] = np.where(right == here, value, thr)
    nodes["feat"] = feat
    nodes["right"] = right - first
    nodes["left"] = left - first
    return nodes.view(np.uint8)


def _numpy_walk(arrays: tuple[np.ndarray, ...], depth: int, x: np.ndarray) -> np.ndarray:
    """forest_predict without the compiled walk: all rows through all trees a level at a time."""
    feat, thr, child, value, roots = arrays
    n_features = x.shape[1]
    flat_x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    base = (np.arange(len(x)) * n_features)[:, None]
    node = np.broadcast_to(roots, (len(x), len(roots)))
    for _ in range(depth):
        go_left = flat_x[base + feat[node]] <= thr[node]
        node = child[2 * node + go_left]
    return value[node].sum(axis=1)


def _flatten(forest: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """The trees' padded rows laid end to end, children as positions in that one array (node
    i's right child at 2i, its left at 2i + 1) and a leaf its own child on both sides, so that
    the walk is one lookup per step."""
    feat = np.asarray(forest["feature"], dtype=np.int64)
    n_trees, width = feat.shape
    offsets = (np.arange(n_trees) * width)[:, None]
    leaf = np.asarray(forest["leaf"], dtype=bool)
    here = offsets + np.arange(width)[None, :]
    left = np.where(leaf, here, np.asarray(forest["left"], dtype=np.int64) + offsets)
    right = np.where(leaf, here, np.asarray(forest["right"], dtype=np.int64) + offsets)
    return (
        np.where(leaf, 0, feat).ravel(),
        np.asarray(forest["threshold"], dtype=np.float64).ravel(),
        np.stack([right.ravel(), left.ravel()], axis=1).ravel(),
        np.asarray(forest["value"], dtype=np.float64).ravel(),
        offsets.ravel(),
    )
