"""The site's structure and content: the sidebar groups every chapter once and lists only notebooks; the pages that
render committed records keep their outputs (Quarto does not execute notebooks), so the site shows the tables and figures.
`python tests/test_site.py _proc` runs the content check on the pre-processed notebooks (tests/run.sh does)."""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE_PAGES = ('index', '20_table2', '21_table3', '22_table4')      # must show an HTML table with rows
FIGURE_PAGES = ('08_lora', '11_migrate', '12_baselines', '04a_calibration', '20_table2', '30_stage1_tuning', '31_stage2_tuning')   # every figure cell shows its image

def _outputs(cell): return [o for o in cell.get('outputs', [])]

def is_figure_cell(cell)->bool:
    s = ''.join(cell['source'])
    return cell['cell_type'] == 'code' and ('ShowImage(' in s or 'plt.show()' in s) and not s.lstrip().startswith('#| export')

def missing_outputs(folder)->list:
    "What the rendered site would lack: pages without a table, figure cells without an image."
    problems = []
    for name in TABLE_PAGES:
        cells = json.loads((Path(folder)/f'{name}.ipynb').read_text())['cells']
        html = [''.join(o.get('data', {}).get('text/html', '')) for c in cells for o in _outputs(c)]
        if not any('<tr' in h for h in html): problems.append(f'{name}: no table in the stored outputs')
    for name in FIGURE_PAGES:
        cells = json.loads((Path(folder)/f'{name}.ipynb').read_text())['cells']
        for c in filter(is_figure_cell, cells):
            if not any(k.startswith('image/') for o in _outputs(c) for k in o.get('data', {})):
                problems.append(f"{name}: figure cell {c.get('id')} has no image ({''.join(c['source'])[:60]!r})")
    return problems

def test_pages_keep_their_tables_and_figures():
    assert not missing_outputs(ROOT/'nbs'), missing_outputs(ROOT/'nbs')

def test_sidebar_lists_every_notebook_once():
    listed = re.findall(r'^\s*- (\S+\.ipynb)\s*$', (ROOT/'nbs'/'sidebar.yml').read_text(), flags=re.M)
    assert sorted(listed) == sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb')), listed
    assert not re.search(r'\.(yml|css)\s*$', (ROOT/'nbs'/'sidebar.yml').read_text(), flags=re.M)
    assert 'custom_sidebar = True' in (ROOT/'settings.ini').read_text()     # nbdev must not regenerate it

if __name__ == '__main__':
    problems = missing_outputs(sys.argv[1] if len(sys.argv) > 1 else ROOT/'nbs')
    print('\n'.join(problems) or 'site content: every table page has its table, every figure cell its image')
    sys.exit(1 if problems else 0)
