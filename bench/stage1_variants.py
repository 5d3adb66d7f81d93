"""Class control on `bench`: what do guidance and the LoRA's capacity change? (Follows up a low CAS in stage1_bench.json.)

    python bench/stage1_variants.py --work runs/bench_stage1 --out results/stage1/stage1_variants.json
    python bench/stage1_variants.py --work runs/bench_stage1_long --variants bench --guidance 1.5,3,4.5,6 --out results/stage1/stage1_guidance_long.json
    python bench/stage1_variants.py --work runs/reproduce_bench5 --adapter runs/reproduce_bench5/stage1/adapter --guidance 1.5,3 --out results/stage1/stage1_cas_bench5.json
    python bench/stage1_variants.py --work runs/s1 --variants bench_te32 --n-per-class 50 --out results/gpu/stage1_variants/bench_te32.json  # one per process: CHECKS=4 bash bench/gpu_check.sh

Re-uses the benchmark, the source split and the adapter of bench/bench_stage1.py (same --work and seed); trains the
extra adapters listed in VARIANTS; generates --n-per-class chips per class for each (adapter, guidance); reports the CAS
of classifiers trained on the real source training split, beside their accuracy on the held-out real source chips.
"""
import argparse, json, time
from pathlib import Path
import numpy as np
import torch

from sar_xsensor.core import get_preset, make_record, write_json_atomic, child_seed, compute_device
from sar_xsensor.lora import LORA_QKV, LORA_ALL_ATTENTION
from sar_xsensor.data import scan_chips, load_chips, split_target
from sar_xsensor.classify import train_classifier
from sar_xsensor.mmdit import load_pipeline
from sar_xsensor.lora import train_lora, load_adapter, generate, read_adapter_meta

FFN = ['ff.net.0.proj', 'ff.net.2', 'ff_context.net.0.proj', 'ff_context.net.2']
ADALN = ['norm1.linear', 'norm1_context.linear']
BENCH = dict(rank=16, alpha=16, targets=LORA_QKV, steps=3000, lr=5e-4, text_encoder_rank=8)   # the bench preset's adapter before this sweep
VARIANTS = {'qkv_r16_1500': None,   # the adapter bench_stage1.py trained in --work (Q/K/V r16, 1500 steps unless it was given other settings)
            'all_attention_r32_3000': dict(rank=32, alpha=32, targets=LORA_ALL_ATTENTION, steps=3000, lr=1e-3),
            # capacity and schedule of the text-encoder-LoRA adapter (issue 3: CAS 52 % with BENCH)
            'bench_te8': BENCH,
            'bench_te8_6000': {**BENCH, 'steps': 6000},
            'bench_te8_lr1e-3': {**BENCH, 'lr': 1e-3},
            'bench_te32': {**BENCH, 'text_encoder_rank': 32},
            'qkv_ffn_te8': {**BENCH, 'targets': LORA_QKV + FFN},
            'qkv_adaln_te8': {**BENCH, 'targets': LORA_QKV + ADALN},
            'all_attention_r32_te8': {**BENCH, 'rank': 32, 'alpha': 32, 'targets': LORA_ALL_ATTENTION, 'lr': 1e-3},
            'all_attention_r32_te8_6000': {**BENCH, 'rank': 32, 'alpha': 32, 'targets': LORA_ALL_ATTENTION, 'lr': 1e-3, 'steps': 6000},
            'everything_r32_te16_6000': dict(rank=32, alpha=32, targets=LORA_ALL_ATTENTION + FFN + ADALN, steps=6000, lr=1e-3, text_encoder_rank=16)}
GUIDANCE = {'qkv_r16_1500': [1.5, 6.0], 'all_attention_r32_3000': [3.0, 6.0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--work', default='runs/bench_stage1'); ap.add_argument('--out', default='results/stage1/stage1_variants.json')
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--n-per-class', type=int, default=30)
    ap.add_argument('--classifier-seeds', type=int, default=3); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--variants', default=','.join(VARIANTS), help="which adapters ('bench' = the one bench_stage1.py trained in --work)")
    ap.add_argument('--adapter', default=None, help="score this trained adapter directory (e.g. a reproduce run's stage1/adapter) instead of --variants")
    ap.add_argument('--guidance', default=None, help='comma-separated guidance scales for every adapter (default: GUIDANCE)')
    a = ap.parse_args()
    if a.adapter and not (Path(a.adapter)/'adapter.json').exists():
        raise SystemExit(f'--adapter {a.adapter}: no adapter.json there (not a trained adapter directory)')
    names = ['given'] if a.adapter else [('qkv_r16_1500' if v == 'bench' else v) for v in a.variants.split(',')]
    guidance = {n: [float(x) for x in a.guidance.split(',')] for n in names} if a.guidance else {n: GUIDANCE.get(n, [1.5, 3.0]) for n in names}
    torch.set_num_threads(a.threads)
    p = get_preset('bench'); bench = p['benchmark']; work = Path(a.work); g = p['generate']
    df = scan_chips(work/'benchmark'/bench['source_sensor'])
    split = split_target(df, a.seed, test_frac=0.3, val_frac=0.0)
    tr = load_chips(None, bench['chip_px'], df=df[split == 'train'])
    c = p['classifier']
    clfs = [train_classifier(tr.x, tr.y, len(tr.classes), seed=child_seed(a.seed, 'cas', s), arch=c['arch'], epochs=c['epochs'],
                             batch_size=c['batch_size'], lr=c['lr'], weight_decay=c['weight_decay'], normalize=c['normalize'])
            for s in range(a.classifier_seeds)]
    te = load_chips(None, bench['chip_px'], df=df[split == 'test'])       # held-out real source chips: the classifiers' own accuracy, CAS's reference
    real = [clf.evaluate(te.x, te.y, len(te.classes))['accuracy'] for clf in clfs]
    results, timings = {}, {}
    for name in names:
        cfg = None if a.adapter else VARIANTS[name]
        adapter = Path(a.adapter) if a.adapter else work/'adapter' if cfg is None else work/f'adapter_{name}'
        if not (adapter/'adapter.json').exists():
            t0 = time.perf_counter()
            train_lora(load_pipeline(), tr.x, [tr.classes[i] for i in tr.y], adapter, sensor=bench['source_sensor'], seed=a.seed,
                       batch_size=p['lora']['batch_size'], checkpoint_every=250, progress=False, **cfg)
            timings[f'train_{name}'] = time.perf_counter() - t0
        meta = read_adapter_meta(adapter); pipe, _ = load_adapter(adapter, device=compute_device())
        for gs in guidance[name]:
            out = work/f'variants/{name}_g{gs}'
            generate(pipe, out, meta['prompts'], a.n_per_class, g['steps'], gs, a.seed, g['batch_size'], meta['chip_px'], progress=False)
            gen = load_chips(out, bench['chip_px'], classes=tr.classes)
            acc = [clf.evaluate(gen.x, gen.y, len(tr.classes))['accuracy'] for clf in clfs]
            results[f'{name}_g{gs}'] = dict(adapter=name, guidance=gs, base=meta.get('base'), lora=dict(rank=meta['rank'], targets=meta['targets'], steps=meta['steps'], lr=meta['lr'],
                                                                                            text_encoder_rank=meta.get('text_encoder_rank', 0)),
                                            lora_share=meta['parameters']['share'], final_loss_50=float(np.mean(meta['loss'][-50:])),
                                            cas_mean=float(np.mean(acc)), cas_sd=float(np.std(acc, ddof=1)),
                                            real_heldout_mean=float(np.mean(real)), real_heldout_sd=float(np.std(real, ddof=1)))
            print(name, gs, results[f'{name}_g{gs}']['cas_mean'], flush=True)
    dev = compute_device(); device = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else dev.type
    write_json_atomic(a.out, make_record('stage1_variants', dict(work=str(work), device=device, variants={k: VARIANTS[k] for k in names if k in VARIANTS},
                                                                 adapter=a.adapter, guidance=guidance,
                                                                 n_per_class=a.n_per_class, steps=g['steps']), results, seed=a.seed, timings=timings))


if __name__ == '__main__':
    main()
