"""AdamW, the learning-rate schedule LUKE's fine-tuning used, and clipping by global norm.

AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization"), as
``torch.optim.AdamW`` computes it, for each parameter p with gradient g at step t = 1, 2, ...:

    p <- p (1 - lr * weight_decay)                  decay, decoupled from the gradient
    m <- beta1 m + (1 - beta1) g                     first moment (running mean of g)
    v <- beta2 v + (1 - beta2) g**2                  second moment (running mean of g**2)
    p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

m and v start at 0, so early on they underestimate; dividing by 1 - beta**t removes that
bias. A parameter without a gradient this step (absent from ``gradients``, as torch leaves
``.grad`` None for a tensor the loss does not read) is left alone: no decay, no moment update.
"""

from __future__ import annotations

import math

import numpy as np

from ..state_dict import tied_keys


class AdamW:
    """``AdamW(model, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)``;
    ``step(gradients)`` updates ``model.params`` in place.

    ``gradients`` is ``model.loss_and_gradients(...)``'s dict (``state_dict()`` names). A
    tied tensor is one array under two names, so updating the owner updates both.
    ``no_decay``: name endings exempt from weight decay (LUKE's fine-tuning exempted
    ``bias`` and the layer norms' ``weight``; torch's default, and so this one's, exempts
    nothing). ``lr`` may be changed between steps (see ``linear_warmup_decay``).
    """

    def __init__(self, model, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, no_decay: tuple[str, ...] = ()):
        self.model, self.lr, self.betas, self.eps = model, lr, betas, eps
        self.weight_decay, self.no_decay = weight_decay, tuple(no_decay)
        self.t = 0
        self.moments: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        _make_writable(model.params)
        for tied, owner in tied_keys(model.config).items():  # one array, as the gradient is one
            if tied in model.params:
                model.params[tied] = model.params[owner]
        self.names = {model._stored_name(key): key for key in model.params}  # state -> param

    def step(self, gradients: dict[str, np.ndarray]) -> None:
        self.t += 1
        correction1 = 1 - self.betas[0] ** self.t
        correction2 = 1 - self.betas[1] ** self.t
        for name, g in gradients.items():
            p = self.model.params[self.names[name]]  # updated in place (tied names share it)
            if name not in self.moments:  # first step: both moments start at 0
                self.moments[name] = np.zeros_like(p), np.zeros_like(p)
            m, v = self.moments[name]
            exempt = not self.weight_decay or name.endswith(self.no_decay)
            decay = 1.0 if exempt else 1 - self.lr * self.weight_decay
            # The update, block by block: at luke-base size it runs over ~290 million
            # numbers, a dozen operations each; on cache-sized blocks the intermediate
            # results stay in the CPU's cache instead of streaming through memory.
            flat = p.reshape(-1), np.ascontiguousarray(g).reshape(-1), m.reshape(-1), v.reshape(-1)
            for start in range(0, p.size, UPDATE_BLOCK):
                self._update(*(a[start:start + UPDATE_BLOCK] for a in flat),
                             decay, correction1, correction2)

    def _update(self, p, g, m, v, decay, correction1, correction2):  # noqa: PLR0913  the update's terms
        """The formulas of the module docstring on one block of a parameter (views,
        written in place), with one scratch array."""
        beta1, beta2 = self.betas
        if decay != 1.0:
            p *= decay  # p (1 - lr * weight_decay)
        scratch = np.multiply(g, g)  # g**2
        scratch *= 1 - beta2
        v *= beta2
        v += scratch  # v = beta2 v + (1 - beta2) g**2
        np.multiply(g, 1 - beta1, out=scratch)
        m *= beta1
        m += scratch  # m = beta1 m + (1 - beta1) g
        np.sqrt(v, out=scratch)
        scratch /= math.sqrt(correction2)
        scratch += self.eps  # the denominator, sqrt(v / (1 - beta2**t)) + eps
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr / correction1
        p -= scratch


# 65,536 numbers: a block of float32 p, g, m, v and the scratch (1.3 MB) fits the cache.
UPDATE_BLOCK = 65_536


def _make_writable(params: dict[str, np.ndarray]) -> None:
    """Replace read-only arrays (memory-mapped from a checkpoint file) and non-contiguous
    ones (the update writes through flat views) by copies, keeping tied names on one
    shared array."""
    copies: dict[int, np.ndarray] = {}
    for name, value in params.items():
        if not (value.flags.writeable and value.flags.c_contiguous):
            if id(value) not in copies:  # a tied array is copied once, for all its names
                copies[id(value)] = np.array(value, order="C")
            params[name] = copies[id(value)]


def linear_warmup_decay(step: int, warmup_steps: int, total_steps: int) -> float:
    """The learning rate's factor at ``step`` (0-based): rising linearly from 0 to 1 over
    ``warmup_steps``, then falling linearly to 0 at ``total_steps`` (transformers'
    ``get_linear_schedule_with_warmup``, which LUKE's fine-tuning used)."""
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def clip_by_global_norm(gradients: dict[str, np.ndarray], max_norm: float):
    """Scale every gradient by max_norm / (norm + 1e-6) when the global norm
    sqrt(sum of every entry squared) exceeds max_norm, in place, as
    ``torch.nn.utils.clip_grad_norm_`` scales ``.grad`` (a new array per parameter would
    be another 1 GB to allocate and fill at luke-base size).
    -> (the same gradients dict, the norm before clipping)"""
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in gradients.values()))
    factor = min(1.0, max_norm / (norm + 1e-6))
    if factor < 1.0:
        for g in gradients.values():
            g *= factor
    return gradients, norm
