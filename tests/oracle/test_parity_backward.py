"""The hand-derived gradients (numpy_luke.training) against torch autograd on transformers'
own LukeFor... classes (issue 22's acceptance), in float64, dropout off (eval mode).

For every head class, on the tiny random configs of tests/training/test_backward.py (entity-aware
attention on, entity_emb_size < hidden, padding in words and entities, repeated ids, an
empty mention): the loss equals transformers' within 1e-9 and every parameter's gradient
equals autograd's within 1e-7 of that tensor's largest entry (or of 1e-8, for a gradient
that is 0 in exact arithmetic and round-off in both); the parameters with a
gradient are exactly those torch gives a gradient (a tied tensor once, under its owner's
name; a tensor the loss does not read, like the pooler of an entity head, has none).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_backward import (
    batch_inputs,
    float64_model,
    head_cases,
    tiny_config,
)

from numpy_luke import LukeForMultipleChoice, LukeForQuestionAnswering

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LOSS_TOLERANCE = 1e-9
GRADIENT_TOLERANCE = 1e-7  # of each tensor's largest entry


def autograd(model, folder, inputs, labels):
    """transformers' loss and {parameter name: gradient} for the same weights and batch."""
    model.save_pretrained(folder)
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    theirs = getattr(transformers, type(model).__name__).from_pretrained(folder, dtype=dtype).eval()
    tensors = {k: torch.tensor(np.asarray(v)) for k, v in {**inputs, **labels}.items()}
    loss = theirs(**tensors).loss
    loss.backward()
    grads = {name: p.grad.numpy() for name, p in theirs.named_parameters() if p.grad is not None}
    return loss.item(), grads


def compare(
    model,
    folder,
    inputs,
    labels,
    loss_tolerance=LOSS_TOLERANCE,
    tolerance=GRADIENT_TOLERANCE,
    floor=1e-8,
):
    loss, grads = model.loss_and_gradients(**inputs, **labels)
    their_loss, their_grads = autograd(model, folder, inputs, labels)
    assert abs(float(loss) - their_loss) <= loss_tolerance * max(1, abs(their_loss)), (
        float(loss),
        their_loss,
    )
    assert set(grads) == set(their_grads), set(grads) ^ set(their_grads)
    worst = 0.0
    for name, theirs in their_grads.items():
        assert grads[name].dtype == theirs.dtype, name
        # a gradient that is 0 in exact arithmetic (the last layer norm's bias under a
        # softmax loss whose rows sum to 0) is round-off in both: the scale has a floor
        scale = max(np.abs(theirs).max(), floor)
        error = np.abs(grads[name] - theirs).max() / scale
        assert error <= tolerance, (name, error)
        if scale > floor:  # the figure printed: tensors with a gradient above round-off
            worst = max(worst, error)
    print(
        f"{type(model).__name__}: loss error {abs(float(loss) - their_loss):.1e}, "
        f"largest gradient error {worst:.1e} of the tensor's largest entry"
    )


@pytest.mark.parametrize("case", range(9))
@pytest.mark.parametrize("entity_aware", [True, False])
def test_gradients_equal_torch_autograd(tmp_path, case, entity_aware):
    rng = np.random.default_rng(30 + case)
    config = tiny_config(use_entity_aware_attention=entity_aware)
    cls, labels = head_cases(rng, config)[case]
    if cls is LukeForQuestionAnswering:
        config = tiny_config(num_labels=2, use_entity_aware_attention=entity_aware)
    multi_label = {"LukeForEntityClassification": 2, "LukeForEntitySpanClassification": 3}
    if np.ndim(labels.get("labels")) == multi_label.get(cls.__name__):
        labels = {**labels, "labels": labels["labels"].astype(np.float64)}  # BCE targets
    model = float64_model(cls, config, seed=case)
    compare(model, tmp_path, batch_inputs(rng, config), labels)


@pytest.mark.parametrize("case", range(9))
def test_float32_gradients_equal_torch_autograd_within_1e_3(tmp_path, case):
    """float32 model, float32 torch: loss and gradients within 1e-3 relative."""
    rng = np.random.default_rng(50 + case)
    config = tiny_config()
    cls, labels = head_cases(rng, config)[case]
    if cls is LukeForQuestionAnswering:
        config = tiny_config(num_labels=2)
    multi_label = {"LukeForEntityClassification": 2, "LukeForEntitySpanClassification": 3}
    if np.ndim(labels.get("labels")) == multi_label.get(cls.__name__):
        labels = {**labels, "labels": labels["labels"].astype(np.float32)}
    model = float64_model(cls, config, seed=case)
    model.params = {k: v.astype(np.float32) for k, v in model.params.items()}
    for tied, owner in (
        ("lm_head.decoder.weight", "embeddings.word_embeddings.weight"),
        ("entity_predictions.decoder.weight", "entity_embeddings.entity_embeddings.weight"),
    ):
        if tied in model.params:
            model.params[tied] = model.params[owner]
    compare(
        model,
        tmp_path,
        batch_inputs(rng, config),
        labels,
        loss_tolerance=1e-6,
        tolerance=1e-3,
        floor=1e-4,
    )


def test_multiple_choice_gradients_equal_torch_autograd(tmp_path):
    rng = np.random.default_rng(40)
    config = tiny_config()
    model = float64_model(LukeForMultipleChoice, config)
    one = batch_inputs(rng, config, batch=4)
    inputs = {k: v.reshape(2, 2, *v.shape[1:]) for k, v in one.items()}
    compare(model, tmp_path, inputs, {"labels": np.array([1, 0])})


def test_untied_word_decoder_gets_its_own_gradient(tmp_path):
    rng = np.random.default_rng(41)
    config = tiny_config(tie_word_embeddings=False)
    cls, labels = head_cases(rng, config)[8]
    model = float64_model(cls, config)
    compare(model, tmp_path, batch_inputs(rng, config), labels)


@pytest.mark.parametrize("case", [0, 3, 8])  # entity, entity-span, masked LM (tied tables)
def test_five_adamw_steps_equal_torch_adamw(tmp_path, case):
    """Same weights, data and settings (warmup then linear decay, clipping by global norm
    that bites, decay exempting biases and layer norms in one run): parameters within 1e-7
    after five steps, float64."""
    from numpy_luke.training import AdamW, clip_by_global_norm, linear_warmup_decay

    rng = np.random.default_rng(60 + case)
    config = tiny_config()
    cls, labels = head_cases(rng, config)[case]
    model = float64_model(cls, config, seed=case)
    inputs = batch_inputs(rng, config)
    model.save_pretrained(tmp_path)
    theirs = (
        getattr(transformers, cls.__name__).from_pretrained(tmp_path, dtype=torch.float64).eval()
    )
    lr, max_norm, no_decay = 1e-2, 0.5, ("bias", "LayerNorm.weight", "layer_norm.weight")
    named = dict(theirs.named_parameters())
    groups = [
        {"params": [p for n, p in named.items() if not n.endswith(no_decay)]},
        {"params": [p for n, p in named.items() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    torch_optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=0.01)
    optimizer = AdamW(model, lr, weight_decay=0.01, no_decay=no_decay)
    tensors = {k: torch.tensor(np.asarray(v)) for k, v in {**inputs, **labels}.items()}
    norms = []
    for step in range(5):
        factor = linear_warmup_decay(step + 1, 2, 6)
        _, grads = model.loss_and_gradients(**inputs, **labels)
        grads, norm = clip_by_global_norm(grads, max_norm)
        optimizer.lr = lr * factor
        optimizer.step(grads)

        torch_optimizer.zero_grad(set_to_none=True)
        theirs(**tensors).loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm)))
        for group in torch_optimizer.param_groups:
            group["lr"] = lr * factor
        torch_optimizer.step()
        assert abs(norm - norms[-1]) <= 1e-9 * norms[-1]
    assert max(norms) > max_norm  # clipping took effect
    state, their_state = model.state_dict(), theirs.state_dict()
    worst = 0.0
    for name, value in state.items():
        expected = their_state[name].numpy()
        error = np.abs(value - expected).max()
        assert error <= 1e-7, (name, error)
        worst = max(worst, error)
    print(f"{cls.__name__}: five AdamW steps, largest parameter difference {worst:.1e}")


@pytest.mark.parametrize("case", [0, 2, 3, 5, 6, 7, 8])
def test_gradients_with_dropout_equal_torch_autograd_given_the_same_masks(tmp_path, case):
    """Dropout on: transformers in training mode, each nn.Dropout handed the mask
    numpy_luke drew (in call order): same loss and gradients, float64. This checks where
    the dropouts sit and in which order they are drawn."""
    from test_backward import RecordingGenerator, dropout_config

    rng = np.random.default_rng(80 + case)
    cls, labels = head_cases(rng, tiny_config())[case]
    config = dropout_config(num_labels=2 if cls is LukeForQuestionAnswering else 3)
    model = float64_model(cls, config, seed=case)
    inputs = batch_inputs(rng, config)
    recorder = RecordingGenerator(case)
    loss, grads = model.loss_and_gradients(**inputs, **labels, dropout_rng=recorder)
    p = config.hidden_dropout_prob  # = attention_probs_dropout_prob here
    masks = iter([torch.tensor((u >= p) / (1 - p)) for u in recorder.draws])

    model.save_pretrained(tmp_path)
    theirs = (
        getattr(transformers, cls.__name__).from_pretrained(tmp_path, dtype=torch.float64).train()
    )
    for module in theirs.modules():
        if isinstance(module, torch.nn.Dropout):
            module.forward = lambda x: x * next(masks)
    tensors = {k: torch.tensor(np.asarray(v)) for k, v in {**inputs, **labels}.items()}
    their_loss = theirs(**tensors).loss
    their_loss.backward()
    assert next(masks, None) is None  # every mask used
    assert abs(float(loss) - their_loss.item()) <= LOSS_TOLERANCE
    for name, param in theirs.named_parameters():
        if param.grad is None:
            assert name not in grads
            continue
        expected = param.grad.numpy()
        scale = max(np.abs(expected).max(), 1e-8)
        assert np.abs(grads[name] - expected).max() / scale <= GRADIENT_TOLERANCE, name


@pytest.mark.parametrize("problem", ["regression", "multi_label_classification"])
def test_sequence_regression_and_multi_label_equal_torch_autograd(tmp_path, problem):
    rng = np.random.default_rng(90)
    if problem == "regression":
        config, labels = tiny_config(num_labels=1), np.array([0.5, -1.2])
    else:
        config = tiny_config(problem_type=problem)
        labels = (rng.random((2, 3)) < 0.5).astype(np.float64)
    from numpy_luke import LukeForSequenceClassification

    model = float64_model(LukeForSequenceClassification, config)
    compare(model, tmp_path, batch_inputs(rng, config), {"labels": labels})
