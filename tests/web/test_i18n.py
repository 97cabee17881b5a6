"""Chinese first, English by a visible switch; both catalogues complete."""
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "marketplace" / "translations"


def test_pages_are_in_chinese_by_default_and_english_after_the_switch(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "宁夏工业固废交易平台" in page
    response = client.get("/lang/en?next=/materials")
    assert response.headers["Location"] == "/materials"
    page = client.get("/materials").get_data(as_text=True)
    assert '<html lang="en">' in page and "Materials catalogue" in page and "Fly ash" in page
    client.get("/lang/zh")
    assert "粉煤灰" in client.get("/materials").get_data(as_text=True)


def test_the_switch_refuses_unknown_languages_and_foreign_redirects(client):
    assert client.get("/lang/fr").status_code == 404
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"


def test_messages_in_the_code_are_all_in_both_catalogues(tmp_path):
    """Extract the messages afresh: every one must be translated (not empty, not fuzzy) in zh and en."""
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    assert len(wanted) > 100
    for lang in ("zh", "en"):
        with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f)
        translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
        missing = sorted(str(m) for m in wanted - translated)
        assert not missing, f"{lang}: untranslated: {missing[:10]}"
        assert not list(catalog.check()), f"{lang}: placeholder errors"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_public_page_renders_in_both_languages(client, lang):
    client.get(f"/lang/{lang}")
    for url in ("/", "/materials", "/auth/login", "/auth/register"):
        assert client.get(url).status_code == 200
