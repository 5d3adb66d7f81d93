"Stage 2: attention hooks, the migration losses and the distillation loop (fast, on freshly built tiny models)."
import json, shutil, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from diffusers import UNet2DConditionModel

from sar_xsensor.mmdit import build_foundation
from sar_xsensor.hooks import install_hooks, attention_layers
from sar_xsensor.losses import ad_loss, content_loss, speckle_loss, frequency_loss, MigrationWeights, total_loss
from sar_xsensor.migrate import migrate_batch, MigrationConfig
from sar_xsensor.simulate import simulate_chips

EXE = shutil.which('sar-xsensor') or str(Path(sys.executable).parent/'sar-xsensor')


@pytest.fixture(scope='module')
def pipe():
    return build_foundation(seed=2)


def test_hooked_dit_is_bit_identical_and_gradients_reach_only_the_latent(pipe):
    dit = pipe.transformer.eval().requires_grad_(False)
    g = torch.Generator().manual_seed(1)
    z, ctx, pooled = torch.randn(2, 16, 16, 16, generator=g), torch.randn(2, 64, 128, generator=g), torch.randn(2, 128, generator=g)
    run = lambda z: dit(hidden_states=z, encoder_hidden_states=ctx, pooled_projections=pooled, timestep=torch.tensor([300., 300.])).sample
    ref = run(z)
    h = install_hooks(dit, layers=[0, -1])
    assert torch.equal(run(z), ref) and h.layers == [attention_layers(dit)[0], attention_layers(dit)[-1]]
    with torch.no_grad(): run(z.flip(0)); style = {n: h.store[n] for n in h.layers}
    zo = z.clone().requires_grad_(); run(zo)
    loss = ad_loss([h.store[n] for n in h.layers], [style[n][1:] for n in h.layers])
    loss.backward()
    assert loss > 0 and zo.grad.abs().sum() > 0 and all(p.grad is None for p in dit.parameters())
    h.remove()
    assert torch.equal(run(z), ref)


def test_hooked_unet_self_attention_is_bit_identical():
    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
                                down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'), up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'),
                                cross_attention_dim=16, attention_head_dim=4, norm_num_groups=8).eval()
    x, text = torch.randn(1, 4, 8, 8), torch.randn(1, 5, 16)
    ref = unet(x, 3, encoder_hidden_states=text).sample
    h = install_hooks(unet)
    assert torch.equal(unet(x, 3, encoder_hidden_states=text).sample, ref)
    assert len(h.store) == len(attention_layers(unet)) > 0 and all(n.endswith('attn1') for n in h.layers)


def test_losses_vanish_for_identical_inputs_and_stay_finite_on_degenerate_chips():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 8, 4, generator=g) for _ in range(3))
    assert ad_loss([(q, k, v)], [(k, v)]) == 0 and content_loss([q], [q]) == 0
    rng = np.random.default_rng(0)
    two = torch.from_numpy(rng.gamma(2, 0.5, (2, 32, 32))).float()
    assert speckle_loss(two, two) == 0 and frequency_loss(two, two) == 0
    for bad in (torch.zeros(2, 32, 32), torch.ones(2, 32, 32)):
        x = bad.clone().requires_grad_()
        (speckle_loss(x, two) + frequency_loss(x, two)).backward()
        assert torch.isfinite(x.grad).all()
    with pytest.raises(FloatingPointError, match='speckle'):
        total_loss({'speckle': torch.tensor(float('inf'))}, MigrationWeights())


def test_migration_lowers_the_objective_and_respects_switched_off_terms(pipe):
    src = simulate_chips(['C-17', 'F-16'], 'tsx_like', 96., 64, seed=1)['display']/255.
    tgt = simulate_chips(['C-17', 'F-16'], 'fc1_like', 163.2, 64, seed=2)['display']/255.
    res = migrate_batch(pipe, src, tgt, 'fc1_like', MigrationConfig(steps=12, lr=0.05), seed=0)
    tot = [h['total'] for h in res['history']]
    assert res['chips'].shape == (2, 64, 64) and res['chips'].dtype == np.uint8 and tot[-1] < tot[0]
    res = migrate_batch(pipe, src, tgt, 'fc1_like', MigrationConfig(steps=2, weights=MigrationWeights(speckle=0, freq=0)))
    assert set(res['losses']) == {'step', 'total', 'ad', 'content'}
    with pytest.raises(ValueError, match='must both be'): migrate_batch(pipe, src, tgt[:1], 'fc1_like')


def test_cli_migrate_writes_a_manifest_and_resumes(pipe, tmp_path):
    pipe.save_pretrained(tmp_path/'fm')
    for name, s, fp in (('src', 'tsx_like', 96.), ('tgt', 'fc1_like', 163.2)):
        sim = simulate_chips(['B-52', 'C-130', 'C-130'], s, fp, 64, seed=4)
        for i, (chip, m) in enumerate(zip(sim['display'], sim['meta'])):
            (tmp_path/name/m['cls']).mkdir(parents=True, exist_ok=True); Image.fromarray(chip).save(tmp_path/name/m['cls']/f'{i}.png')
    args = [EXE, 'migrate', '--content', str(tmp_path/'src'), '--style', str(tmp_path/'tgt'), '--out', str(tmp_path/'out'),
            '--steps', '3', '--target-sensor', 'fc1_like', '--base-model', str(tmp_path/'fm'), '--weights', 'freq=0', '--layers', '0,-1', '--keep-scale', '--quiet']
    r = subprocess.run(args, capture_output=True, text=True); assert r.returncode == 0, r.stderr
    man = (tmp_path/'out'/'manifest.csv').read_text().splitlines()
    assert len(man) == 4 and 'fc1_like' not in man[0]
    first = (tmp_path/'out'/'C-130'/'2.png').read_bytes()
    r = subprocess.run(args, capture_output=True, text=True); assert r.returncode == 0, r.stderr
    assert (tmp_path/'out'/'C-130'/'2.png').read_bytes() == first
    terms = json.loads(__import__('pandas').read_csv(tmp_path/'out'/'manifest.csv').loss_terms[0])
    assert set(terms) == {'ad', 'content', 'speckle'}


def test_unet_backbone_needs_a_local_model(tmp_path):
    from sar_xsensor.migrate import load_backbone
    with pytest.raises(ValueError, match='base-model'): load_backbone('unet')
    with pytest.raises(FileNotFoundError, match='does not exist'): load_backbone('unet', tmp_path/'sd15')
    with pytest.raises(ValueError, match='unknown backbone'): load_backbone('vit')


def test_resume_after_a_kill_gives_the_same_chips(pipe, tmp_path):
    "A kill between batches loses some chips and the manifest's last rows; the resumed run rewrites them bit-identically."
    import pandas as pd
    from sar_xsensor.migrate import migrate_dir
    for name, s, fp in (('src', 'tsx_like', 96.), ('tgt', 'fc1_like', 163.2)):
        sim = simulate_chips(['B-52', 'C-130', 'C-130', 'F-16', 'F-16'], s, fp, 64, seed=7)
        for i, (chip, m) in enumerate(zip(sim['display'], sim['meta'])):
            (tmp_path/name/m['cls']).mkdir(parents=True, exist_ok=True); Image.fromarray(chip).save(tmp_path/name/m['cls']/f'{i}.png')
    cfg = lambda: MigrationConfig(steps=2, batch_size=2, weights=MigrationWeights(freq=0), layers=[0, -1], match_spacing=False)
    run = lambda out: migrate_dir(tmp_path/'src', tmp_path/'tgt', out, 'fc1_like', base=tmp_path/'fm', cfg=cfg(), seed=3, progress=False)
    pipe.save_pretrained(tmp_path/'fm')
    full = run(tmp_path/'a')
    want = {p: (tmp_path/'a'/p).read_bytes() for p in full.path}
    run(tmp_path/'b')
    man = pd.read_csv(tmp_path/'b'/'manifest.csv')
    killed = man.path.iloc[-1]; (tmp_path/'b'/killed).unlink()           # the last chip's file is gone...
    man.iloc[:-3].to_csv(tmp_path/'b'/'manifest.csv', index=False)       # ...and the last batch never reached the manifest
    run(tmp_path/'b')
    assert {p: (tmp_path/'b'/p).read_bytes() for p in full.path} == want
    assert sorted(pd.read_csv(tmp_path/'b'/'manifest.csv').path) == sorted(full.path)


def test_spacings_given_by_hand_fill_missing_manifests():
    "Your own folders without manifests: --target-spacing / --source-spacing let migration resample to the target's scale."
    import pandas as pd
    from sar_xsensor.migrate import content_spacing, MigrationConfig
    cdf = pd.DataFrame(dict(path=['a.png', 'b.png'], cls=['x', 'x']))
    assert content_spacing(cdf, 'c', MigrationConfig(chip_spacing_m=2.5, content_spacing_m=1.5)).tolist() == [1.5, 1.5]
    with pytest.warns(UserWarning, match='--source-spacing'): assert content_spacing(cdf, 'c', MigrationConfig(chip_spacing_m=2.5)) is None
