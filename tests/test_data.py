import numpy as np
import pytest
import torch

from rnnlab.data import SequenceDataset, make_pairs, reverse_pairs, train_test_split
from rnnlab.data.dataset import length_mask


def test_reverse_pairs_follow_the_tutorial():
    sources, targets = reverse_pairs(n_samples=500, max_len=5, seed=1)
    assert len(sources) == len(targets) == 500
    assert {len(s) for s in sources} == {1, 2, 3, 4, 5}
    assert {t for s in sources for t in s} == set(range(1, 10))
    assert all(t == s[::-1] for s, t in zip(sources, targets, strict=True))


def test_generators_are_seeded_and_leave_global_state_alone():
    np.random.seed(3)
    before = np.random.get_state()[1].copy()
    assert reverse_pairs(50, seed=7) == reverse_pairs(50, seed=7)
    assert reverse_pairs(50, seed=7) != reverse_pairs(50, seed=8)
    assert (np.random.get_state()[1] == before).all()


@pytest.mark.parametrize("task, expected", [("copy", [3, 7, 2]), ("sort", [2, 3, 7])])
def test_other_tasks(task, expected):
    sources, targets = make_pairs(task, 200, 4, seed=0)
    for s, t in zip(sources, targets, strict=True):
        assert t == (s if task == "copy" else sorted(s))


def test_unknown_task():
    with pytest.raises(ValueError, match=r"Unknown task 'nope'; expected one of \['add', 'copy'"):
        make_pairs("nope", 10, 5)


def test_split_matches_scikit_learns_partition():
    # scikit-learn's train_test_split(test_size=0.2, random_state=42) shuffles with
    # RandomState(42).permutation and takes the first ceil(0.2 n) indices as the test part.
    x = np.arange(10)
    x_train, x_test = train_test_split(x, test_size=0.2, seed=42)
    perm = np.random.RandomState(42).permutation(10)
    assert x_test.tolist() == perm[:2].tolist() and x_train.tolist() == perm[2:].tolist()
    assert sorted(x_train.tolist() + x_test.tolist()) == list(range(10))


def test_split_keeps_arrays_aligned_and_sizes():
    x, y = np.arange(1000), [str(i) for i in range(1000)]
    x_tr, x_te, _y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=42)
    assert (len(x_tr), len(x_te)) == (800, 200)
    assert [str(i) for i in x_te] == y_te


def test_split_errors():
    with pytest.raises(ValueError, match="array 0 has 3, array 1 has 2"):
        train_test_split([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"`test_size` as a fraction must be in \(0, 1\), got 1.5"):
        train_test_split([1, 2, 3], test_size=1.5)


def test_dataset_masks_and_batches():
    data = SequenceDataset.from_padded(
        np.zeros((5, 4, 1)), np.zeros((5, 4, 1)), [1, 2, 3, 4, 4], [1, 2, 3, 4, 4]
    )
    assert data.input_mask().sum(1).tolist() == [1, 2, 3, 4, 4]
    assert data.input_mask()[1].tolist() == [True, True, False, False]
    sizes = [
        len(b) for b in data.batches(2, shuffle=True, generator=torch.Generator().manual_seed(0))
    ]
    assert sizes == [2, 2, 1]


def test_pre_padding_mask():
    mask = length_mask(torch.tensor([1, 3]), 4, padding="pre")
    assert mask.tolist() == [[False, False, False, True], [False, True, True, True]]


def test_dataset_rejects_misaligned_parts():
    with pytest.raises(ValueError, match="`targets` has 2 rows, expected 3"):
        SequenceDataset.from_padded(np.zeros((3, 2, 1)), np.zeros((2, 2, 1)), [1, 1, 1], [1, 1])
