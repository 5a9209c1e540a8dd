"""The pretrained text encoder on a 2-core CPU: does a text get the same features alone and in a
batch, and what do the topping's length buckets save.

1. **int8 batch dependence.** Dynamic int8 quantisation (``PretrainedTextConfig.int8``) scales each
   Linear's input with one number for the whole tensor, so in a padded batch a text's backbone
   outputs depend on the other texts. For ``--texts`` captions of a dataset (in the cache's
   order: sorted by length, batches of 64): the max |difference| per token between a text's
   outputs in its padded batch and alone, for the padded-batch run (how the token cache was
   filled before) and for :meth:`PretrainedTextEncoder.backbone_tokens` (one text at a time since),
   and the texts/s of each way of filling the cache.
2. **Topping length buckets.** One training step (forward + backward) of the CPU topping
   (``pose_search_app.build.TEXT_CPU``) on a batch of 128 captions drawn like PoseText's batches (one random
   caption per pose: long PoseScript ones and short everyday ones), as one padded pass
   (``TextTopping._pooled``) and in length buckets (``TextTopping.forward``); the two outputs'
   max difference.

3. **Filling the cache on an idle and on a loaded machine** (``fill_under_load``): texts/s of
   the one-text-at-a-time int8 backbone in this process with 2 torch threads and with 1, and of
   :class:`BackbonePool` (spawned one-thread workers, what ``token_table`` uses for big fills;
   its start-up included), first with nothing else running, then beside one other busy process
   (a pure-Python loop: a browser, a test run, another job).

4. **Caption lengths** (``caption_tokens``): per caption slot of the dataset (0-2 PoseScript-style,
   3-6 everyday), the median, p90 and the share of captions longer than the topping's token
   limit (``TEXT_CPU["max_tokens"]``) in the backbone's own tokens: what the topping cuts.

Writes ``benchmarks/results/text_encoder_cpu.json``.

    .venv/bin/python benchmarks/text_encoder_cpu.py --data <cache>/demo/small/data/script
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "text_encoder_cpu.json"
BATCH = 64  # the token cache's batch (TokenCache.table)


def _captions(data: str, limit: int) -> list[list[str]]:
    from pose_search.data.store import read_table

    return [list(c) for c in read_table(data, "poses.lance", columns=["captions"])["captions"].to_pylist()[:limit]]


def batch_dependence(enc, texts: list[str]) -> dict:
    """Max per-token difference alone vs in a padded batch; texts/s of both ways to fill a cache."""
    texts = sorted(texts, key=len)
    padded_diff, single_diff = [], []
    t_padded = t_single = 0.0
    with torch.no_grad():
        for s in range(0, len(texts), BATCH):
            ids, mask = enc.tokenize(texts[s : s + BATCH])
            start = time.perf_counter()
            padded = enc.backbone(input_ids=ids, attention_mask=mask).last_hidden_state
            t_padded += time.perf_counter() - start
            start = time.perf_counter()
            single = enc.backbone_tokens(ids, mask)
            t_single += time.perf_counter() - start
            for i, n in enumerate(mask.sum(1).tolist()):
                alone = enc.backbone(input_ids=ids[i : i + 1, :n], attention_mask=mask[i : i + 1, :n])
                alone = alone.last_hidden_state[0]
                padded_diff.append(float((padded[i, :n] - alone).abs().max()))
                single_diff.append(float((single[i, :n] - alone).abs().max()))
    return {"texts": len(texts),
            "padded_batches": {"max_abs_diff_alone_vs_batch": round(max(padded_diff), 4),
                               "mean_of_max_abs_diff": round(float(np.mean(padded_diff)), 4),
                               "texts_per_s": round(len(texts) / t_padded, 1)},
            "one_text_at_a_time": {"max_abs_diff_alone_vs_batch": round(max(single_diff), 6),
                                   "mean_of_max_abs_diff": round(float(np.mean(single_diff)), 6),
                                   "texts_per_s": round(len(texts) / t_single, 1)}}


def topping_step(enc, captions: list[list[str]], steps: int, seed: int) -> dict:
    """Seconds per training step of the topping, one padded pass vs length buckets."""
    rng = np.random.default_rng(seed)
    pick = [c[int(rng.integers(len(c)))] for c in captions[:128]]
    ids, mask = enc.tokenize(pick)
    h = enc.backbone_tokens(ids, mask)
    topping = enc.head.train()
    with torch.no_grad():
        torch.manual_seed(0)
        topping.eval()
        diff = float((topping(h, mask) - topping._pooled(h, mask)).abs().max())
        topping.train()

    def timed(fn) -> float:
        fn().sum().backward()  # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            topping.zero_grad()
            fn().sum().backward()
        return (time.perf_counter() - start) / steps

    padded = timed(lambda: topping._pooled(h, mask))
    bucketed = timed(lambda: topping(h, mask))
    return {"batch": len(pick), "tokens_real_share": round(float(mask.float().mean()), 3),
            "padded_pass_s": round(padded, 4), "length_buckets_s": round(bucketed, 4),
            "speedup": round(padded / bucketed, 2), "max_abs_diff_outputs": diff}


def caption_tokens(enc, captions: list[list[str]], limit: int) -> dict:
    """Per caption slot: tokens median / p90 and the share over ``limit`` (backbone tokens)."""
    out = {"limit": limit, "poses": len(captions)}
    for slot in range(max(len(c) for c in captions)):
        texts = [c[slot] for c in captions if len(c) > slot]
        _, mask = enc.tokenizer(texts, max_length=512)
        n = mask.sum(1).numpy()
        out[f"caption_{slot}"] = {"median": float(np.median(n)), "p90": float(np.percentile(n, 90)),
                                  "share_over_limit": round(float((n > limit).mean()), 3)}
    return out


def _busy() -> None:  # another job on the machine
    while True:
        sum(i * i for i in range(10_000))


def fill_under_load(enc, texts: list[str], workers: int, budget_s: float = 30.0) -> dict:
    """texts/s of three ways to fill the token cache, idle and beside one busy process (an
    in-process way stops after ``budget_s`` seconds)."""
    import multiprocessing
    from dataclasses import asdict

    from pose_search.models.encoders.backbone_pool import BackbonePool
    from pose_search.models.encoders.pretrained_text import PretrainedTextEncoder

    def in_process(threads: int) -> float:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            start, done = time.perf_counter(), 0
            for s in range(0, len(texts), BATCH):
                done += len(enc.token_outputs(texts[s : s + BATCH]))
                if time.perf_counter() - start > budget_s:  # a collapsed rate: measured on what was done
                    break
            return done / (time.perf_counter() - start)
        finally:
            torch.set_num_threads(before)

    def pooled() -> float:
        start = time.perf_counter()
        with BackbonePool(PretrainedTextEncoder, asdict(enc.cfg), workers) as pool:
            for s in range(0, len(texts), BATCH * workers):
                pool(texts[s : s + BATCH * workers])
        return len(texts) / (time.perf_counter() - start)

    ways = {"in_process_2_threads": lambda: in_process(2), "in_process_1_thread": lambda: in_process(1),
            f"pool_{workers}_workers": pooled}
    out: dict = {"texts": len(texts), "budget_s": budget_s}
    for load in ("idle", "one_busy_process"):
        busy = None
        if load != "idle":
            busy = multiprocessing.get_context("spawn").Process(target=_busy, daemon=True)
            busy.start()
            time.sleep(1.0)
        try:
            out[load] = {name: round(fn(), 1) for name, fn in ways.items()}
        finally:
            if busy is not None:
                busy.terminate()
                busy.join()
        print(load, out[load], flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a dataset with captions (e.g. the demo's data/script)")
    p.add_argument("--texts", type=int, default=700, help="captions for the batch-dependence check")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--fill-texts", type=int, default=3000, help="captions for the fill-under-load timing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)

    from pose_search.models.encoders.pretrained_text import PretrainedTextEncoder
    from pose_search_app.build import TEXT_CPU

    torch.manual_seed(args.seed)
    enc = PretrainedTextEncoder(**TEXT_CPU).eval()
    caps = _captions(args.data, 100_000)
    flat = [t for c in caps for t in c][: args.texts]
    start = time.perf_counter()
    result = {"benchmark": "text_encoder_cpu", "text_encoder": TEXT_CPU, "data": args.data,
              "int8_batch_dependence": batch_dependence(enc, flat),
              "topping_step": topping_step(enc, caps, args.steps, args.seed),
              "caption_tokens": caption_tokens(enc, caps[:2000], TEXT_CPU["max_tokens"]),
              "fill_under_load": fill_under_load(enc, [t for c in caps for t in c][: args.fill_texts], 2)}
    result.update({"seconds": round(time.perf_counter() - start, 1), "torch_threads": torch.get_num_threads(),
                   "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                   "time": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
