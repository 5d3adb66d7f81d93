"Stage 1: backbones, foundation pre-training, LoRA on Q/K/V and generation (fast, on freshly built tiny models)."
import json, shutil, subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from diffusers import StableDiffusion3Pipeline

from sar_xsensor.core import CLASSES
from sar_xsensor.mmdit import build_foundation, load_pipeline, check_sd3_dir, pipeline_t5_tokens, FOUNDATION_DIR
from sar_xsensor.foundation import build_corpus, near_target_sensor
from sar_xsensor.sensors import sar_prompt
from sar_xsensor.mmdit import encode_prompts
from sar_xsensor.lora import train_lora, load_adapter, generate, read_adapter_meta
from sar_xsensor.simulate import simulate_chips
from sar_xsensor.sensors import get_sensor
from sar_xsensor.cli import main

EXE = shutil.which('sar-xsensor') or str(Path(sys.executable).parent/'sar-xsensor')


@pytest.fixture(scope='module')
def base_dir(tmp_path_factory):
    "A randomly initialised small-world pipeline saved as a diffusers directory (stands in for any base)."
    d = tmp_path_factory.mktemp('base')/'fm'
    build_foundation(seed=1).save_pretrained(d)
    return d


@pytest.fixture(scope='module')
def source_chips():
    sim = simulate_chips(CLASSES[:2]*6, 'tsx_like', 96., 64, seed=3)
    return sim['display']/255., [m['cls'] for m in sim['meta']]


def _sample(pipe, prompt='SAR image, B-52', seed=0):
    return pipe([prompt]*2, height=64, width=64, num_inference_steps=3, guidance_scale=2.0, output_type='pt',
                max_sequence_length=pipeline_t5_tokens(pipe), generator=torch.Generator().manual_seed(seed)).images


def test_missing_or_incomplete_base_model_is_named_before_loading(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'): load_pipeline(tmp_path/'nope')
    (tmp_path/'sd35'/'vae').mkdir(parents=True); (tmp_path/'sd35'/'model_index.json').write_text('{}')
    with pytest.raises(FileNotFoundError, match='transformer/config.json'): check_sd3_dir(tmp_path/'sd35')
    with pytest.raises(SystemExit, match='does not exist'):
        main(['train-lora', '--data', str(tmp_path), '--out', str(tmp_path/'a'), '--base-model', str(tmp_path/'nope')])


def test_shipped_foundation_model_loads_and_samples():
    assert (FOUNDATION_DIR/'README.md').exists() and (FOUNDATION_DIR/'training_log.json').exists()
    size = sum(f.stat().st_size for f in FOUNDATION_DIR.rglob('*') if f.is_file())
    assert size <= 25*2**20, f"shipped model is {size/2**20:.1f} MB"
    pipe = load_pipeline()
    img = _sample(pipe)
    assert img.shape == (2, 1, 64, 64) and torch.isfinite(img).all()


def test_trained_text_encoders_tell_class_names_apart():
    pipe = load_pipeline()
    with torch.no_grad():
        seq, _ = encode_prompts(pipe, [sar_prompt(c, 'tsx_like') for c in CLASSES])
    e = seq.flatten(1)   # the token sequence the MM-DiT attends to
    cos = torch.nn.functional.cosine_similarity(e[:, None], e[None], dim=-1)
    off = cos[~torch.eye(len(CLASSES), dtype=bool)]
    assert off.max() < 0.999, f"class prompts collapse: max cosine {off.max():.4f}"


def test_corpus_keeps_the_target_sensor_and_benchmark_classes_out():
    c = build_corpus(40, seed=5, n_sensors=5, n_aircraft=8, progress=False)
    assert c['display'].shape == (40, 64, 64) and c['display'].dtype == np.uint8
    assert not set(c['meta'].target.str.lower()) & {x.lower() for x in CLASSES}
    assert not any('C-band, 3.0 m' in p for p in c['prompts'])
    assert near_target_sensor(get_sensor('fc1_like'))


def test_lora_trains_only_the_adapter_and_saved_adapter_loads_in_stock_pipeline(base_dir, source_chips, tmp_path):
    x, y = source_chips
    pipe = load_pipeline(base_dir)
    before = {k: v.clone() for k, v in pipe.transformer.state_dict().items()}
    meta = train_lora(pipe, x, y, tmp_path/'ad', sensor='tsx_like', rank=4, steps=6, batch_size=4, lr=1e-2,
                      checkpoint_every=3, base=str(base_dir), progress=False)
    trained = [n for n, p in pipe.transformer.named_parameters() if p.requires_grad]
    assert trained and all('lora_' in n for n in trained)
    assert all(('attn.to_' in n or 'attn.add_' in n) and 'attn2' not in n for n in trained)
    after = pipe.transformer.state_dict()
    base_keys = [k for k in before if 'lora_' not in k]
    for k in base_keys:
        k2 = k if k in after else k.replace('.weight', '.base_layer.weight').replace('.bias', '.base_layer.bias')
        assert torch.equal(before[k], after[k2].cpu()), k
    assert (tmp_path/'ad'/'pytorch_lora_weights.safetensors').exists() and meta['steps'] == 6
    # the stock diffusers loader
    plain = StableDiffusion3Pipeline.from_pretrained(base_dir, local_files_only=True, text_encoder_3=None, tokenizer_3=None)
    ref = _sample(plain)
    plain.load_lora_weights(tmp_path/'ad', weight_name='pytorch_lora_weights.safetensors', adapter_name='sar')
    assert plain.get_list_adapters() == {'transformer': ['sar']}
    assert (_sample(plain) - ref).abs().max() > 1e-4


def test_lora_resumes_from_its_checkpoint(base_dir, source_chips, tmp_path):
    x, y = source_chips
    kw = dict(sensor='tsx_like', rank=4, batch_size=4, checkpoint_every=2, base=str(base_dir), progress=False)
    full = train_lora(load_pipeline(base_dir), x, y, tmp_path/'full', steps=4, **kw)
    assert not (tmp_path/'full'/'checkpoint').exists()                 # removed once the adapter is written
    train_lora(load_pipeline(base_dir), x, y, tmp_path/'part', steps=2, keep_checkpoint=True, **kw)
    saved = {p.name for p in (tmp_path/'part'/'checkpoint').iterdir()}
    assert 'lora_weights.safetensors' in saved and not {'model.safetensors', 'pytorch_model.bin'} & saved   # LoRA tensors only
    resumed = train_lora(load_pipeline(base_dir), x, y, tmp_path/'part', steps=4, **kw)
    np.testing.assert_allclose(resumed['loss'], full['loss'], rtol=1e-4)


def test_lora_trains_a_bf16_base_in_mixed_precision(base_dir, source_chips, tmp_path):
    "A bf16 base (SD3.5 on a GPU loads so): bf16 autocast, fp32 LoRA weights, the base untouched."
    x, y = source_chips
    pipe = load_pipeline(base_dir, dtype=torch.bfloat16)
    before = {k: v.clone() for k, v in pipe.transformer.state_dict().items()}
    meta = train_lora(pipe, x, y, tmp_path/'ad', sensor='tsx_like', rank=4, steps=2, batch_size=4, base=str(base_dir), progress=False)
    assert np.isfinite(meta['loss']).all()
    lora = {n: p for n, p in pipe.transformer.named_parameters() if 'lora_' in n}
    assert lora and all(p.dtype == torch.float32 for p in lora.values())
    after = pipe.transformer.state_dict()
    assert all(torch.equal(v, after[k].cpu()) for k, v in before.items() if k in after)


def test_lora_rejects_bad_input(base_dir, source_chips, tmp_path):
    x, y = source_chips
    pipe = load_pipeline(base_dir)
    with pytest.raises(ValueError, match='labels'): train_lora(pipe, x, y[:-1], tmp_path/'a', steps=1, progress=False)
    bad = x.copy(); bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match='NaN'): train_lora(pipe, bad, y, tmp_path/'a', steps=1, progress=False)
    with pytest.raises(ValueError, match='match no module'):
        train_lora(pipe, x, y, tmp_path/'a', steps=1, targets=['nonexistent_proj'], progress=False)
    with pytest.raises(FileNotFoundError, match='adapter.json'): read_adapter_meta(tmp_path/'nothing')


def test_cli_train_lora_and_generate_resume(base_dir, tmp_path):
    r = subprocess.run([EXE, 'simulate', '--preset', 'tiny', '--out', str(tmp_path/'b'), '--quiet'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([EXE, 'train-lora', '--data', str(tmp_path/'b'/'tsx_like'), '--out', str(tmp_path/'ad'), '--base-model',
                        str(base_dir), '--steps', '4', '--batch-size', '4', '--classes', 'B-52,F-16', '--quiet'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path/'ad'/'adapter.json').read_text())
    assert meta['prompts']['B-52'] == 'SAR image, B-52, X-band, 1.0 m, 1 look, HH' and meta['classes'] == ['B-52', 'F-16']
    args = [EXE, 'generate', '--adapter', str(tmp_path/'ad'), '--out', str(tmp_path/'gen'), '--n-per-class', '2', '--steps', '3', '--quiet']
    r = subprocess.run(args, capture_output=True, text=True); assert r.returncode == 0, r.stderr
    first = (tmp_path/'gen'/'F-16'/'F-16_00001.png').read_bytes()
    r = subprocess.run(args[:6] + ['--n-per-class', '3'] + args[8:], capture_output=True, text=True); assert r.returncode == 0, r.stderr
    man = (tmp_path/'gen'/'manifest.csv').read_text().splitlines()
    assert len(man) == 1 + 6 and (tmp_path/'gen'/'F-16'/'F-16_00001.png').read_bytes() == first
    src = pd.read_csv(tmp_path/'b'/'manifest.csv'); src = src[(src.sensor == 'tsx_like') & src.cls.isin(['B-52', 'F-16'])]
    gen = pd.read_csv(tmp_path/'gen'/'manifest.csv')    # generated chips carry the training chips' spacing, for Stage 2's resampling
    assert meta['pixel_spacing_m'] == pytest.approx(src.pixel_spacing_m.median()) and (gen.pixel_spacing_m == meta['pixel_spacing_m']).all()
    assert np.array(Image.open(tmp_path/'gen'/'B-52'/'B-52_00002.png')).shape == (64, 64)
    with pytest.raises(SystemExit, match='not in the adapter'):
        main(['generate', '--adapter', str(tmp_path/'ad'), '--out', str(tmp_path/'g2'), '--classes', 'C-17'])


def test_cli_pretrain_runs_and_resumes(tmp_path):
    args = [EXE, 'pretrain', '--out', str(tmp_path/'fm'), '--work', str(tmp_path/'work'), '--chips', '32', '--batch-size', '4', '--quiet']
    r = subprocess.run(args + ['--steps', '2'], capture_output=True, text=True); assert r.returncode == 0, r.stderr
    r = subprocess.run(args + ['--steps', '3'], capture_output=True, text=True); assert r.returncode == 0, r.stderr
    rec = json.loads((tmp_path/'fm'/'training_log.json').read_text())
    assert len(rec['loss']) == 3 and rec['config']['n_chips'] == 32
    assert 'sar-xsensor pretrain' in (tmp_path/'fm'/'README.md').read_text()
    assert _sample(load_pipeline(tmp_path/'fm')).shape == (2, 1, 64, 64)



PRETRAIN_PROBE = """
import json, sys
from accelerate import PartialState
from safetensors.torch import save_file
import sar_xsensor.foundation as F
made, build = [], F.build_foundation
F.build_foundation = lambda *a, **k: made.append(build(*a, **k)) or made[-1]      # keep each process's model
rec = F.pretrain(sys.argv[1], sys.argv[2], steps=2, batch_size=2, n_chips=16, progress=False)
i = PartialState().process_index
save_file({k: v.contiguous() for k, v in made[0].transformer.state_dict().items()}, f'{sys.argv[2]}/weights{i}.safetensors')
json.dump(rec['loss'], open(f'{sys.argv[2]}/loss{i}.json', 'w'))
"""


def test_pretrain_is_data_parallel_under_torchrun(tmp_path):
    "Two processes: one simulates the corpus, each draws its own batch, gradients are averaged, so both replicas stay equal."
    from safetensors.torch import load_file
    torchrun = shutil.which('torchrun') or str(Path(sys.executable).parent/'torchrun')
    (tmp_path/'probe.py').write_text(PRETRAIN_PROBE)
    r = subprocess.run([torchrun, '--nproc_per_node', '2', str(tmp_path/'probe.py'), str(tmp_path/'fm'), str(tmp_path/'work')],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    l0, l1 = (json.loads((tmp_path/'work'/f'loss{i}.json').read_text()) for i in (0, 1))
    assert len(l0) == len(l1) == 2 and l0 != l1                     # each process trained on its own batches
    w0, w1 = (load_file(tmp_path/'work'/f'weights{i}.safetensors') for i in (0, 1))
    assert all(torch.equal(w0[k], w1[k]) for k in w0)               # averaged gradients: the replicas agree
    assert (tmp_path/'fm'/'training_log.json').exists()
