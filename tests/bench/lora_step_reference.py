#!/usr/bin/python3
"""The LoRA step of lora_step_bench.cc, written in plain Python PyTorch eager (issue 3).

The same Llama decoder (grouped-query attention, RoPE with rotate-half, SwiGLU, RMSNorm, tied
embeddings), LoRA r=8 alpha 16 on q_proj and v_proj, the same shapes, threads, step (forward,
NLL summed over every position / tokens, backward, AdamW on the adapters) and FLOP formula, on
Debian's python3-torch — the same LibTorch 1.13.1 and OpenBLAS as the C++ benchmark.

The model is written the way a Python user would (Hugging Face's modeling_llama in miniature):
full [B, T, vocab] logits and F.cross_entropy. --checkpointing on wraps each decoder layer in
torch.utils.checkpoint (non-reentrant), like the C++ option (which also keeps the MLP's
gate/up products instead of recomputing them, so it recomputes less).

    /usr/bin/python3 tests/bench/lora_step_reference.py [--shape tiny|smol|all] [--threads N]
        [--steps N] [--warmup N] [--checkpointing auto|on|off] [--train ab|b] [--json]
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time


def openblas_core_type():
    """OPENBLAS_CORETYPE chosen as common/base/cpu.cc does: AVX-512F → SkylakeX, AVX2+FMA →
    Haswell, otherwise none (OpenBLAS 0.3.21 misdetects recent Xeons)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return ""
    if "avx512f" in flags:
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Haswell"
    return ""


# OpenBLAS reads the variable when libblas.so.3 is loaded, i.e. when torch is imported.
if "OPENBLAS_CORETYPE" not in os.environ and openblas_core_type():
    os.environ["OPENBLAS_CORETYPE"] = openblas_core_type()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.checkpoint import checkpoint  # noqa: E402

SHAPES = {
    # name: (vocab, hidden, intermediate, layers, heads, kv_heads, rope_theta, batch, seq,
    #        default steps, default warm-up) — as AllShapes() in lora_step_bench.cc.
    "tiny": (259, 256, 688, 4, 4, 4, 10000.0, 8, 128, 20, 3),
    "smol": (49152, 576, 1536, 30, 9, 3, 100000.0, 4, 256, 5, 2),
}
RMS_EPS = 1e-5
RANK, ALPHA = 8, 16


class LoraLinear(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_out, d_in))
        self.lora_A = None
        self.lora_B = None
        self.scale = 0.0

    def enable_lora(self, rank, alpha):
        d_out, d_in = self.weight.shape
        self.lora_A = nn.Linear(d_in, rank, bias=False)
        self.lora_B = nn.Linear(rank, d_out, bias=False)
        bound = 1.0 / math.sqrt(d_in)  # PEFT: kaiming_uniform_(a=√5)
        with torch.no_grad():
            self.lora_A.weight.uniform_(-bound, bound)
            self.lora_B.weight.zero_()
        self.scale = alpha / rank

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.lora_A is None:
            return y
        return y + self.lora_B(self.lora_A(x)) * self.scale


class RmsNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rotary_tables(positions, head_dim, theta):
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    freqs = torch.outer(torch.arange(positions, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().float(), emb.sin().float()


class Attention(nn.Module):
    def __init__(self, hidden, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        self.q_proj = LoraLinear(hidden, heads * self.head_dim)
        self.k_proj = LoraLinear(hidden, kv_heads * self.head_dim)
        self.v_proj = LoraLinear(hidden, kv_heads * self.head_dim)
        self.o_proj = LoraLinear(heads * self.head_dim, hidden)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.kv_heads != self.heads:  # Hugging Face's repeat_kv
            rep = self.heads // self.kv_heads
            k = k[:, :, None].expand(b, self.kv_heads, rep, t, self.head_dim).reshape(
                b, self.heads, t, self.head_dim)
            v = v[:, :, None].expand(b, self.kv_heads, rep, t, self.head_dim).reshape(
                b, self.heads, t, self.head_dim)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + mask, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        return self.o_proj(out)


class Mlp(nn.Module):
    def __init__(self, hidden, intermediate):
        super().__init__()
        self.gate_proj = LoraLinear(hidden, intermediate)
        self.up_proj = LoraLinear(hidden, intermediate)
        self.down_proj = LoraLinear(intermediate, hidden)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, hidden, intermediate, heads, kv_heads):
        super().__init__()
        self.input_layernorm = RmsNorm(hidden)
        self.self_attn = Attention(hidden, heads, kv_heads)
        self.post_attention_layernorm = RmsNorm(hidden)
        self.mlp = Mlp(hidden, intermediate)

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class CausalLm(nn.Module):
    def __init__(self, vocab, hidden, intermediate, layers, heads, kv_heads, rope_theta):
        super().__init__()
        self.embed_tokens = nn.Parameter(torch.empty(vocab, hidden))  # tied with the head
        self.layers = nn.ModuleList(DecoderLayer(hidden, intermediate, heads, kv_heads)
                                    for _ in range(layers))
        self.norm = RmsNorm(hidden)
        self.head_dim, self.rope_theta = hidden // heads, rope_theta
        self.checkpointing = False

    def init_random(self, seed):
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.parameters():
                if p.dim() == 1:
                    p.fill_(1.0)
                else:
                    p.normal_(0.0, 0.02, generator=generator)

    def nll_sum(self, input_ids, targets):
        t = input_ids.shape[1]
        cos, sin = rotary_tables(t, self.head_dim, self.rope_theta)
        mask = torch.full((t, t), float("-inf")).triu(1)
        x = F.embedding(input_ids, self.embed_tokens)
        for layer in self.layers:
            if self.checkpointing and torch.is_grad_enabled():
                # Non-reentrant: the reentrant form gives no gradients when the layer input
                # does not require grad (the embedding is frozen) — only the adapters do.
                x = checkpoint(layer, x, cos, sin, mask, use_reentrant=False)
            else:
                x = layer(x, cos, sin, mask)
        logits = F.linear(self.norm(x), self.embed_tokens)
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1),
                               reduction="sum")


def step_flops(vocab, hidden, intermediate, layers, heads, kv_heads, batch, seq):
    """Useful FLOPs of one step, the formula of StepFlops() in lora_step_bench.cc."""
    head_dim = hidden // heads
    q, kv = heads * head_dim, kv_heads * head_dim
    matmul_params = layers * (hidden * (q + 2 * kv) + q * hidden + 3 * hidden * intermediate) \
        + hidden * vocab
    n = batch * seq
    matmul = 2.0 * matmul_params * n
    attention = 4.0 * layers * batch * seq * seq * heads * head_dim
    lora = 2.0 * n * layers * RANK * ((hidden + q) + (hidden + kv))
    forward = matmul + attention + lora
    backward = matmul + 2 * attention + 2 * lora
    return forward, backward, matmul_params


def gemm_gflops(m, k, n, reps):
    """Best fp32 torch.mm rate over `reps` products after a warm-up one (as GemmGflops)."""
    with torch.no_grad():
        a, b = torch.randn(m, k), torch.randn(k, n)
        c = torch.mm(a, b)
        best = 0.0
        for _ in range(reps):
            start = time.perf_counter()
            torch.mm(a, b, out=c)
            best = max(best, 2.0 * m * k * n / (time.perf_counter() - start) / 1e9)
        return best


def rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_shape(name, args):
    (vocab, hidden, intermediate, layers, heads, kv_heads, theta, batch, seq, default_steps,
     default_warmup) = SHAPES[name]
    steps = args.steps or default_steps
    warmup = default_warmup if args.warmup < 0 else args.warmup
    ckpt = args.checkpointing == "on" or (args.checkpointing == "auto" and name == "smol")
    n = batch * seq

    reset = reset_peak_rss()
    baseline_mib = rss_kb("VmRSS:") / 1024
    model = CausalLm(vocab, hidden, intermediate, layers, heads, kv_heads, theta)
    model.init_random(1234)
    model.checkpointing = ckpt
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for layer in model.layers:
        for proj in (layer.self_attn.q_proj, layer.self_attn.v_proj):
            proj.enable_lora(RANK, ALPHA)
            if args.train == "ab":
                params.append(proj.lora_A.weight)
            else:
                proj.lora_A.weight.requires_grad_(False)
            params.append(proj.lora_B.weight)
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    model.train()

    generator = torch.Generator().manual_seed(99)
    tokens = torch.randint(vocab, (batch, seq + 1), generator=generator)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]

    forward, backward, matmul_params = step_flops(vocab, hidden, intermediate, layers, heads,
                                                  kv_heads, batch, seq)
    step_s, forward_s, backward_s, optimizer_s = [], [], [], []
    # Per timed step, as in the C++ benchmark: GEMM probes and the step's rate against each.
    gemm_1024, gemm_model, fraction_1024, fraction_model = [], [], [], []
    loss_value = rss_after_forward_mib = 0.0
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss = model.nll_sum(inputs, targets) / n
        t1 = time.perf_counter()
        rss_after_forward_mib = max(rss_after_forward_mib, rss_kb("VmRSS:") / 1024)
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        loss_value = loss.item()
        if i >= warmup:
            forward_s.append(t1 - t0)
            backward_s.append(t2 - t1)
            optimizer_s.append(t3 - t2)
            step_s.append(t3 - t0)
            del loss  # the graph's memory is free again before the probe
            step_gflops = (forward + backward) / step_s[-1] / 1e9
            gemm_1024.append(gemm_gflops(1024, 1024, 1024, 5))
            gemm_model.append(gemm_gflops(n, hidden, intermediate, 6))
            fraction_1024.append(step_gflops / gemm_1024[-1])
            fraction_model.append(step_gflops / gemm_model[-1])

    step = statistics.median(step_s)
    gflops = (forward + backward) / step / 1e9
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parameters = matmul_params - hidden * vocab + vocab * hidden + (2 * layers + 1) * hidden
    return {
        "shape": name, "threads": torch.get_num_threads(), "batch": batch, "sequence": seq,
        "parameters": parameters, "trainable_parameters": sum(p.numel() for p in params),
        "trained": "A+B" if args.train == "ab" else "B", "checkpointing": ckpt,
        "steps": steps, "warmup": warmup, "loss": loss_value,
        "step_s": step, "step_min_s": min(step_s),
        "forward_s": statistics.median(forward_s), "backward_s": statistics.median(backward_s),
        "optimizer_s": statistics.median(optimizer_s),
        "tokens_per_s": n / step, "step_gflop": (forward + backward) / 1e9,
        "forward_gflop": forward / 1e9, "gflops": gflops,
        "gemm_model_gflops": statistics.median(gemm_model),
        "gemm_1024_gflops": statistics.median(gemm_1024),
        "gemm_1024_max_gflops": max(gemm_1024),
        "fraction_of_gemm_1024": statistics.median(fraction_1024),
        "fraction_of_gemm_model": statistics.median(fraction_model),
        "tokens_per_s_at_peak":
            n / ((forward + backward) / (statistics.median(gemm_1024) * 1e9)),
        "peak_rss_mib": peak_mib, "peak_rss_reset": reset, "baseline_rss_mib": baseline_mib,
        "rss_growth_mib": peak_mib - baseline_mib, "rss_after_forward_mib": rss_after_forward_mib,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=["tiny", "smol", "all"], default="all")
    parser.add_argument("--threads", type=int, default=0, help="0 = every core")
    parser.add_argument("--steps", type=int, default=0, help="0 = the shape's default")
    parser.add_argument("--warmup", type=int, default=-1, help="-1 = the shape's default")
    parser.add_argument("--checkpointing", choices=["auto", "on", "off"], default="off",
                        help="auto = on for smol (as the C++ default); default off: plain eager")
    parser.add_argument("--train", choices=["ab", "b"], default="ab")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    core = os.environ.get("OPENBLAS_CORETYPE", "")
    runtime = {"summary": f"{threads} threads; torch {torch.__version__}; "
                          f"OPENBLAS_CORETYPE={core or '(unset)'}",
               "threads": threads, "openblas_core": core, "torch": torch.__version__}
    names = list(SHAPES) if args.shape == "all" else [args.shape]
    rows = [run_shape(name, args) for name in names]
    if args.json:
        print(json.dumps({"implementation": "python", "runtime": runtime, "results": rows},
                         indent=2))
        return
    print(runtime["summary"])
    print(f"{'shape':<5} {'ckpt':>5} {'step s':>7} {'fwd s':>8} {'bwd s':>8} {'tok/s':>8} "
          f"{'GFLOP/s':>9} {'peak':>7} {'%peak':>7} {'%model':>7} {'RSS MiB':>8} {'+base MiB':>9}")
    for r in rows:
        print(f"{r['shape']:<5} {'on' if r['checkpointing'] else 'off':>5} {r['step_s']:7.3f} "
              f"{r['forward_s']:8.3f} {r['backward_s']:8.3f} {r['tokens_per_s']:8.0f} "
              f"{r['gflops']:9.1f} {r['gemm_1024_gflops']:7.0f} "
              f"{100 * r['fraction_of_gemm_1024']:6.1f}% {100 * r['fraction_of_gemm_model']:6.1f}% "
              f"{r['peak_rss_mib']:8.0f} {r['rss_growth_mib']:9.0f}")


if __name__ == "__main__":
    sys.exit(main())
