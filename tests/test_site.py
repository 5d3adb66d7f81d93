"The site's structure: the sidebar groups every chapter once and lists only notebooks."
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_sidebar_lists_every_notebook_once():
    listed = re.findall(r'^\s*- (\S+\.ipynb)\s*$', (ROOT/'nbs'/'sidebar.yml').read_text(), flags=re.M)
    assert sorted(listed) == sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb')), listed
    assert not re.search(r'\.(yml|css)\s*$', (ROOT/'nbs'/'sidebar.yml').read_text(), flags=re.M)
    assert 'custom_sidebar = True' in (ROOT/'settings.ini').read_text()     # nbdev must not regenerate it
