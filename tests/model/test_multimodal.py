"""Images and time series enter the LM at their placeholders."""

from __future__ import annotations

import pytest
import torch

from sciforge.model.timeseries import num_series_tokens, pool_factor


def _sample(model, cfg, series_shapes):
    text = [10, 11, cfg.image_token_id, 12, cfg.ts_token_id, 13, cfg.image_token_id, cfg.ts_token_id, 14]
    return model.expand_placeholders(text, series_shapes)


def test_multimodal_forward_with_images_and_series(tiny_model, tiny_cfg):
    torch.manual_seed(0)
    shapes = [(300, 100.0), (57, 1.0)]  # (length, sampling rate in Hz)
    ids = torch.tensor([_sample(tiny_model, tiny_cfg, shapes)])
    n_img = tiny_cfg.vision.tokens_per_image
    assert int((ids == tiny_cfg.image_token_id).sum()) == 2 * n_img
    assert int((ids == tiny_cfg.ts_token_id).sum()) == sum(
        num_series_tokens(n, r, tiny_cfg.time_series) for n, r in shapes
    )
    size = tiny_cfg.vision.image_size
    pixels = torch.randn(2, 3, size, size)
    series = [torch.randn(300, 3), torch.randn(57, 1)]  # multichannel and single-channel, different lengths
    out = tiny_model(ids, labels=ids, pixel_values=pixels, time_series=series, ts_sampling_rates=[100.0, 1.0])
    assert out.logits.shape == (1, ids.shape[1], tiny_cfg.vocab_size) and torch.isfinite(out.loss)

    # The second image only influences positions from its placeholders on (causal across modalities).
    pixels2 = pixels.clone()
    pixels2[1] = torch.randn(3, size, size)
    out2 = tiny_model(ids, pixel_values=pixels2, time_series=series, ts_sampling_rates=[100.0, 1.0])
    first_slot = int((ids[0] == tiny_cfg.image_token_id).nonzero()[n_img])
    torch.testing.assert_close(out2.logits[:, :first_slot], out.logits[:, :first_slot], rtol=0, atol=1e-6)
    assert not torch.allclose(out2.logits[:, first_slot:], out.logits[:, first_slot:])


def test_placeholder_count_mismatch_is_a_clear_error(tiny_model, tiny_cfg):
    ids = torch.tensor([[10, tiny_cfg.image_token_id, 11]])  # not expanded
    size = tiny_cfg.vision.image_size
    with pytest.raises(ValueError, match="image placeholder"):
        tiny_model(ids, pixel_values=torch.randn(1, 3, size, size))
    with pytest.raises(ValueError, match="image placeholder"):
        tiny_model(ids)  # placeholders but no image


def test_wrong_image_size_and_bad_series(tiny_model, tiny_cfg):
    enc = tiny_model.vision_model
    with pytest.raises(ValueError, match="tiles"):
        enc(torch.randn(1, 3, 30, 30))
    ts = tiny_model.time_series_model
    with pytest.raises(ValueError, match="channels"):
        ts([torch.randn(50, tiny_cfg.time_series.max_channels + 1)], [10.0])
    with pytest.raises(ValueError, match="NaN"):
        ts([torch.tensor([[1.0], [float("nan")]])], [10.0])
    with pytest.raises(ValueError, match="sampling rate"):
        ts([torch.randn(10, 1)], [0.0])


def test_adaptive_downsampling_uses_length_and_rate(tiny_cfg):
    c = tiny_cfg.time_series  # patch_stride 4, 50 Hz target token rate, <= 32 tokens
    assert pool_factor(100, 1.0, c) == 1  # slow, short series: no pooling
    assert pool_factor(100, 2000.0, c) == 10  # 2 kHz -> pool 10 so tokens come at <= 50 Hz
    assert pool_factor(100_000, 1.0, c) == 782  # long series: pooled to fit max_tokens
    for length in (1, 7, 100, 5000, 123_457):
        for rate in (0.1, 1.0, 250.0, 44_100.0):
            assert 1 <= num_series_tokens(length, rate, c) <= c.max_tokens


def test_series_encoder_handles_variable_lengths_in_one_batch(tiny_model, tiny_cfg):
    ts = tiny_model.time_series_model
    torch.manual_seed(0)
    a, b = torch.randn(400, 2), torch.randn(40, 5)
    together = ts([a, b], [50.0, 50.0])
    alone = ts([b], [50.0])
    assert [t.shape[0] for t in together] == [
        num_series_tokens(400, 50.0, tiny_cfg.time_series),
        num_series_tokens(40, 50.0, tiny_cfg.time_series),
    ]
    torch.testing.assert_close(together[1], alone[0], rtol=0, atol=1e-5)  # padding is masked out
