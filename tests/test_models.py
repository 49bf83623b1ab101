"""Models: packing makes a sequence's logits independent of its padding and of its batch."""

from __future__ import annotations

import pytest
import torch

from imbloss.data.base import PreparedData, TensorSplit
from imbloss.models import CharBiGRU, CosineClassifier, FeatureMLP, build_model


def _padded(sequences: list[list[int]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.zeros(len(sequences), width, dtype=torch.int64)
    for i, seq in enumerate(sequences):
        x[i, : len(seq)] = torch.tensor(seq)
    return x, torch.tensor([len(s) for s in sequences])


SEQUENCES = [[5, 3, 9], [2, 4, 6, 8, 7, 3], [7], [3, 3, 2, 9]]


def test_bigru_logits_do_not_depend_on_padding_or_batch_order() -> None:
    torch.manual_seed(0)
    model = CharBiGRU(10, 4, embedding_dim=5, hidden_size=7).eval()
    x, lengths = _padded(SEQUENCES, 6)
    with torch.no_grad():
        logits = model(x, lengths)
        wider = model(*_padded(SEQUENCES, 11))
        perm = torch.tensor([2, 0, 3, 1])
        permuted = model(x[perm], lengths[perm])
        alone = torch.cat([model(*_padded([s], len(s))) for s in SEQUENCES])
    assert logits.shape == (4, 4)
    torch.testing.assert_close(wider, logits)
    torch.testing.assert_close(permuted, logits[perm])
    torch.testing.assert_close(alone, logits)


def test_bigru_uses_the_final_state_of_both_directions() -> None:
    """The backward direction's final state has read the first character last."""
    torch.manual_seed(0)
    model = CharBiGRU(10, 2, embedding_dim=4, hidden_size=3).eval()
    gru = model.gru
    x, lengths = _padded([[5, 3, 9]], 3)
    emb = model.embedding(x)
    with torch.no_grad():
        forward = torch.nn.GRU(4, 3, batch_first=True)
        backward = torch.nn.GRU(4, 3, batch_first=True)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(forward, f"{name}_l0").copy_(getattr(gru, f"{name}_l0"))
            getattr(backward, f"{name}_l0").copy_(getattr(gru, f"{name}_l0_reverse"))
        h_fwd = forward(emb)[1][0]
        h_bwd = backward(emb.flip(1))[1][0]
        expected = model.head(torch.cat([h_fwd, h_bwd], dim=1))
        torch.testing.assert_close(model(x, lengths), expected)


def test_mlp_shapes() -> None:
    mlp = FeatureMLP(8, 3, hidden_size=5)
    assert mlp(torch.randn(6, 8)).shape == (6, 3)


def test_cosine_classifier_gives_the_cosine_of_features_and_class_weights() -> None:
    torch.manual_seed(0)
    head = CosineClassifier(5, 3)
    features = torch.randn(4, 5)
    expected = torch.stack(
        [torch.nn.functional.cosine_similarity(features, w[None, :], dim=1) for w in head.weight],
        dim=1,
    )
    torch.testing.assert_close(head(features), expected)
    # scaling a feature vector or a class weight leaves the logits unchanged
    torch.testing.assert_close(head(3.0 * features), head(features))
    mlp = FeatureMLP(8, 3, hidden_size=5, classifier="cosine")
    assert mlp(torch.randn(6, 8)).abs().max() <= 1.0 + 1e-6


def _data(kind: str) -> PreparedData:
    if kind == "sequence":
        x, lengths = _padded(SEQUENCES, 6)
    else:
        x, lengths = torch.randn(4, 8), None
    split = TensorSplit(x, torch.tensor([0, 1, 2, 0]), lengths)
    return PreparedData(
        split, split, split, ["a", "b", "c"], kind, 10 if lengths is not None else 8
    )


def test_build_model_follows_the_data_kind() -> None:
    seq = build_model(_data("sequence"), hidden_size=6, embedding_dim=4)
    assert isinstance(seq, CharBiGRU)
    assert seq.gru.hidden_size == 6 and seq.embedding.embedding_dim == 4
    assert seq.head.out_features == 3
    mlp = build_model(_data("features"), hidden_size=6)
    assert isinstance(mlp, FeatureMLP)
    data = _data("features")
    data.kind = "image"
    with pytest.raises(ValueError, match="'image'.*sequence.*features"):
        build_model(data)
