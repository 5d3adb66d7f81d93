"""Stage 2 speed: chip-steps per second of the distillation loop at several batch sizes (same chips, same settings),
and where the time goes at the largest batch (cProfile, top functions by own time).

    python bench/bench_migrate_speed.py --out results/stage2/migrate_speed.json
"""
import argparse, cProfile, pstats, resource, time
import torch

from sar_xsensor.core import make_record, write_json_atomic, compute_device
from sar_xsensor.mmdit import load_pipeline
from sar_xsensor.migrate import migrate_batch, MigrationConfig
from sar_xsensor.simulate import simulate_chips


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--batches', default='1,8,32'); ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--out', default='results/stage2/migrate_speed.json')
    ap.add_argument('--no-profile', action='store_true', help='skip the cProfile pass')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = compute_device()
    sizes = [int(b) for b in a.batches.split(',')]; n = max(sizes)
    pipe = load_pipeline(device=dev)
    src = simulate_chips(['C-17', 'F-16']*(n//2 + 1), 'tsx_like', 96., 64, seed=1)['display'][:n]/255.
    tgt = simulate_chips(['C-17', 'F-16']*(n//2 + 1), 'fc1_like', 163.2, 64, seed=2)['display'][:n]/255.
    cfg = MigrationConfig(steps=a.steps)
    migrate_batch(pipe, src[:1], tgt[:1], 'fc1_like', MigrationConfig(steps=1))      # warm-up
    rates = {}
    for B in sizes:
        t0 = time.perf_counter(); migrate_batch(pipe, src[:B], tgt[:B], 'fc1_like', cfg); dt = time.perf_counter() - t0
        rates[B] = dict(ms_per_step=1000*dt/a.steps, chip_steps_per_s=B*a.steps/dt)
        print(B, rates[B], flush=True)
    top, total = [], 1.
    if not a.no_profile:
        pr = cProfile.Profile(); pr.enable(); migrate_batch(pipe, src[:n], tgt[:n], 'fc1_like', cfg); pr.disable()
        st = pstats.Stats(pr); total = st.total_tt
        top = sorted(((v[2], f"{k[2]} ({k[0].split('/')[-1]}:{k[1]})") for k, v in st.stats.items()), reverse=True)[:8]
    metrics = dict(rates={str(k): v for k, v in rates.items()}, speedup_vs_1={str(B): rates[B]['chip_steps_per_s']/rates[1]['chip_steps_per_s'] for B in sizes} if 1 in rates else {},
                   profile_top=[dict(function=f, share=t/total) for t, f in top], peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20,
                   device=str(dev), device_name=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu',
                   peak_gpu_memory_gb=torch.cuda.max_memory_allocated(dev)/2**30 if dev.type == 'cuda' else None)
    write_json_atomic(a.out, make_record('migrate_speed', vars(a), metrics))
    print(metrics['device_name'], metrics['speedup_vs_1'], metrics['peak_gpu_memory_gb'], metrics['profile_top'][:4])


if __name__ == '__main__':
    main()
