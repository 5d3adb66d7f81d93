"""Stage 1 on the `bench` benchmark: class control (classification accuracy score), realism with and without LoRA, costs.

    python bench/bench_stage1.py --work runs/bench_stage1 --out results/stage1/stage1_bench.json
    python bench/bench_stage1.py --work runs/bench_stage1_bench5 --benchmark runs/reproduce_bench5/benchmark --adapter runs/reproduce_bench5/stage1/adapter --out results/stage1/stage1_bench_9000.json

1. simulate the bench benchmark; split the source sensor's chips 70/30 per class (seeded): LoRA and classifier train on
   the 70 %, the 30 % is the held-out real source set;
2. train the bench LoRA (Q/K/V of both streams) on the shipped foundation model;
3. generate the content base with the adapter, and the same prompts without it;
4. classifiers (bench settings, several seeds) trained on the real source training chips label (a) held-out real
   chips and (b) generated chips (CAS);
5. realism report of generated vs held-out real chips, with and without LoRA; costs.
Every stage is cached in --work, so a re-run resumes.
"""
import argparse, json, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch

from sar_xsensor.core import get_preset, make_record, write_json_atomic, child_seed
from sar_xsensor.simulate import build_benchmark
from sar_xsensor.sensors import get_sensor, display_to_intensity
from sar_xsensor.data import scan_chips, load_chips, split_target
from sar_xsensor.classify import train_classifier
from sar_xsensor.sarstats import realism_report
from sar_xsensor.mmdit import load_pipeline, FOUNDATION_DIR
from sar_xsensor.mmdit import encode_prompts
from sar_xsensor.lora import train_lora, load_adapter, generate, read_adapter_meta, prompt_likelihood_accuracy


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--work', default='runs/bench_stage1'); ap.add_argument('--out', default='results/stage1/stage1_bench.json')
    ap.add_argument('--preset', default='bench'); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--classifier-seeds', type=int, default=3); ap.add_argument('--n-per-class', type=int, default=None)
    ap.add_argument('--n-base', type=int, default=30, help='chips per class generated without LoRA (realism only)')
    ap.add_argument('--lora-steps', type=int, default=None); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--base', default=None, help='base model directory (default: the shipped foundation model)')
    ap.add_argument('--text-encoder-rank', type=int, default=None, help='LoRA rank on the CLIP text encoders too (default: the preset)')
    ap.add_argument('--lora-lr', type=float, default=None)
    ap.add_argument('--benchmark', default=None, help='an existing bench benchmark folder to reuse (default: simulate into WORK)')
    ap.add_argument('--adapter', default=None, help="score this trained adapter (e.g. a reproduce run's stage1/adapter, trained on all source chips) instead of training one")
    a = ap.parse_args()
    if a.adapter and not (Path(a.adapter)/'adapter.json').exists():
        raise SystemExit(f'--adapter {a.adapter}: no adapter.json there (not a trained adapter directory)')
    torch.set_num_threads(a.threads)
    p = get_preset(a.preset); work = Path(a.work); timings = {}
    lcfg = {**p['lora'], **({'steps': a.lora_steps} if a.lora_steps else {}), **({'lr': a.lora_lr} if a.lora_lr else {}),
            **({'text_encoder_rank': a.text_encoder_rank} if a.text_encoder_rank is not None else {})}
    gcfg = {**p['generate'], **({'n_per_class': a.n_per_class} if a.n_per_class else {})}
    bench = p['benchmark']; sensor = get_sensor(bench['source_sensor'])
    # 1. data
    if a.benchmark and not (work/'benchmark').exists(): work.mkdir(parents=True, exist_ok=True); (work/'benchmark').symlink_to(Path(a.benchmark).resolve())
    if not (work/'benchmark'/'manifest.csv').exists(): build_benchmark(work/'benchmark', bench, seed=a.seed, progress=False)
    df = scan_chips(work/'benchmark'/bench['source_sensor'])
    split = split_target(df, a.seed, test_frac=0.3, val_frac=0.0)
    train_df, held_df = df[split == 'train'], df[split == 'test']
    tr = load_chips(None, bench['chip_px'], df=train_df); he = load_chips(None, bench['chip_px'], df=held_df, classes=tr.classes)
    print(f"source train {len(tr.x)}, held-out {len(he.x)}", flush=True)
    # 2. LoRA
    adapter = Path(a.adapter or work/'adapter')
    if not (adapter/'adapter.json').exists():
        t0 = time.perf_counter()
        train_lora(load_pipeline(a.base), tr.x, [tr.classes[i] for i in tr.y], adapter, sensor=bench['source_sensor'], seed=a.seed, base=a.base, **lcfg)
        timings['lora_s'] = time.perf_counter() - t0
    meta = read_adapter_meta(adapter)
    # 3. generation, with and without the adapter
    gen_rates = {}
    for name, n in (('lora', gcfg['n_per_class']), ('base', a.n_base)):
        pipe, _ = load_adapter(adapter) if name == 'lora' else (load_pipeline(a.base), None)
        t0 = time.perf_counter()
        man = generate(pipe, work/f'generated_{name}', meta['prompts'], n, gcfg['steps'], gcfg['guidance'], a.seed,
                       gcfg['batch_size'], meta['chip_px'], adapter=str(adapter) if name == 'lora' else None, progress=False)
        dt = time.perf_counter() - t0
        if dt > 1 and len(man) == n*len(meta['prompts']): gen_rates[name] = dict(seconds=dt, chips=len(man))
        print(name, len(man), 'chips', f'{dt:.0f} s', flush=True)
    cached = work/'timings.json'
    old = json.loads(cached.read_text()) if cached.exists() else {}
    timings = {**old, **timings, **{f'generate_{k}': v for k, v in gen_rates.items()}}; write_json_atomic(cached, timings)
    gl = load_chips(work/'generated_lora', bench['chip_px'], classes=tr.classes)
    gb = load_chips(work/'generated_base', bench['chip_px'], classes=tr.classes)
    # 4. class control
    c = p['classifier']; runs = []
    for s in range(a.classifier_seeds):
        res = train_classifier(tr.x, tr.y, len(tr.classes), seed=child_seed(a.seed, 'cas', s), arch=c['arch'], epochs=c['epochs'],
                               batch_size=c['batch_size'], lr=c['lr'], weight_decay=c['weight_decay'], normalize=c['normalize'])
        runs.append(dict(seed=s, real_heldout=res.evaluate(he.x, he.y, len(tr.classes)),
                         generated_lora=res.evaluate(gl.x, gl.y, len(tr.classes)),
                         generated_base=res.evaluate(gb.x, gb.y, len(tr.classes))))
        print(s, {k: round(v['accuracy'], 1) for k, v in runs[-1].items() if k != 'seed'}, flush=True)
    summ = {k: dict(accuracy_mean=float(np.mean([r[k]['accuracy'] for r in runs])), accuracy_sd=float(np.std([r[k]['accuracy'] for r in runs], ddof=1)) if len(runs) > 1 else 0.0)
            for k in ('real_heldout', 'generated_lora', 'generated_base')}
    # 5. realism vs held-out real source chips (linear intensity through the source sensor's export mapping)
    real_I = display_to_intensity(np.round(he.x*255), sensor)
    realism = {k: realism_report(display_to_intensity(np.round(g.x*255), sensor), real_I) for k, g in (('lora', gl), ('base', gb))}
    # prompts: do the frozen text encoders separate the classes?
    with torch.no_grad(): seq, pooled = encode_prompts(load_adapter(adapter)[0], list(meta['prompts'].values()))   # as the adapter sees them
    # does the model know the classes? diffusion-classifier accuracy on 20 held-out real chips per class
    pick = np.concatenate([np.flatnonzero(he.y == k)[:20] for k in range(len(tr.classes))])
    prompts = [meta['prompts'][c] for c in tr.classes]
    likelihood = {k: prompt_likelihood_accuracy(pipe_k, he.x[pick], he.y[pick], prompts, seed=a.seed)
                  for k, pipe_k in (('lora', load_adapter(adapter)[0]), ('base', load_pipeline(a.base)))}
    print('likelihood accuracy', {k: v['accuracy'] for k, v in likelihood.items()}, flush=True)
    def off_diagonal_cosine(e):
        e = e.flatten(1); cos = torch.nn.functional.cosine_similarity(e[:, None], e[None], dim=-1)
        return cos[~torch.eye(len(cos), dtype=bool)]
    off, off_pooled = off_diagonal_cosine(seq), off_diagonal_cosine(pooled)
    fm = json.loads((Path(a.base or FOUNDATION_DIR)/'training_log.json').read_text())
    metrics = dict(cas=summ, runs=runs, realism=realism, likelihood=likelihood,
                   prompt_cosine=dict(max=float(off.max()), mean=float(off.mean()), pooled_max=float(off_pooled.max()), pooled_mean=float(off_pooled.mean())),
                   lora=dict(parameters=meta['parameters'], step_seconds=meta['step_seconds'], steps=meta['steps'],
                             final_loss_50=float(np.mean(meta['loss'][-50:])), loss=meta['loss']),
                   generation_chips_per_s={k: v['chips']/v['seconds'] for k, v in gen_rates.items()} or
                                          {k[len('generate_'):]: v['chips']/v['seconds'] for k, v in timings.items() if k.startswith('generate_')},
                   foundation=dict(train_minutes=fm['timings']['train_s']/60, steps=fm['config']['steps'], corpus_s=fm['timings']['corpus_s']),
                   n=dict(train=len(tr.x), heldout=len(he.x), generated_lora=len(gl.x), generated_base=len(gb.x)))
    rec = make_record('stage1_bench', dict(preset=a.preset, lora=lcfg, generate=gcfg, classifier=c, classifier_seeds=a.classifier_seeds,
                                           n_base=a.n_base, prompts=meta['prompts'], base=a.base, adapter=a.adapter), metrics, seed=a.seed, timings=timings)
    write_json_atomic(a.out, rec)
    save_grid(Path(a.out).with_name(Path(a.out).stem.replace('bench', 'grid') + '.png'), tr.classes, he, gl, gb)
    print(json.dumps({k: v for k, v in metrics.items() if k not in ('runs', 'lora')}, indent=1, default=str)[:3000])


def save_grid(path, classes, real, lora, base, n=4):
    "Fig. 7 row 3 on our benchmark: per class, held-out real source chips, generated with LoRA, generated without."
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, axs = plt.subplots(len(classes), 3*n, figsize=(1.1*3*n, 1.15*len(classes)))
    for r, c in enumerate(classes):
        for j, (cs, lab) in enumerate(((real, 'real'), (lora, 'LoRA'), (base, 'no LoRA'))):
            idx = np.flatnonzero(cs.y == r)[:n]
            for k, i in enumerate(idx):
                ax = axs[r, j*n + k]; ax.imshow(cs.x[i], cmap='gray', vmin=0, vmax=1)
                if r == 0 and k == 0: ax.set_title(lab, fontsize=8, loc='left')
        axs[r, 0].set_ylabel(c, fontsize=8)
    for ax in axs.flat: ax.set_xticks([]); ax.set_yticks([])
    fig.tight_layout(); fig.savefig(path, dpi=80); plt.close(fig)


if __name__ == '__main__':
    main()
