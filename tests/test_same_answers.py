"""The same question gets the same windows, to the last bit of their scores, in every process:
Python salts the hash of strings per process, so a sum over a set of stems adds its terms in a
different order each time, and a tie between two windows or candidates went either way
(`retrieve` adds such terms with `math.fsum`, whose result no order changes)."""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = """
import sys
from bookgpt.answer.evidence import evidence
from bookgpt.answer.retrieve import SentenceIndex
text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("Section 1.  Of the Nature of Flatland")
index = SentenceIndex(text[start:start + 25_000])  # under 200 sentences: no encoder to train
for q in sys.argv[2:]:
    print([(e.text[:12], repr(e.match), repr(e.echo)) for e in evidence(index, q, 4, 2)[1]])
"""


def test_the_evidence_does_not_depend_on_the_processs_hash_seed(shared_books):
    """Windows, matches and echoes of a few word lists, in four processes with four seeds: the
    same to the last bit (before `math.fsum`, these echoes differed in their last bits)."""
    questions = ["houses women sun lines", "houses women north south", "houses women north rain",
                 "houses women north roof", "houses women north lines"]
    outs = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", _PROBE, str(shared_books / "flatland.txt"),
                              *questions], env=env, capture_output=True, text=True,
                             timeout=120, check=True)
        outs.add(run.stdout)
    assert len(outs) == 1 and next(iter(outs)).count("\n") == len(questions)
