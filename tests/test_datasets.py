"""Loading the datasets: IDX parsing, validation, the source order and the offline error."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from cnn import datasets
from cnn.datasets import DATA_DIR_ENV, DataUnavailableError, load_split
from cnn.idx import IMAGES_MAGIC, IdxError, read_idx, write_idx


def test_shipped_test_sets_have_the_original_counts():
    for name in datasets.DATASETS:
        images, labels = load_split(name, "test")
        assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (10_000,)
        assert np.bincount(labels, minlength=10).min() > 800
    mnist_counts = np.bincount(load_split("mnist", "test")[1])
    assert mnist_counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_raw_and_gzipped_files_load_the_same(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    images, labels = load_split("mnist", "test")
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    write_idx(raw_dir / "t10k-images-idx3-ubyte", images[::-1])  # reversed: proves this folder was read
    write_idx(raw_dir / "t10k-labels-idx1-ubyte", labels[::-1])
    raw_images, raw_labels = load_split("mnist", "test", data_dir=raw_dir)
    np.testing.assert_array_equal(raw_images, images[::-1])
    np.testing.assert_array_equal(raw_labels, labels[::-1])


def test_data_dir_with_dataset_subfolders_and_env_variable(offline_data_dir, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(offline_data_dir))
    images, labels = load_split("mnist", "train")
    assert images.shape == (60_000, 28, 28) and labels.shape == (60_000,)


def test_truncated_gzip_names_the_file(tmp_path):
    source = datasets.SHIPPED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz"
    broken = tmp_path / "t10k-images-idx3-ubyte.gz"
    broken.write_bytes(source.read_bytes()[:200_000])
    shutil.copy(datasets.SHIPPED_DATA / "mnist" / "t10k-labels-idx1-ubyte.gz", tmp_path)
    with pytest.raises(IdxError, match="t10k-images-idx3-ubyte.gz"):
        load_split("mnist", "test", data_dir=tmp_path)


def test_truncated_raw_file_is_refused_not_short(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    write_idx(path, np.zeros((10_000, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IdxError, match="truncated"):
        read_idx(path, IMAGES_MAGIC, 10_000)


def test_wrong_magic_and_wrong_count_are_refused(tmp_path):
    labels_as_images = tmp_path / "labels"
    write_idx(labels_as_images, np.zeros(10, np.uint8))
    with pytest.raises(IdxError, match="magic"):
        read_idx(labels_as_images, IMAGES_MAGIC)
    short = tmp_path / "short"
    write_idx(short, np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(IdxError, match="5 items, expected 10000"):
        read_idx(short, IMAGES_MAGIC, 10_000)


def test_garbage_gzip_is_refused(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(IdxError, match="cannot be read"):
        read_idx(path, IMAGES_MAGIC)
    path.write_bytes(gzip.compress(b"\x00\x00\x08"))
    with pytest.raises(IdxError, match="too short"):
        read_idx(path, IMAGES_MAGIC)


def test_offline_without_any_source_names_the_three_ways(tmp_path, monkeypatch):
    import keras

    def no_network():
        raise OSError("network is unreachable")

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(DataUnavailableError) as err:
        load_split("mnist", "train", data_dir=tmp_path)
    message = str(err.value)
    assert "--data-dir" in message and DATA_DIR_ENV in message
    assert "dataset-fashion-mnist" in message and "load_data" in message


def test_fashion_mnist_comes_from_debian_package(monkeypatch):
    """CI installs Debian's dataset-fashion-mnist; its training set must load with no option."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert datasets.DATASETS["fashion_mnist"].debian_dir.is_dir(), "apt install dataset-fashion-mnist"
    images, labels = load_split("fashion_mnist", "train")
    assert images.shape == (60_000, 28, 28)
    assert np.bincount(labels).tolist() == [6000] * 10


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_split("cifar10", "test")
    with pytest.raises(ValueError, match="split"):
        load_split("mnist", "validation")
