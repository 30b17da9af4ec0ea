"""How well the bot reads members: accuracy per category and the count of wrong changes.

Single messages (tests/corpus/messages.yaml, or any file of the same form given with --messages):
each case is read the way the order handler reads it (grammar, then ``decide`` against the
member's order before the message) and compared with what a careful human would do: the order
book after it and the kind of reply (changed / same / a question / none / look-up / silent).

- right: book and reply as expected (and the note and room, where the case names them);
- wrong change: the book changed, and not as expected — the defect that costs the leader money;
- chit-chat turned into an order: a case expected silent whose book changed.

接龙 sequences (tests/corpus/jielong.yaml): each whole sequence runs through the real bot (harness,
SQLite in memory); a line counts right when the member's order after the sequence is as expected.

``--e2e`` reads the single messages through the whole bot instead (one bot per case: the member's
order set up in the store, her message said in the group, book and reply read back); it needs only
the order book's long-standing API, so ``PYTHONPATH=<an older checkout> python -m bench.understanding
--e2e`` measures an older version of the bot on the same corpus.

Usage: python -m bench.understanding [--messages FILE] [--jielong FILE] [--e2e] [--show-misses]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.corpus_cases import CORPUS, Reading, expected, messages, right, wrong_change


def _readings(cases: list[dict[str, Any]], e2e: bool) -> list[Reading]:
    if e2e:
        from tests.understanding_e2e import run_e2e

        return [Reading(book, kind) for _, book, kind in asyncio.run(run_e2e(cases))]
    from tests.understanding_support import read_message

    return [read_message(case) for case in cases]


def single_messages(path: Path, show: bool, e2e: bool) -> tuple[int, int, int, int]:
    cases = messages(path)
    total: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    wrong = chat_orders = 0
    began = time.perf_counter()
    readings = _readings(cases, e2e)
    for case, got in zip(cases, readings, strict=True):
        want = expected(case)
        ok = right(case, got, notes=not e2e)
        total[case["c"]] += 1
        hits[case["c"]] += ok
        if wrong_change(case, got):
            wrong += 1
            print(f"  WRONG CHANGE [{case['c']}] {case['t']!r}: {got.book} (wanted {want.book})")
        if want.reply == "silent" and got.book != want.book:
            chat_orders += 1
        if show and not ok:
            print(f"  miss [{case['c']}] {case['t']!r}: {dict(got.book)} {got.reply} note={got.note!r} "
                  f"(wanted {dict(want.book)} {want.reply} note={want.note!r})")  # fmt: skip
    elapsed = time.perf_counter() - began
    each = elapsed * 1000 / max(len(cases), 1)
    mode = "through the whole bot" if e2e else "grammar and decide"
    print(f"Single messages: {path}  ({len(cases)} cases, {mode}, {each:.2f} ms each)")
    for category in sorted(total, key=lambda c: -total[c]):
        share = hits[category] / total[category]
        print(f"  {category:<12} {hits[category]:>4}/{total[category]:<4} {share:7.1%}")
    n, r = sum(total.values()), sum(hits.values())
    print(f"  {'all':<12} {r:>4}/{n:<4} {r / max(n, 1):7.1%}")
    print(f"  wrong changes: {wrong}   chit-chat turned into orders: {chat_orders}")
    return r, n, wrong, chat_orders


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=Path, default=CORPUS / "messages.yaml")
    parser.add_argument("--jielong", type=Path, default=CORPUS / "jielong.yaml")
    parser.add_argument("--e2e", action="store_true", help="single messages through the whole bot")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    _, _, wrong, chat = single_messages(args.messages, args.show_misses, args.e2e)
    if args.jielong.exists():
        from tests.jielong_corpus import run_sequences

        lines, good, wrong_lines, sequences = asyncio.run(run_sequences(args.jielong, args.show_misses))
        print(f"接龙 sequences: {args.jielong}  ({sequences} sequences)")
        print(f"  lines right: {good}/{lines} {good / max(lines, 1):.1%}   wrong changes: {wrong_lines}")
        wrong += wrong_lines
    return 1 if wrong or chat else 0


if __name__ == "__main__":
    sys.exit(main())
