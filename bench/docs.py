"""Every measured figure of README.md and docs/*.md, rendered from bench/results/*.json.

    python bench/docs.py           # rewrite the marked regions from the JSON files
    python bench/docs.py --check   # exit 1, naming each region, when the files disagree with them

A region is an HTML comment pair the Markdown renderer does not show:

    <!-- bench:NAME -->...<!-- /bench -->       a table or sentence made by RENDERERS[NAME]
    <!-- bench:FILE.json:KEY.PATH:FMT -->...<!-- /bench -->
                                              one value of a results file (FMT: a format spec)
    <!-- example:NAME:VIEW -->...<!-- /example -->
                                              what a command printed in bench/examples.py's run
                                              (VIEW: a part of it, see VIEWS)

A region whose opening comment ends its line is a block (the text goes on the lines between);
otherwise it is inline. A results file or key that does not exist renders as nothing, so that the
script runs before every benchmark has been; an unknown region name is an error. Standard library
only: tests/test_docs.py runs ``--check`` without TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = re.compile(r"<!-- (bench|example):(.+?) -->(.*?)<!-- /\1 -->", re.S)

Results = dict[str, Any]  # file stem -> parsed JSON


# ---- numbers ---------------------------------------------------------------------------------

def num(x: Any, digits: int = 3) -> str:
    """A measured value with ``digits`` significant figures (integers as they are)."""
    if x is None:
        return "—"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int) or abs(x) >= 10 ** (digits - 1):
        return f"{round(x):,}"
    return f"{x:.{digits}g}"


def med(x: Any) -> Any:
    """The median of a summary (``{"median": ...}``), or the value itself."""
    return x.get("median") if isinstance(x, dict) else x


def spread(x: Any, digits: int = 3) -> str:
    """``min–max`` of a summary, or empty."""
    if isinstance(x, dict) and "min" in x and "max" in x:
        return f"{num(x['min'], digits)}–{num(x['max'], digits)}"
    return ""


def lookup(data: Any, path: str) -> Any:
    """``data[a][b]...`` for ``path`` = ``a.b...`` (integers index lists); None where missing."""
    for part in path.split("."):
        if isinstance(data, list) and re.fullmatch(r"-?\d+", part):
            i = int(part)
            data = data[i] if -len(data) <= i < len(data) else None
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
        if data is None:
            return None
    return data


def table(header: list[str], rows: Iterable[list[str]], align: str = "") -> str:
    """A Markdown table; ``align`` has one letter per column (l or r, default r after the first)."""
    rows = list(rows)
    if not rows:
        return ""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def load(x: Any) -> str:
    """A load average as the docs quote it: the 1-minute value (or a range of them)."""
    values = [v[0] if isinstance(v, list) else v for v in x if v is not None]
    values = [v for v in values if isinstance(v, (int, float))]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    return f"{lo:.1f}" if round(lo, 1) == round(hi, 1) else f"{lo:.1f}–{hi:.1f}"


def machine_line(m: dict[str, Any] | None, loads: list[Any] = (), extra: str = "") -> str:
    """One line naming the machine (CPU, cores, versions) and the load of a benchmark."""
    if not m:
        return ""
    cpu = m.get("cpu") or m.get("cpu_model") or "?"
    parts = [f"{cpu.replace('(R)', '')}, {m.get('cpus', '?')} cores"]
    for key in ("python", "tensorflow", "keras", "optuna"):
        if m.get(key):
            parts.append(f"{key.capitalize() if key != 'tensorflow' else 'TensorFlow'} {m[key]}")
    text = "*Machine: " + ", ".join(parts)
    if load(loads):
        text += f"; load average {load(loads)} (1 min)"
    return text + (f"; {extra}" if extra else "") + ".*"


# ---- renderers: one per region name ------------------------------------------------------------

METHODS = {
    "compiled-exact": "compiled (XLA), exact-shape program",
    "compiled": "compiled (XLA), shared program (as in a sweep)",
    "compiled-nojit": "compiled, shared program, no XLA",
    "keras-fit": "Keras `fit`, steps_per_execution=20",
    "keras": "keras engine (`train_on_batch` per chunk)",
    "notebook": "notebook 写法1 (per-step `train_on_batch`)",
}

RATIOS = {  # key in engines.json "ratios" -> what it divides
    "notebook_vs_train": "notebook loop / `lstmbench train` (its default engine and program), B=1",
    "keras_fit_vs_train": "Keras `fit` / `lstmbench train` (its default engine and program)",
    "notebook_vs_compiled_exact": "notebook loop / compiled, exact-shape program, B=1",
    "notebook_vs_compiled": "notebook loop / compiled, shared program, B=1",
    "keras_fit_vs_compiled_exact": "Keras `fit` / compiled, exact-shape program, B=10",
    "keras_fit_vs_compiled": "Keras `fit` / compiled, shared program, B=10",
    "keras_vs_compiled_b1": "keras engine / compiled, shared program, B=1",
    "keras_vs_compiled_b10": "keras engine / compiled, shared program, B=10",
    "nojit_vs_jit_b1": "compiled without XLA / with XLA, shared program, B=1",
    "nojit_vs_jit_b10": "compiled without XLA / with XLA, shared program, B=10",
}


def r_engines(res: Results) -> str:
    d = res.get("engines") or {}
    rows = d.get("rows") or []
    if not rows:
        return ""
    order = list(METHODS)
    rows = sorted(rows, key=lambda r: (r.get("batch_size", 0),
                                       order.index(r["method"]) if r.get("method") in order else 99))
    body = []
    for r in rows:
        conv = r.get("time_to_converge_s")
        body.append([METHODS.get(r.get("method"), r.get("method")), r.get("batch_size", ""),
                     num(med(r.get("epoch_ms"))), spread(r.get("epoch_ms")),
                     f"{num(med(conv), 2)} ({spread(conv, 2)})" if conv else "—",
                     num(med(r.get("compile_s")), 2)])
    t = d.get("task") or {}
    head = (f"Stateful T={t.get('timesteps', '?')}, {t.get('units', '?')} units, "
            f"{t.get('n_sequences', '?')}×{t.get('seq_len', '?')} task "
            f"({t.get('train_sequences', '?')} training sequences); median over epochs 2.. of every "
            "repetition, with min–max; time to converge from building the model (compile "
            f"included) to the first epoch with validation accuracy ≥ {t.get('target', 0.99)}.")
    m = d.get("machine") or {}
    return "\n\n".join(x for x in [
        head,
        table(["method", "B", "epoch ms", "min–max", "converge s (range)", "compile s"], body,
              "lrrrrr"),
        machine_line(m, [m.get("loadavg_before"), m.get("loadavg_after")],
                     "XLA's persistent cache warm (compile: tracing and lowering)"),
    ] if x)


def r_engine_ratios(res: Results) -> str:
    ratios = (res.get("engines") or {}).get("ratios") or {}
    lines = [f"- {label}: **{num(ratios[key])}×**" for key, label in RATIOS.items() if key in ratios]
    lines += [f"- {key}: **{num(v)}×**" for key, v in ratios.items() if key not in RATIOS]
    return "\n".join(lines)


def r_population(res: Results) -> str:
    p = (res.get("engines") or {}).get("population") or {}
    rows = p.get("rows") or []
    if not rows:
        return ""
    body = [[r.get("batch_size"), r.get("members"), num(med(r.get("epoch_ms"))),
             num(med(r.get("epoch_cpu_ms"))), num(r.get("member_ms")), num(r.get("compile_s"), 2)]
            for r in rows]
    ratios = p.get("ratios") or {}
    notes = [f"K=16 / K=1 epoch at B={b}: **{num(ratios[k])}×**"
             for b, k in (("1", "k16_vs_k1_b1_wall"), ("10", "k16_vs_k1_b10_wall")) if k in ratios]
    m = (res.get("engines") or {}).get("machine") or {}
    return "\n\n".join(x for x in [
        f"Medians of {p.get('reps', '?')} repetitions of {p.get('epochs_per_rep', '?')} epochs, "
        "each population in a program of its own shapes.",
        table(["B", "K", "epoch ms", "epoch CPU ms", "per member ms", "compile s"], body, "rrrrrr"),
        "; ".join(notes) + ("." if notes else ""),
        machine_line(m, [p.get("loadavg_before"), p.get("loadavg_after")]),
    ] if x)


def r_sweep(res: Results) -> str:
    d = res.get("sweep") or {}
    rows = d.get("rows") or []
    if not rows:
        return ""
    # keys the sweep benchmark may add about blind draws (e.g. per arm), each a column
    blind = sorted({k for r in rows for k in r if "blind" in k})
    header = ["run", "wall s", "CPU s", "start-up s", "compile s", "train s", "eval s", "other s",
              "programs compiled", "reused", "XLA cache hits", "converged (stateful, stateless)",
              *[k.replace("_", " ") for k in blind]]
    body = []
    for r in rows:
        conv = r.get("converged") or {}
        row = [r.get("run", ""), f"**{num(r.get('wall_s'))}**", num(r.get("cpu_s")),
               num(r.get("startup_s")), num(r.get("compile_s")), num(r.get("train_s")),
               num(r.get("eval_s")), num(r.get("other_s")), num(r.get("programs_compiled")),
               num(r.get("programs_reused")),
               f"{r.get('cache_hits', '?')} of {(r.get('cache_hits') or 0) + (r.get('cache_misses') or 0)}",
               ", ".join(str(v) for v in conv.values())]
        row += [_cell(r.get(k)) for k in blind]
        body.append(row)
    first = rows[0]
    return "\n\n".join(x for x in [
        f"`lstmbench sweep --trials {first.get('trials', 50)}`, {first.get('replicates', '?')} seeds "
        f"a trial, {first.get('jobs', '?')} workers, each run in a new empty folder. Compile, train, "
        "eval and other are sums over trials (seconds of one core); start-up is the wall time "
        "outside the busiest worker's trials (importing TensorFlow, the study, the verdict).",
        table(header, body, "l" + "r" * (len(header) - 1)),
        machine_line(d.get("machine"), [r.get("load_before") for r in rows], "the load at each run's start"),
    ] if x)


def r_report(res: Results) -> str:
    d = res.get("report") or {}
    rows = d.get("rows") or []
    if not rows:
        return ""
    dash = any("dashboard_api_s" in r for r in rows)
    header = ["trials", "`lstmbench report` s", "its reading, CPU s", "its statistics, CPU s",
              "Optuna's `get_trials` s"]
    if dash:
        header.append("optuna-dashboard `/api/studies/<id>` s")
    body = []
    for r in rows:
        row = [num(r.get("trials")), num(med(r.get("report_s")), 2), num(r.get("read_cpu_s"), 2),
               num(r.get("summary_cpu_s"), 2), num(r.get("get_trials_s"), 2)]
        if dash:
            row.append(num(r.get("dashboard_api_s"), 2))
        body.append(row)
    runs = (rows[0].get("report_s") or {}).get("n", "?")
    return "\n\n".join(x for x in [
        f"Studies of real trial records ({d.get('source_trials', '?')} trials of the default study, "
        "learning curves included, cloned; each copy's epoch time and time to solution made "
        "distinct, as a real study's are); the command's wall time, imports included, median of "
        f"{runs} runs; the CPU seconds of its two parts, measured once.",
        table(header, body),
        machine_line(d.get("machine"), [r.get("loadavg", [None])[0] for r in rows],
                     "the load at each size's runs"),
    ] if x)


def r_storage(res: Results) -> str:
    d = res.get("storage") or {}
    rows = d.get("rows") or []
    if not rows:
        return ""
    workers = sorted({r["workers"] for r in rows})
    cells: dict[tuple[str, str], dict[int, str]] = {}
    for r in rows:
        cells.setdefault((r["storage"], r["kind"]), {})[r["workers"]] = num(med(r.get("trials_per_s")), 2)
    body = [[{"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(s, s), k,
             *[c.get(w, "–") for w in workers]] for (s, k), c in cells.items()]
    return "\n\n".join(x for x in [
        f"Trials per second, median of 3 runs of {num(d.get('seconds'))} s; **bare**: the queue and "
        f"Optuna's ask/tell only; **trial**: the writes of a {d.get('epochs', '?')}-epoch trial. "
        "The PostgreSQL server is a throwaway one on the same cores (fsync off).",
        table(["storage", "objective", *[f"{w} worker{'s' if w > 1 else ''}" for w in workers]],
              body, "ll" + "r" * len(workers)),
        machine_line(d.get("machine"), [d.get("loadavg_before"), d.get("loadavg_after")]),
    ] if x)


def r_scaling(res: Results) -> str:
    d = res.get("scaling") or {}
    rows = d.get("rows") or []
    if not rows:
        return ""
    body = [[r.get("axis"), r.get("arm"), num(r.get("n_sequences")), num(r.get("seq_len")),
             num(r.get("updates_per_epoch")), num(r.get("epoch_ms")),
             num(r["epoch_ms"] * 1000 / r["updates_per_epoch"]) if r.get("updates_per_epoch") else "—",
             num(r.get("compile_s"), 2), num(r.get("peak_rss_mb")), num(r.get("peak_rss_growth_mb"))]
            for r in rows]
    slopes = d.get("slopes_loglog") or {}
    arms = d.get("arms") or {}
    desc = "; ".join(
        f"{name} " + " ".join(f"{k[0].upper()}={v}" for k, v in cfg.items()
                              if k in ("timesteps", "window", "batch_size"))
        for name, cfg in arms.items())
    return "\n\n".join(x for x in [
        f"Compiled engine, each point in a fresh process and a program of its own shapes ({desc}).",
        table(["axis", "arm", "N", "L", "updates/epoch", "epoch ms", "µs/update", "compile s",
               "peak RSS MB", "RSS growth MB"], body, "ll" + "r" * 8),
        ("Fitted log-log slopes (1.0 = linear): "
         + "; ".join(f"{k} {num(v, 2)}" for k, v in slopes.items()) + ".") if slopes else "",
        machine_line(d.get("machine"),
                     [d.get("loadavg_before"), (d.get("machine") or {}).get("loadavg_after")]),
    ] if x)


def _cell(v: Any) -> str:
    v = med(v)
    if isinstance(v, dict):
        return ", ".join(f"{k} {_cell(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_cell(x) for x in v) if len(v) <= 6 else f"{len(v)} values"
    return num(v)


def generic_rows(rows: list[dict[str, Any]]) -> str:
    """A table of whatever flat keys a benchmark's rows have (lists of raw samples left out)."""
    keys: list[str] = []
    for r in rows:
        for k, v in r.items():
            if k not in keys and not k.endswith("_all") and not (isinstance(v, list) and len(v) > 6):
                keys.append(k)
    return table(keys, [[_cell(r.get(k)) for k in keys] for r in rows], "l" * len(keys))


def generic_map(data: dict[str, Any], first: str) -> str:
    """A table of a map of maps: one row per outer key, one column per inner key."""
    cols: list[str] = []
    for v in data.values():
        for k in v if isinstance(v, dict) else ["value"]:
            if k not in cols:
                cols.append(k)
    body = [[k, *[_cell(v.get(c) if isinstance(v, dict) else v) for c in cols]] for k, v in data.items()]
    return table([first, *cols], body)


def r_memory(res: Results) -> str:
    d = res.get("memory") or {}
    rows = d.get("rows") or []
    if not rows:
        return ""
    margin = d.get("margin")
    return "\n\n".join(x for x in [
        "Peak resident memory of real runs against lstmbench's estimate before it trains "
        "(`python bench/memory.py`)"
        + (f"; the margin the estimate keeps: {_cell(margin)}." if margin is not None else "."),
        generic_rows(rows),
        machine_line(d.get("machine"), [d.get("loadavg_before"), d.get("loadavg_after")]),
    ] if x)


def r_calibration(res: Results) -> str:
    d = res.get("calibration") or {}
    if not d:
        return ""
    parts = []
    if "false_alarm_rate" in d:
        mc = d.get("false_alarm_mc_error") or d.get("false_alarm_rate_se")
        parts.append(f"False-alarm rate of the primary test over {num(d.get('n_studies'))} simulated "
                     f"A-vs-A studies of the default design: **{num(d['false_alarm_rate'], 2)}**"
                     + (f" (Monte-Carlo error ±{num(mc, 2)})" if mc is not None else "")
                     + " (level 0.05).")
    if isinstance(d.get("coverage"), dict) and d["coverage"]:
        parts += ["Coverage of each 95 % interval, by simulated scenario:",
                  generic_map(d["coverage"], "scenario")]
    power = d.get("power")
    if isinstance(power, list) and power:
        parts += ["Power of the primary test:", generic_rows(power)]
    elif isinstance(power, dict) and power:
        parts += ["Power of the primary test (rows: the difference; columns: blind configurations "
                  "per arm):", generic_map(power, "difference")]
    if parts:
        parts.append(machine_line(d.get("machine"), [d.get("loadavg_before"), d.get("loadavg_after")]))
    return "\n\n".join(x for x in parts if x)


def r_tasks(res: Results) -> str:
    d = res.get("tasks") or {}
    rows = d.get("rows") or (list(d["tasks"].values()) if isinstance(d.get("tasks"), dict) else
                             d.get("tasks") or [])
    if not rows:
        return ""
    return "\n\n".join(x for x in [
        "## Built-in tasks",
        "Each built-in task trained by its study's arms (`python bench/tasks.py`); what the tasks "
        "are and how to bring your own data is in `docs/tasks.md`.",
        generic_rows(rows),
        machine_line(d.get("machine"), [d.get("loadavg_before"), d.get("loadavg_after")]),
    ] if x)


def r_examples_machine(res: Results) -> str:
    d = res.get("examples") or {}
    loads = [e.get("loadavg_before") for e in (d.get("examples") or {}).values()]
    line = machine_line(d.get("machine"), [*loads, d.get("loadavg_after")],
                        f"run by `python bench/examples.py` on {d['date']}" if d.get("date") else "")
    return line


def _engine_row(res: Results, method: str, batch: int) -> dict[str, Any]:
    rows = (res.get("engines") or {}).get("rows") or []
    return next((r for r in rows if r.get("method") == method and r.get("batch_size") == batch), {})


def r_padding(res: Results) -> str:
    """The cost of a shared program for the smallest configurations, in one sentence."""
    parts = []
    for b in (1, 10):
        shared, exact = med(_engine_row(res, "compiled", b).get("epoch_ms")), med(
            _engine_row(res, "compiled-exact", b).get("epoch_ms"))
        if shared and exact:
            parts.append(f"at B={b} an epoch takes {num(shared)} ms in the shared program against "
                         f"{num(exact)} ms in its own (**{num(shared / exact, 2)}×**)")
    return ("Stateful T=1, 8 units: " + "; ".join(parts) + ".") if parts else ""


def r_headline(res: Results) -> str:
    """The README's few numbers, each from its results file; rows whose data is missing are left out."""
    rows: list[list[str]] = []
    sweep = (res.get("sweep") or {}).get("rows") or []
    cold = [r["wall_s"] for r in sweep if "cold" in r.get("run", "") and "wall_s" in r]
    warm = [r["wall_s"] for r in sweep if "warm" in r.get("run", "") and "wall_s" in r]
    if cold:
        rows.append(["`lstmbench sweep --trials 50` in an empty folder (XLA cache empty)",
                     " / ".join(f"{num(w)} s" for w in cold)])
    if warm:
        rows.append(["the same, XLA's cache holding the programs", " / ".join(f"{num(w)} s" for w in warm)])
    ratios = (res.get("engines") or {}).get("ratios") or {}
    nb = med(_engine_row(res, "notebook", 1).get("epoch_ms"))
    if nb:
        rows.append(["one epoch of the notebook's own loop (stateful T=1 B=1 U=8, 1,800 updates)",
                     f"{num(nb)} ms"])
    # what `lstmbench train` runs when the benchmark measured it, else the exact-shape program
    for keys, label in ((("notebook_vs_train", "notebook_vs_compiled_exact"),
                         "{}, faster than the notebook's loop{}"),
                        (("keras_fit_vs_train", "keras_fit_vs_compiled_exact"),
                         "{}, faster than Keras `fit`{}")):
        key = next((k for k in keys if k in ratios), None)
        if key is not None:
            where = RATIOS[key].rpartition(", ")[2]  # the batch size the ratio was measured at
            who, at = (("`lstmbench train`", "") if key.endswith("_train") else
                       ("the compiled engine in an exact-shape program", f" ({where})"))
            rows.append([label.format(who, at), f"{num(ratios[key])}×"])
    pop = ((res.get("engines") or {}).get("population") or {}).get("ratios") or {}
    if "k16_vs_k1_b1_wall" in pop:
        rows.append(["16 seeds in one program, cost of an epoch against 1 seed (B=1)",
                     f"{num(pop['k16_vs_k1_b1_wall'])}×"])
    report = next((r for r in (res.get("report") or {}).get("rows") or [] if r.get("trials") == 10000), None)
    if report:
        rows.append(["`lstmbench report` on a study of 10,000 trials",
                     f"{num(med(report.get('report_s')))} s"])
    cal = res.get("calibration") or {}
    if "false_alarm_rate" in cal:
        rows.append([f"false alarms of the primary test, {num(cal.get('n_studies'))} simulated A-vs-A "
                     "studies", num(cal["false_alarm_rate"], 2)])
    m = (res.get("engines") or {}).get("machine") or (res.get("sweep") or {}).get("machine")
    loads = [r.get("load_before") for r in sweep] + [(m or {}).get("loadavg_before")]
    return "\n\n".join(x for x in [table(["", "measured"], rows, "lr"),
                                    machine_line(m, loads, "each row's details in docs/performance.md")]
                        if x)


RENDERERS: dict[str, Callable[[Results], str]] = {
    "headline": r_headline,
    "padding": r_padding,
    "engines": r_engines,
    "engines-ratios": r_engine_ratios,
    "population": r_population,
    "sweep": r_sweep,
    "report": r_report,
    "storage": r_storage,
    "scaling": r_scaling,
    "memory": r_memory,
    "calibration": r_calibration,
    "tasks": r_tasks,
    "examples-machine": r_examples_machine,
}


def render_value(res: Results, name: str) -> str:
    """``FILE.json:PATH[:FMT]``: one value; ``FMT`` a format spec, ``x`` for ``num`` and a ×."""
    file, path, *fmt = name.split(":")
    value = lookup(res.get(file[: -len(".json")]), path)
    value = med(value)
    if value is None:
        return ""
    spec = fmt[0] if fmt else ""
    if spec in ("", "x"):
        return num(value) + ("×" if spec == "x" else "")
    return format(value, spec)


# ---- examples ---------------------------------------------------------------------------------

def _between(lines: list[str], start: str, stop: str | None = None) -> list[str]:
    """The lines from the first that starts with ``start`` to before the next that starts with
    ``stop`` (or the end)."""
    out: list[str] = []
    for line in lines:
        if not out and not line.startswith(start):
            continue
        if out and stop is not None and line.startswith(stop):
            break
        out.append(line)
    return out


def v_short(lines: list[str]) -> list[str]:
    """A sweep: its first lines, then from its verdict table to the end."""
    head = lines[:4]
    tail = _between(lines, "verdict")
    return head + (["..."] if len(head) + len(tail) < len(lines) else []) + tail


def v_brief(lines: list[str]) -> list[str]:
    """A sweep: its first lines, then its verdict in words (the verdict's table left out)."""
    head = lines[:4]
    tail = _between(lines, "verdict")
    ends = [i for i, line in enumerate(tail) if line.startswith("└")]
    tail = tail[ends[0] + 1:] if ends else tail
    return [*head, "...", *tail]


def v_progress(lines: list[str]) -> list[str]:
    """A sweep stopped early: its first lines and how it ended, without the verdict."""
    end = next((i for i, line in enumerate(lines) if line.startswith("verdict")), len(lines))
    lines = lines[:end]
    keep = [i for i, line in enumerate(lines)
            if i < 3 or "timeout" in line or "FAILED" in line or line.startswith("lstmbench:")]
    out: list[str] = []
    for j, i in enumerate(keep):
        if j and i != keep[j - 1] + 1:
            out.append("...")
        out.append(lines[i])
    return out


def v_verdict(lines: list[str]) -> list[str]:
    """A report: its title and the verdict."""
    return _between(lines, "lstmbench report", "Arms")


def v_arms(lines: list[str]) -> list[str]:
    """A report: the table of the arms."""
    return (_between(lines, "Arms", "Estimates over") or _between(lines, "Arms", "P(converge)")
            or _between(lines, "Arms", "Stateful vs"))


def v_summary(lines: list[str]) -> list[str]:
    """`train`: the summary table and any lines after the learning curve (a replay's verdict)."""
    curve = next((i for i, line in enumerate(lines) if line.startswith("learning curve")), None)
    if curve is None:
        return lines
    end = max(i for i, line in enumerate(lines) if line.startswith("└"))
    return [*lines[:curve], "(the learning curve: one row and bar per epoch)", *lines[end + 1:]]


def v_json(lines: list[str]) -> list[str]:
    """`report --json`: its top-level keys and each arm's headline values, re-indented."""
    try:
        d = json.loads("\n".join(lines))
    except ValueError:
        return lines
    keep = {k: d[k] for k in ("primary_test", "p", "min_attainable_p", "difference") if k in d}
    keep["arms"] = [{k: a[k] for k in ("arm", "converged_share", "time_to_solution_s") if k in a}
                    for a in d.get("arms", [])]
    text = json.dumps(keep, indent=1, ensure_ascii=False)
    text = re.sub(r"\{\n\s+(\"value\"[^}]*?)\n\s+\}",
                  lambda m: "{" + re.sub(r"\n\s+", " ", m.group(1)) + "}", text)
    text = re.sub(r"(\d\.\d{4})\d+", r"\1", text)  # digits past 4 decimals: shown as cut
    return text.splitlines()


def v_importances(lines: list[str]) -> list[str]:
    """`report --out`: the parameter importances and the files it wrote."""
    return [*_between(lines, "Parameter importances", "Environment"),
            *[line for line in lines if line.startswith("wrote ")]]


def v_usage(lines: list[str]) -> list[str]:
    """`--help`: the usage lines only."""
    end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    return lines[:end]


VIEWS: dict[str, Callable[[list[str]], list[str]]] = {
    "usage": v_usage,
    "importances": v_importances,
    "full": lambda lines: lines,
    "short": v_short,
    "brief": v_brief,
    "progress": v_progress,
    "verdict": v_verdict,
    "arms": v_arms,
    "summary": v_summary,
    "json": v_json,
}


def render_example(res: Results, name: str) -> str:
    example, _, view = name.partition(":")
    e = ((res.get("examples") or {}).get("examples") or {}).get(example)
    if e is None:
        return ""
    lines = [line.rstrip() for line in e.get("output", "").splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    lines = VIEWS[view or "full"](lines)
    while lines and not lines[-1]:
        lines.pop()
    if view in ("json", "arms", "verdict", "usage", "importances"):
        command = e["command"] + "   # excerpt"
    else:
        command = e["command"] + (f"   # {e['note']}" if e.get("note") else "")
    out = [f"$ {command}", *lines]
    if e.get("exit_code"):
        out += ["$ echo $?", str(e["exit_code"])]
    return "```\n" + "\n".join(out) + "\n```"


# ---- files ------------------------------------------------------------------------------------

def known(kind: str, name: str) -> bool:
    if kind == "example":
        return name.partition(":")[2] in ("", *VIEWS)
    return name in RENDERERS or (":" in name and name.split(":")[0].endswith(".json"))


def render_region(res: Results, kind: str, name: str) -> str:
    """The region's text; empty where its results are missing or not in the shape expected (a
    benchmark that has not run yet, or a key renamed: said on stderr, never a failure)."""
    try:
        if kind == "example":
            return render_example(res, name)
        if name in RENDERERS:
            return RENDERERS[name](res)
        return render_value(res, name)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ZeroDivisionError) as exc:
        print(f"docs: {kind}:{name} left empty: its results lack {exc!r}", file=sys.stderr)
        return ""


def load_results(folder: Path) -> Results:
    """Every ``*.json`` of ``folder`` by stem; a file that is not valid JSON is left out."""
    out: Results = {}
    for path in sorted(folder.glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            print(f"docs: {path} is not valid JSON: left out", file=sys.stderr)
    return out


def rewrite(text: str, res: Results, where: str, problems: list[str]) -> str:
    """``text`` with every region rendered; unknown region names are added to ``problems``."""

    def one(m: re.Match[str]) -> str:
        kind, name, old = m.group(1), m.group(2), m.group(3)
        if not known(kind, name):
            problems.append(f"{where}: unknown region {kind}:{name}")
            return m.group(0)
        new = render_region(res, kind, name)
        if old.startswith("\n"):  # a block
            new = "\n" + (new + "\n" if new else "")
        return f"<!-- {kind}:{name} -->{new}<!-- /{kind} -->"

    return REGION.sub(one, text)


def documents(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def run(root: Path, check: bool) -> int:
    res = load_results(root / "bench" / "results")
    problems: list[str] = []
    for path in documents(root):
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, res, str(path.relative_to(root)), problems)
        if new == text:
            continue
        if check:
            old_regions = {m.group(2): m.group(3) for m in REGION.finditer(text)}
            for m in REGION.finditer(new):
                if old_regions.get(m.group(2)) != m.group(3):
                    problems.append(f"{path.relative_to(root)}: {m.group(1)}:{m.group(2)} differs "
                                    "from bench/results")
        else:
            path.write_text(new, encoding="utf-8")
            print(f"docs: rewrote {path.relative_to(root)}", file=sys.stderr)
    for p in problems:
        print(f"docs: {p}", file=sys.stderr)
    if problems and check:
        print("docs: run `python bench/docs.py` to render the figures from bench/results/*.json",
              file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a region disagrees with the results")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project folder (default: this one)")
    args = parser.parse_args(argv)
    return run(args.root, args.check)


if __name__ == "__main__":
    raise SystemExit(main())
