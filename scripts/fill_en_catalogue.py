"""The source strings are English: the English catalogue repeats each msgid as its msgstr, so that it is
complete (a missing entry and a deliberate identity look alike otherwise). Run after extract-messages."""
from pathlib import Path

from babel.messages.pofile import read_po, write_po

path = Path(__file__).resolve().parent.parent / "marketplace/translations/en/LC_MESSAGES/messages.po"
with path.open("rb") as f:
    catalog = read_po(f)
for message in catalog:
    if message.id and not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with path.open("wb") as f:
    write_po(f, catalog, width=100)
print(f"{path.name}: {sum(1 for m in catalog if m.id)} entries")
