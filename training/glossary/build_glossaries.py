#!/usr/bin/env python3
"""Builds the English glossaries in this folder (LANG.tsv) from the project's hand-written LANG.hand.tsv and, for the
languages that have one, a wordnet of the language linked to Princeton WordNet 3.0. Run by hand when a source changes; the .tsv files it writes are committed, and
nothing runs it in CI.

  python3 training/glossary/build_glossaries.py OMW_DATA_DIR [LANG ...]

OMW_DATA_DIR is a checkout of https://github.com/omwn/omw-data (commit f75be19ec590da12a7a5665e361690b5badb7a25 for the
committed files) (the language's wordnet, linked to WordNet 3.0
synsets); WordNet 3.0 itself comes from Debian's `wordnet-base` package (/usr/share/wordnet). Sources and licenses:
training/SOURCES.md.

How a word gets its English: for each of the language's lemmas, every WordNet synset it belongs to votes for that
synset's English words, each by how often its sense is tagged in WordNet's SemCor counts (plus a little for coming
first in the synset); the English word with the most votes wins. The wordnet's multi-word lemmas are skipped (too
many are rare terms); the hand file's phrases ("en fonction de") are kept. A lemma that is itself an English word is left out, so it passes through unchanged
(loanwords such as "film" or "code", and the English words and code that real prompts mix in). For every English
word that one of the hand file's suffix rules would turn into a known lemma, an entry mapping the word to itself is
added, so that the rules never "translate" an English word. The hand file's entries win over everything.
"""
import collections
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORDNET = "/usr/share/wordnet"
SOURCES = {  # language -> wordnet file inside omw-data (other languages: the hand file alone)
    "fr": "wns/fra/wn-data-fra.tab",
    "it": "wns/ita/wn-data-ita.tab",
    "pt": "wns/por/wn-data-por.tab",
    "zh": "wns/cow/wn-data-cmn.tab",
}
ENGLISH_FUNCTION_WORDS = set("""the a an of to in on for with is are be do does did done was were i you he she it we they
my your this that what how why when where which who can could would should will not no yes and or but if then so as at
by from about into out up down over""".split())
POS_FILES = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
SS_TYPE_NUMBER = {"n": 1, "v": 2, "a": 3, "r": 4, "s": 5}


def read_wordnet():
    """WordNet 3.0 synsets ("00001740-n") -> [(english word, tagged count of that sense)], and every English lemma."""
    tagged = {}
    with open(os.path.join(WORDNET, "cntlist.rev"), encoding="latin-1") as f:
        for line in f:
            key, _, count = line.split()
            tagged[key] = int(count)
    synsets, lemmas = {}, set()
    for name, pos in POS_FILES.items():
        with open(os.path.join(WORDNET, "data." + name), encoding="latin-1") as f:
            for line in f:
                if line.startswith("  "):
                    continue  # the license header
                fields = line.split()
                offset, lex_file, ss_type, count = fields[0], int(fields[1]), fields[2], int(fields[3], 16)
                words = []
                for i in range(count):
                    word = re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).lower()
                    lex_id = int(fields[5 + 2 * i], 16)
                    sense_key = f"{word}%{SS_TYPE_NUMBER[ss_type]}:{lex_file:02d}:{lex_id:02d}::"
                    words.append((word, tagged.get(sense_key, 0)))
                    lemmas.add(word)
                synsets[f"{offset}-{'a' if ss_type in 'as' else ss_type}"] = words
    return synsets, lemmas


def read_hand(path):
    language, suffixes, entries, segmented = None, [], {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("@language "):
                language = line.split()[1]
            elif line.strip() == "@segment":
                segmented = True
            elif line.startswith("@suffix "):
                parts = line.split()
                suffixes.append((parts[1], parts[2] if len(parts) > 2 else ""))
            else:
                word, english = line.split("\t")
                entries[" ".join(word.lower().split())] = english  # a phrase keeps single spaces
    return language, suffixes, entries, segmented


def english_for(tab_path, synsets):
    votes = collections.defaultdict(collections.Counter)
    with open(tab_path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3 or not fields[1].endswith("lemma") or fields[0] not in synsets:
                continue
            lemma = fields[2].strip().lower()
            if not lemma or not lemma.isalpha():
                continue
            for position, (word, count) in enumerate(synsets[fields[0]]):
                votes[lemma][word] += count + 0.5 / (1 + position)
    return {lemma: max(counter, key=lambda w: (counter[w], w)).replace("_", " ") for lemma, counter in votes.items()}


def stemmed(word, suffixes):
    for strip, append in suffixes:
        if len(word) > len(strip) + 2 and word.endswith(strip):
            yield word[: len(word) - len(strip)] + append


def build(language, omw_dir, synsets, english_lemmas):
    hand_path = os.path.join(HERE, f"{language}.hand.tsv")
    hand_language, suffixes, hand, segmented = read_hand(hand_path)
    assert hand_language == language, f"{hand_path} says @language {hand_language}"
    english_words = english_lemmas | ENGLISH_FUNCTION_WORDS
    derived = english_for(os.path.join(omw_dir, SOURCES[language]), synsets) if language in SOURCES else {}
    entries = {w: e for w, e in derived.items() if w not in english_words}
    if segmented:  # runs of Han characters are cut into entries: keep the entries made of them alone
        entries = {w: e for w, e in entries.items() if all(0x3400 <= ord(c) <= 0x9FFF for c in w)}
    entries.update(hand)
    kept = {}
    for word in sorted(english_words):
        if word in hand or not word.isalpha():
            continue
        if any(stem in entries for stem in stemmed(word, suffixes)):
            kept[word] = word
    out_path = os.path.join(HERE, f"{language}.tsv")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(f"# {language} -> English glossary, written by build_glossaries.py (do not edit: edit {language}.hand.tsv)\n")
        source = f"from the wordnet ({SOURCES[language]})" if language in SOURCES else "from no wordnet (none is used for this language)"
        f.write(f"# {len(hand)} hand-written entries, {len(entries) - len(hand)} {source},"
                f" {len(kept)} English words kept as they are. Sources and licenses: training/SOURCES.md.\n")
        f.write(f"@language {language}\n")
        if segmented:
            f.write("@segment\n")
        for strip, append in suffixes:
            f.write(f"@suffix {strip} {append}".rstrip() + "\n")
        for word in sorted(entries):
            f.write(f"{word}\t{entries[word]}\n")
        for word in sorted(kept):
            if word not in entries:
                f.write(f"{word}\t{word}\n")
    print(f"{out_path}: {len(entries)} entries ({len(hand)} by hand), {len(kept)} English words kept")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    omw_dir = sys.argv[1]
    languages = sys.argv[2:] or sorted(name[: -len(".hand.tsv")] for name in os.listdir(HERE) if name.endswith(".hand.tsv"))
    synsets, english_lemmas = read_wordnet()
    for language in languages:
        build(language, omw_dir, synsets, english_lemmas)


if __name__ == "__main__":
    main()
