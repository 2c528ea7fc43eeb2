"""Training LUKE in NumPy (issue 22): every gradient derived by hand, beside a mirror of the
forward it differentiates.

The core's forward modules (``numpy_luke/core``) are inference only and stay as they are: no
activations kept, no extra branches, so inference neither slows nor grows. This package
mirrors them:

- ``backward.py``: the primitives' backward functions (linear, layer norm, exact GELU, masked
  softmax, table lookups with repeated ids);
- ``encoder.py``: a recording forward of the embeddings, the entity-aware attention, the
  encoder layer and the pooler, each returning ``(output, cache)``, and the matching
  ``*_backward(d_output, cache)``; the recording forward calls the primitives inference
  runs (``core/fast.py``), and a test checks that it gives the core's numbers;
- ``heads.py``: each head's forward with cache, its loss and their backward, and
  ``loss_and_gradients``, which ``LukePreTrainedModel.loss_and_gradients`` calls;
- ``optim.py``: ``AdamW`` (as ``torch.optim.AdamW``), ``linear_warmup_decay`` and
  ``clip_by_global_norm``.

Gradient arrays are keyed by the core's parameter names (no ``luke.`` prefix) inside this
package; ``loss_and_gradients`` renames them to ``model.state_dict()``'s names.
"""

from .optim import AdamW, clip_by_global_norm, linear_warmup_decay

__all__ = ["AdamW", "clip_by_global_norm", "linear_warmup_decay"]
