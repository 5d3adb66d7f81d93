"""Check that a `reproduce --preset tiny` run gives the committed tiny tables: compare the tables in the run record of
RUN (default: run `sar-xsensor reproduce --preset tiny` into a fresh folder first) with results/reproduce_tiny/cpu_run.json.
Exits 1 and names the first differing cells when a number moved by more than --tol. The run uses as many torch threads
as the reference record did (sums over threads are ordered differently, and the tiny tables move with them).
Run: python bench/check_tiny.py [--run runs/tiny17] [--tol 1e-9]"""
import argparse, json, math, os, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def table_cells(metrics:dict)->dict:
    "{(table, training_set, column): value} of a run record's tables."
    return {(t, row['training_set'], k): v for t, rows in metrics.items() if isinstance(rows, list)
            for row in rows if isinstance(row, dict) and 'training_set' in row for k, v in row.items()}

def differences(a:dict, b:dict, tol:float)->list:
    "Cells that differ between two run records' tables (missing cells count)."
    ca, cb = table_cells(a['metrics']), table_cells(b['metrics'])
    out = [(k, ca.get(k), cb.get(k)) for k in sorted(set(ca) | set(cb), key=str) if k not in ca or k not in cb]
    for k in set(ca) & set(cb):
        x, y = ca[k], cb[k]
        same = (x == y) or (isinstance(x, float) and isinstance(y, float) and (math.isnan(x) and math.isnan(y) or abs(x - y) <= tol))
        if not same: out.append((k, x, y))
    return out

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--run', help='a finished tiny run folder (default: make one in a temporary folder)')
    ap.add_argument('--reference', default=str(ROOT/'results'/'reproduce_tiny'/'cpu_run.json'))
    ap.add_argument('--tol', type=float, default=1e-9)
    a = ap.parse_args()
    run = Path(a.run) if a.run else Path(tempfile.mkdtemp())/'tiny'
    ref = json.loads(Path(a.reference).read_text())
    threads = str(ref.get('machine', {}).get('torch_threads', 2))
    if not (run/'records'/'run.json').exists():
        env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        subprocess.run([sys.executable, '-c', 'from sar_xsensor.cli import main; main()', 'reproduce', '--preset', 'tiny', '--out', str(run)],
                       check=True, env=env)
    rec = json.loads((run/'records'/'run.json').read_text())
    if str(rec.get('machine', {}).get('torch_threads')) != threads:
        print(f"note: the run used {rec['machine'].get('torch_threads')} torch threads, the reference {threads}: the tables may differ for that reason alone")
    diff = differences(rec, ref, a.tol)
    for k, x, y in diff[:10]: print(f"differs: {k}: run {x!r}, committed {y!r}")
    print(f"{run}: {'the committed tiny tables, unchanged' if not diff else f'{len(diff)} cells differ'}")
    sys.exit(1 if diff else 0)
