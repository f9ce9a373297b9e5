"""NeuMF in numpy: forward, the gradient with respect to the user embeddings, and fold-in.

The app folds in a visitor without torch, so the trained network travels as plain arrays (the
``network`` dict that :meth:`recsys.models.ncf.NeuMF.fold_in_state` exports):

- ``gmf_item`` (n_items, g), ``mlp_item`` (n_items, m): item embeddings of the two paths;
- ``gmf_user_mean`` (g,), ``mlp_user_mean`` (m,): mean embeddings of the trained users, where a
  new user starts;
- ``mlp_weight_<l>`` (h_{l+1}, h_l) and ``mlp_bias_<l>`` (h_{l+1},) for l = 0..L-1, torch's
  Linear layout; layer 0 reads ``[user_mlp, item_mlp]`` (h_0 = 2m) and every layer is followed
  by a ReLU;
- ``out_weight`` (g + h_L,), ``out_bias`` (1,): the final logit reads ``[user_gmf * item_gmf,
  mlp output]``.

The logit is ``out_weight . [g_u * g_i, mlp([m_u, m_i])] + out_bias``. Layer 0 splits into a user
part and an item part, ``W0 [m_u, m_i] = W0_u m_u + W0_i m_i``, so the item part is computed once
per item and the user part once per user. No torch import here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["neumf_logits", "neumf_loss_grad", "fold_in_neumf", "n_layers"]

# Fold-in defaults when the exported params lack a value (the model's Config sets them).
_DEFAULTS = {
    "threshold": 4.0,
    "fold_in_steps": 40,
    "fold_in_lr": 0.05,
    "fold_in_negatives": 4,
    "fold_in_reg": 0.0,
    "seed": 0,
}


def n_layers(network: dict[str, np.ndarray]) -> int:
    """Number of Linear+ReLU layers in the MLP path."""
    n = 0
    while f"mlp_weight_{n}" in network:
        n += 1
    return n


@dataclass(frozen=True)
class _Frozen:
    """The network restricted to some items and cast to one dtype: what every step reuses.

    ``gmf_item`` (n, g); ``item_part`` (n, h_1) = ``W0_i m_i + b0``; ``w0_user`` (h_1, m);
    ``layers`` [(W_l, b_l)] for l >= 1; ``out_gmf`` (g,), ``out_mlp`` (h_L,), ``out_bias``.
    """

    gmf_item: np.ndarray
    item_part: np.ndarray
    w0_user: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]
    out_gmf: np.ndarray
    out_mlp: np.ndarray
    out_bias: float


def _freeze(network: dict, items: np.ndarray | None, dtype) -> _Frozen:
    m = network["mlp_item"].shape[1]
    g = network["gmf_item"].shape[1]
    gmf_item = network["gmf_item"] if items is None else network["gmf_item"][items]
    mlp_item = network["mlp_item"] if items is None else network["mlp_item"][items]
    w0 = network["mlp_weight_0"].astype(dtype)
    out_w = network["out_weight"].astype(dtype)
    return _Frozen(
        gmf_item=gmf_item.astype(dtype, copy=False),
        item_part=mlp_item.astype(dtype, copy=False) @ w0[:, m:].T + network["mlp_bias_0"],
        w0_user=w0[:, :m],
        layers=[
            (network[f"mlp_weight_{k}"].astype(dtype), network[f"mlp_bias_{k}"].astype(dtype))
            for k in range(1, n_layers(network))
        ],
        out_gmf=out_w[:g],
        out_mlp=out_w[g:],
        out_bias=float(np.asarray(network["out_bias"]).reshape(-1)[0]),
    )


def _forward(
    net: _Frozen, user_gmf: np.ndarray, user_mlp: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Logits (n,) and the pre-activations of every MLP layer [(n, h_l)]."""
    pre = [net.item_part + net.w0_user @ user_mlp]
    h = np.maximum(pre[0], 0)
    for w, b in net.layers:
        pre.append(h @ w.T + b)
        h = np.maximum(pre[-1], 0)
    logits = net.gmf_item @ (net.out_gmf * user_gmf) + h @ net.out_mlp + net.out_bias
    return logits, pre


def neumf_logits(
    network: dict[str, np.ndarray],
    user_gmf: np.ndarray,
    user_mlp: np.ndarray,
    items: np.ndarray | None = None,
) -> np.ndarray:
    """Logits of one user for ``items`` ((n,) codes; every item when None): (n,) float32.

    Args:
        user_gmf: (g,) the user's GMF embedding.
        user_mlp: (m,) the user's MLP embedding.
    """
    net = _freeze(network, items, np.float32)
    logits, _ = _forward(net, user_gmf.astype(np.float32), user_mlp.astype(np.float32))
    return logits.astype(np.float32, copy=False)


def _loss_grad(
    net: _Frozen, user_gmf: np.ndarray, user_mlp: np.ndarray, targets: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean BCE-with-logits and its gradient w.r.t. (user_gmf, user_mlp)."""
    logits, pre = _forward(net, user_gmf, user_mlp)
    # Stable BCE: softplus(z) - y z; its derivative is sigmoid(z) - y.
    loss = float(np.mean(np.logaddexp(0.0, logits) - targets * logits))
    d_logit = (0.5 * (1.0 + np.tanh(0.5 * logits)) - targets) / len(logits)  # overflow-free
    grad_gmf = net.out_gmf * (d_logit @ net.gmf_item)
    # Back through the MLP: d h_L = d_logit out_mlp, then each ReLU and Linear in turn.
    d_h = np.outer(d_logit, net.out_mlp)
    for layer in range(len(pre) - 1, -1, -1):
        d_pre = d_h * (pre[layer] > 0)
        if layer > 0:
            d_h = d_pre @ net.layers[layer - 1][0]
    # Layer 0's input is [user_mlp, item_mlp]; the user part is shared by every row.
    grad_mlp = d_pre.sum(axis=0) @ net.w0_user
    return loss, grad_gmf, grad_mlp


def neumf_loss_grad(
    network: dict[str, np.ndarray],
    user_gmf: np.ndarray,
    user_mlp: np.ndarray,
    items: np.ndarray,
    targets: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean binary cross-entropy of one user's logits on ``items`` and its user gradient.

    Args:
        user_gmf: (g,), user_mlp: (m,) the user's embeddings.
        items: (n,) item codes; targets: (n,) 0/1 labels.

    Returns:
        (loss, d loss / d user_gmf (g,), d loss / d user_mlp (m,)), computed in float64.
    """
    net = _freeze(network, np.asarray(items, np.int64), np.float64)
    return _loss_grad(
        net,
        np.asarray(user_gmf, np.float64),
        np.asarray(user_mlp, np.float64),
        np.asarray(targets, np.float64),
    )


def fold_in_neumf(
    network: dict[str, np.ndarray], params: dict, codes: np.ndarray, ratings: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fit a new user's embeddings with the network frozen; returns (user vector, scores).

    The user starts at the trained users' mean embeddings and takes ``fold_in_steps`` Adam steps
    on the mean BCE over: rated items (target 1 at or above ``threshold``, else 0) and a fixed
    sample (seeded by ``seed``) of ``fold_in_negatives`` unrated items per positive (target 0),
    plus ``fold_in_reg / 2 * |x - start|^2``. Deterministic for a given profile.

    Args:
        codes: (n,) int item codes the user rated (unique); ratings: (n,) their ratings.

    Returns:
        (concat(user_gmf, user_mlp) (g + m,) float32, logits of every item (n_items,) float32).
    """
    p = {**_DEFAULTS, **(params or {})}
    codes = np.asarray(codes, np.int64)
    ratings = np.asarray(ratings, np.float64)
    n_items = len(network["gmf_item"])
    targets = (ratings >= float(p["threshold"])).astype(np.float64)

    # The same unrated items for the same profile: a visitor's list must not flicker.
    rng = np.random.default_rng(int(p["seed"]))
    unrated = np.ones(n_items, bool)
    unrated[codes] = False
    pool = np.flatnonzero(unrated)
    n_neg = min(len(pool), int(p["fold_in_negatives"]) * max(int(targets.sum()), 1))
    negatives = rng.choice(pool, size=n_neg, replace=False) if n_neg else pool[:0]
    items = np.concatenate([codes, negatives])
    y = np.concatenate([targets, np.zeros(n_neg)])

    # float32 like the network: twice as fast as float64, and 40 Adam steps do not need more.
    x = np.concatenate([network["gmf_user_mean"], network["mlp_user_mean"]]).astype(np.float32)
    x0 = x.copy()
    g = len(network["gmf_user_mean"])
    net = _freeze(network, items, np.float32)  # fixed while the user moves
    y = y.astype(np.float32)
    lr, reg = float(p["fold_in_lr"]), float(p["fold_in_reg"])
    # Adam: the gradient's scale depends on the trained weights, Adam's step size does not.
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m1 = np.zeros_like(x)
    m2 = np.zeros_like(x)
    for t in range(1, int(p["fold_in_steps"]) + 1):
        _, grad_gmf, grad_mlp = _loss_grad(net, x[:g], x[g:], y)
        grad = np.concatenate([grad_gmf, grad_mlp]) + reg * (x - x0)
        m1 = beta1 * m1 + (1 - beta1) * grad
        m2 = beta2 * m2 + (1 - beta2) * grad**2
        x -= lr * (m1 / (1 - beta1**t)) / (np.sqrt(m2 / (1 - beta2**t)) + eps)

    return x, neumf_logits(network, x[:g], x[g:])
