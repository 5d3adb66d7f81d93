"Papermill re-execution of every numbered notebook as an integration test (preset 'tiny' by default)."
import configparser, os, re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
cfg = configparser.ConfigParser(delimiters=['='])
cfg.read(ROOT/'settings.ini')
NBS = ROOT/cfg['DEFAULT']['nbs_path']
TST_FLAGS = set(cfg['DEFAULT'].get('tst_flags', '').split())
NOTEBOOKS = sorted(p.name for p in NBS.glob('[0-9]*.ipynb'))
_re_dir = re.compile(r'^\s*#\|\s*(.*)$')

def directives(src: str) -> set:
    "Words of the leading `#|` directive lines of a cell."
    words = set()
    for line in src.splitlines():
        if not line.strip(): continue
        m = _re_dir.match(line)
        if not m: break
        words |= set(m.group(1).replace(':', ': ').split())
    return words

def skip_exec(nb) -> bool:
    for c in nb.cells[:2]:
        if c.cell_type in ('markdown', 'raw') and re.search(r'^\s*(-\s*)?skip_exec:\s*true', c.source, re.M): return True
    return False

def has_parameters(nb) -> bool:
    return any('parameters' in c.get('metadata', {}).get('tags', []) for c in nb.cells)

@pytest.mark.parametrize('name', NOTEBOOKS)
def test_notebook(name, tmp_path, request):
    nb = nbformat.read(NBS/name, as_version=4)
    if skip_exec(nb): pytest.skip('skip_exec notebook')
    run_flags = set(request.config.getoption('--nb-flags').split())
    keep = []
    for c in nb.cells:
        if c.cell_type == 'code':
            w = directives(c.source)
            if ('eval:' in w and 'false' in w) or (w & (TST_FLAGS - run_flags)): continue
            if 'nbdev_export(' in c.source: continue
        keep.append(c)
    nb.cells = keep
    src = tmp_path/name
    nbformat.write(nb, src)
    params = dict(preset=request.config.getoption('--preset')) if has_parameters(nb) else {}
    env_path = os.environ.get('PYTHONPATH', '')
    os.environ['PYTHONPATH'] = f"{ROOT}{os.pathsep}{env_path}" if env_path else str(ROOT)
    pm.execute_notebook(str(src), str(tmp_path/f'out_{name}'), parameters=params, kernel_name='python3',
                        cwd=str(NBS), progress_bar=False, execution_timeout=1800, start_timeout=120)
