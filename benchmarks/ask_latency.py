"""Ask latency over the corpus index: warm p50/p95/max with its split, cold start, peak RSS."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import CACHE_DIR, PROJECT_ROOT, log, rss_mb, summary_ms, table, write_results

from assistant.settings import get_settings

QUESTIONS: list[str] = [
    # eligibility
    "Quels sont les critères pour être Petite ville de demain ?",
    "Y a-t-il un nombre minimum d'habitants pour entrer dans le programme ?",
    "Une commune de plus de 20 000 habitants peut-elle être retenue ?",
    "Qui a sélectionné les communes lauréates ?",
    "Notre commune n'a pas été retenue, peut-on encore candidater ?",
    "Une ville Action cœur de ville peut-elle aussi être PVD ?",
    "Qu'est-ce qu'une fonction de centralité ?",
    "Les intercommunalités peuvent-elles porter la candidature ?",
    "Combien de communes sont lauréates en France ?",
    "Quelles communes de Savoie sont Petites villes de demain ?",
    # funding
    "Comment est financé le poste de chef de projet ?",
    "Quel est le taux de cofinancement du chef de projet par l'ANCT ?",
    "Quelles aides de la Banque des Territoires pour les études ?",
    "Le manager de commerce est-il subventionné ?",
    "Quels financements pour la rénovation de l'habitat en centre-bourg ?",
    "Quel est le montant total du programme au niveau national ?",
    "Le Fonds vert peut-il financer un projet PVD ?",
    "Quelles aides de l'Anah dans le cadre d'une OPAH-RU ?",
    "Le département de la Savoie apporte-t-il des financements ?",
    "Peut-on financer l'ingénierie avec la DSIL ?",
    # steps
    "Quelles sont les étapes du programme après la signature de la convention d'adhésion ?",
    "Combien de temps a-t-on pour signer la convention-cadre ORT ?",
    "Qu'est-ce qu'une opération de revitalisation de territoire ?",
    "Quels sont les effets juridiques d'une ORT ?",
    "Que doit contenir la convention d'adhésion ?",
    "Qui signe la convention-cadre ?",
    "Quel est le rôle du comité de projet ?",
    "Comment se déroule la phase de diagnostic ?",
    "Que se passe-t-il après 2026 pour le programme ?",
    "Comment mettre à jour le plan d'action ?",
    # roles and network
    "Quelles sont les missions du chef de projet PVD ?",
    "À quoi sert le Club Petites villes de demain ?",
    "Quel est le rôle d'Agate auprès des communes ?",
    "Quelles sont les missions du manager de commerce ?",
    "Quels partenaires proposent une offre de services aux communes ?",
    # communes and projects
    "Où en est le projet de reconversion de la friche à Ugine ?",
    "Quel est le diagnostic commercial de Moûtiers ?",
    "Que prévoit le plan de mobilité de Bourg-Saint-Maurice ?",
    "Quelles actions pour les espaces publics aux Échelles ?",
    "Quelle stratégie de revitalisation pour Entrelacs ?",
    "Quel est l'état d'avancement à Albertville ?",
    "Quels projets à Saint-Jean-de-Maurienne pour l'habitat ?",
    "Comment Montmélian valorise-t-elle son patrimoine ?",
    "Quelles actions à Modane et Fourneaux ?",
    "Où en est Saint-Genix-les-Villages ?",
    "Quel bilan du programme en 2023 ?",
    # vocabulary and out of scope
    "Que veut dire OPAH-RU ?",
    "Que signifie l'acronyme ANCT ?",
    "Quel est le prix d'un forfait de ski à Val Thorens ?",
    "Qui a gagné la coupe du monde de football en 2018 ?",
]
assert len(QUESTIONS) == 50


def ensure_index(index: Path, corpus: Path, embedder: str) -> float:
    """Ingest the corpus into ``index`` in a child process (incremental: cheap when built)."""
    env = {**os.environ, "ASSISTANT_EMBEDDER": embedder}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "assistant"), "ingest", str(corpus),
         "--index", str(index), "--json"],
        capture_output=True, text=True, env=env, timeout=3600, check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def cold_run(index: Path, question: str, embedder: str) -> dict[str, Any]:
    """One `assistant ask --json` process: wall time to its output, and its peak RSS."""
    env = {**os.environ, "ASSISTANT_EMBEDDER": embedder}
    cmd = [str(PROJECT_ROOT / ".venv" / "bin" / "assistant"), "ask", question,
           "--index", str(index), "--json"]
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env)
        # wait4 gives this very child's rusage: ru_maxrss is its peak RSS in KiB.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
    peak = usage.ru_maxrss / 1024
    answer = json.loads(out) if proc.returncode == 0 else {}
    return {"wall_s": round(wall, 2), "returncode": proc.returncode,
            "peak_rss_mb": round(peak, 0),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "in_process_total_ms": answer.get("timings_ms", {}).get("total"),
            "stderr_tail": err.decode(errors="replace")[-300:] if proc.returncode else ""}


def time_v_rss(index: Path, question: str, embedder: str) -> float | None:
    """Peak RSS of one `assistant ask` process via /usr/bin/time -v, when available."""
    if not Path("/usr/bin/time").exists():
        return None
    env = {**os.environ, "ASSISTANT_EMBEDDER": embedder}
    proc = subprocess.run(
        ["/usr/bin/time", "-v", str(PROJECT_ROOT / ".venv" / "bin" / "assistant"), "ask",
         question, "--index", str(index), "--json"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    for line in proc.stderr.splitlines():
        if "Maximum resident set size" in line:
            return round(int(line.split(":")[1]) / 1024, 0)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=None,
                        help="existing index folder (default: build/update "
                             ".cache/bench/ask-index-<embedder> from --corpus)")
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus",
                        help="corpus ingested when --index is not given")
    parser.add_argument("--embedder", default=get_settings().embedder,
                        help="embedder spec (default: the settings default, fast-e5)")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold-start runs (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if not 1 <= args.cold_runs <= 20:
        parser.error("--cold-runs must be between 1 and 20")

    build_s = None
    index = args.index
    if index is None:
        index = CACHE_DIR / f"ask-index-{args.embedder.replace(':', '_').replace('/', '_')}"
        log(f"ingesting {args.corpus} into {index} (child process; incremental)...")
        build_s = round(ensure_index(index, args.corpus, args.embedder), 1)
    elif not index.is_dir():
        parser.error(f"no such index folder: {index}")

    # Cold start first, so that the warm process's page cache does not differ run to run.
    log(f"cold start: {args.cold_runs} runs of `assistant ask`...")
    cold = [cold_run(index, QUESTIONS[i % len(QUESTIONS)], args.embedder)
            for i in range(args.cold_runs)]
    if any(c["returncode"] != 0 for c in cold):
        sys.exit(f"`assistant ask` failed: {cold}")
    cold_rss_time_v = time_v_rss(index, QUESTIONS[0], args.embedder)

    # Warm: one process, model and index opened once, then the 50 questions.
    log("warm: 50 questions in this process...")
    from assistant import service
    from assistant.search.retrieval import retrieve

    settings = get_settings(index_dir=index, embedder=args.embedder)
    t0 = time.perf_counter()
    opened = service.open_index(settings)
    opened.store  # noqa: B018 - load model and Chroma
    open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = service.ask(settings, QUESTIONS[0])
    first_ms = (time.perf_counter() - t0) * 1000
    # The web app reads the typo mender's French word list at warm-up (web/app.warm_up);
    # a warm instance has it, so the warm figures below do too.
    from assistant.search.spelling import french_words

    french_words()
    totals: list[float] = []
    retrieves: list[float] = []
    answers: list[float] = []
    refused = 0
    for q in QUESTIONS:
        a = service.ask(settings, q)
        total = a.timings_ms["total"]
        totals.append(total)
        retrieves.append(a.timings_ms.get("retrieve", 0.0))
        answers.append(total - a.timings_ms.get("retrieve", 0.0))
        refused += int(a.refused)
    parts: dict[str, list[float]] = {"lexical": [], "embed": [], "dense": []}
    for q in QUESTIONS:
        r = retrieve(opened, service.clean_question(q), k=settings.top_k)
        for name in parts:
            parts[name].append(r.timings_ms.get(name, 0.0))
    info = service.info(settings)

    data: dict[str, Any] = {
        "benchmark": "ask_latency",
        "index": str(index),
        "embedder": args.embedder,
        "index_info": {k: info[k] for k in ("documents", "chunks", "model", "size_bytes")},
        "index_build_or_update_s": build_s,
        "questions": len(QUESTIONS),
        "refused": refused,
        "warm": {
            "open_index_s": round(open_s, 2),
            "first_ask_ms": round(first_ms, 1),
            "first_ask_refused": first.refused,
            "ask_total_ms": summary_ms(totals),
            "retrieve_ms": summary_ms(retrieves),
            "answer_ms": summary_ms(answers),
            "retrieve_parts_p50_ms": {n: round(statistics.median(v), 2)
                                      for n, v in parts.items()},
            "rss_mb": round(rss_mb(), 0),
            "peak_rss_mb": round(rss_mb("VmHWM"), 0),
        },
        "cold": {
            "runs": cold,
            "median_wall_s": round(statistics.median(c["wall_s"] for c in cold), 2),
            "peak_rss_mb_wait4": max(c["peak_rss_mb"] for c in cold),
            "peak_rss_mb_time_v": cold_rss_time_v,
            "note": "wall time from subprocess start to exit of `assistant ask Q --index X "
                    "--json` (Python start, imports, model load, Chroma open, one answer)",
        },
    }
    w = data["warm"]
    rows = [
        ["ask total (warm)", *(w["ask_total_ms"][k] for k in ("p50", "p95", "max", "mean"))],
        ["  retrieve", *(w["retrieve_ms"][k] for k in ("p50", "p95", "max", "mean"))],
        ["  answer (extractive)", *(w["answer_ms"][k] for k in ("p50", "p95", "max", "mean"))],
    ]
    text = table(["warm, 50 questions (ms)", "p50", "p95", "max", "mean"], rows)
    p = w["retrieve_parts_p50_ms"]
    cold_d = data["cold"]
    text = (
        f"Ask latency — index {index} ({info['documents']} docs, {info['chunks']} chunks, "
        f"{info['model']})\n\n{text}\n\n"
        f"retrieve split (p50): lexical {p['lexical']} ms, query embedding {p['embed']} ms, "
        f"dense {p['dense']} ms; {refused}/50 refused.\n"
        f"warm process: open index + model {w['open_index_s']} s, first ask "
        f"{w['first_ask_ms']} ms, RSS {w['rss_mb']} MB (peak {w['peak_rss_mb']} MB).\n"
        f"cold start `assistant ask --json`: median {cold_d['median_wall_s']} s over "
        f"{len(cold)} runs ({', '.join(str(c['wall_s']) for c in cold)} s); peak RSS "
        f"{cold_d['peak_rss_mb_wait4']} MB (wait4 rusage), "
        f"{cold_d['peak_rss_mb_time_v']} MB (/usr/bin/time -v)."
    )
    write_results("ask_latency", data, args.json, text)


if __name__ == "__main__":
    main()
