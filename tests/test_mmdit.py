import pytest
import torch
from diffusers.models.attention import JointTransformerBlock

from sar_xsensor.mmdit import mmdit_block


@pytest.mark.parametrize('dual', [False, True])
def test_written_out_block_equals_diffusers(dual):
    torch.manual_seed(3)
    b = JointTransformerBlock(dim=32, num_attention_heads=2, attention_head_dim=16, qk_norm='rms_norm', use_dual_attention=dual)
    with torch.no_grad():
        for p in b.parameters(): p.copy_(torch.randn_like(p)*0.1)
        x, c, y = torch.randn(3, 9, 32), torch.randn(3, 5, 32), torch.randn(3, 32)
        c_ref, x_ref = b(hidden_states=x, encoder_hidden_states=c, temb=y)
        c_out, x_out = mmdit_block(b, x, c, y)
    assert (x_out - x_ref).abs().max() <= 1e-5 and (c_out - c_ref).abs().max() <= 1e-5


def test_an_incompatible_transformers_is_named(monkeypatch):
    "A transformers-4 reading the shipped transformers-5 tokenizer raises TypeError deep inside; the user gets the versions needed."
    import pytest
    from diffusers import StableDiffusion3Pipeline
    from sar_xsensor import mmdit
    def fail(*a, **k): raise TypeError("expected str, bytes or os.PathLike object, not NoneType")
    monkeypatch.setattr(StableDiffusion3Pipeline, 'from_pretrained', fail)
    with pytest.raises(RuntimeError, match=r'transformers>=5 and diffusers>=0\.40'): mmdit.load_pipeline()
