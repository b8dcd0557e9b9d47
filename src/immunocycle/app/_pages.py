"""The workbench's five pages (Streamlit): thin views over the public API.

Every number shown comes from :mod:`immunocycle.design`, :mod:`immunocycle.pk`,
:mod:`immunocycle.trial`, :mod:`immunocycle.catalog` and :mod:`immunocycle.report` through
:mod:`immunocycle.app._runs`, which writes the run folders. A page only lays out inputs, starts a
run, and shows what the run returned or wrote. Bad input is shown inline with the project's
message (:func:`immunocycle._console.describe`), never as a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from immunocycle._errors import ImmunocycleError

#: Environment variable holding the workspace folder (set by ``immunocycle app``).
WORKSPACE_ENV = "IMMUNOCYCLE_APP_WORKSPACE"
DEFAULT_WORKSPACE = "results/app"
CARRIERS = ("liposome", "polymeric", "micelle", "nanogel", "dendrimer", "protein", "gold",
            "silica", "iron-oxide", "hybrid", "lipid-coated", "cell-membrane")
SHAPES = ("Spherical", "Rod", "Flake", "Plate", "Irregular", "Other")
PAYLOADS = ("none", "doxorubicin", "nivolumab")
ROUTES = ("iv", "sc", "id", "it")
_POLL_S = 1.0


def workspace() -> Path:
    """The workspace folder of this server (``--workspace``)."""
    return Path(os.environ.get(WORKSPACE_ENV, DEFAULT_WORKSPACE))


def message(exc: BaseException) -> str:
    """The one-line message the command line would print for ``exc``."""
    from immunocycle._console import describe

    return describe(exc)


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors a user can cause: shown inline (anything else is a bug and keeps its traceback)."""
    from pydantic import ValidationError

    return (ImmunocycleError, ValidationError, OSError)


def show_command(command: str) -> None:
    st.caption("Equivalent command (reproduces this run from the command line):")
    st.code(command, language="bash")


# --- jobs -------------------------------------------------------------------------------------

def start_job(key: str, func: Callable[[], Any], *, folder: Path | None = None,
              progress: Callable[[], float | None] | None = None, command: str = "") -> None:
    """Start a background job for a page; its earlier result stays until this one succeeds."""
    from immunocycle.app._jobs import Job

    st.session_state.pop(f"{key}_error", None)
    st.session_state[f"{key}_job"] = Job(func, folder=folder, progress=progress, label=key)
    st.session_state[f"{key}_command"] = command


def job_status(key: str) -> None:
    """Progress and cancel while a job runs; its result or its error once it ends."""
    job = st.session_state.get(f"{key}_job")
    if job is not None and not job.running:
        _settle(key, job)
    elif job is not None:
        _poll(key)
    error = st.session_state.get(f"{key}_error")
    if error:
        st.error(error)


def _settle(key: str, job) -> None:
    st.session_state.pop(f"{key}_job", None)
    if job.state == "done":
        st.session_state[f"{key}_last"] = {"folder": job.folder, "result": job.result,
                                           "command": st.session_state.get(f"{key}_command")}
    elif job.state == "failed":
        st.session_state[f"{key}_error"] = job.error
    elif job.state == "cancelled":
        st.session_state[f"{key}_error"] = "cancelled: the earlier result is still shown"


def _poll(key: str) -> None:
    @st.fragment(run_every=_POLL_S)
    def poll() -> None:
        job = st.session_state.get(f"{key}_job")
        if job is None:
            return
        if not job.running:
            st.rerun(scope="app")
        with st.container(key=f"{key}_progress"):
            fraction = job.progress()
            text = f"{job.label} running: {job.elapsed:.0f} s"
            if job.folder is not None:
                text += f" (writing {job.folder})"
            st.progress(fraction if fraction is not None else 0.0,
                        text=text if fraction is not None else text + ", progress unknown")
            if st.button("Cancel", key=f"{key}_cancel"):
                job.cancel()

    poll()


def last_result(key: str) -> dict | None:
    return st.session_state.get(f"{key}_last")


def header(title: str, about: str) -> None:
    st.title(title)
    st.caption(about + f" Runs are written under the workspace `{workspace()}`.")


# --- Diagnose ---------------------------------------------------------------------------------

def diagnose_page() -> None:
    from immunocycle.app import _runs
    from immunocycle.cycle import PRESETS
    from immunocycle.population import available_cohorts

    header("Diagnose", "Which step of the cancer-immunity cycle limits a tumor or cohort, and "
           "why (immunocycle diagnose).")
    kind = st.radio("Target", ("archetype", "mouse", "cohort"), horizontal=True,
                    key="dx_kind")
    preset = cohort = None
    n = 20
    if kind == "archetype":
        preset = st.selectbox("Archetype preset", [p for p in PRESETS if p != "mouse"],
                              index=2 if len(PRESETS) > 3 else 0, key="dx_preset")
    elif kind == "mouse":
        preset = "mouse"
    else:
        cohort = st.selectbox("Cohort", available_cohorts(), key="dx_cohort")
        n = int(st.number_input("Patients sampled (n)", 1, 500, 10, key="dx_n"))
    use_tmb = st.checkbox("Set a tumor mutational burden", key="dx_use_tmb")
    tmb = st.number_input("TMB (mutations/Mb)", value=10.0, key="dx_tmb") if use_tmb else None
    seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, key="dx_seed"))
    if st.button("Diagnose", type="primary", key="dx_run"):
        try:
            options = _runs.diagnose_options(preset=preset, cohort=cohort, tmb=tmb, n=n,
                                             seed=seed)
        except user_errors() as exc:
            st.session_state["dx_error"] = message(exc)
        else:
            folder = _runs.new_run_dir(workspace(), "diagnose")
            start_job("dx", lambda: _runs.run_diagnose(workspace(), options, folder)[1],
                      folder=folder, command=_runs.command_line("diagnose", options, folder))
    job_status("dx")
    last = last_result("dx")
    if last:
        _show_diagnosis(last)


def _show_diagnosis(last: dict) -> None:
    from immunocycle.cycle import plot_cycle_diagram
    from immunocycle.design import plot_elasticities, plot_step_scores

    d = last["result"]
    summary = d.to_dict()
    step = summary["limiting_step"]["at_diagnosis"]
    with st.container(key="dx_result"):
        cols = st.columns(3)
        cols[0].metric("Limiting step", f"{step}")
        cols[1].metric("Phenotype", str(summary.get("phenotype")))
        cols[2].metric("Cycle gain", f"{summary.get('cycle_gain', float('nan')):.3g}")
        left, right = st.columns(2)
        with left:
            st.pyplot(plot_cycle_diagram({"fluxes": summary["fluxes"], "limiting_step": step,
                                          "cycle_gain": summary.get("cycle_gain")},
                                         title=summary.get("source", "")))
            st.caption("The cycle ring: step fluxes J1-J7; the limiting step in red.")
        with right:
            st.pyplot(plot_step_scores(summary["step_scores"], title="Step scores",
                                       limiting=step))
        st.pyplot(plot_elasticities(d.elasticities.table))
        st.subheader("Barriers")
        rows = []
        for b in summary.get("barriers", []):
            dois = summary.get("evidence", {}).get(b, [])
            rows.append({"barrier": b, "score": summary.get("barrier_scores", {}).get(b),
                         "evidence": ", ".join(f"https://doi.org/{x}" for x in dois)})
        st.dataframe(rows, hide_index=True, width="stretch",
                     column_config={"evidence": st.column_config.TextColumn("evidence (DOI)")})
        for b in summary.get("barriers", []):
            links = " ".join(f"[{x}](https://doi.org/{x})"
                             for x in summary.get("evidence", {}).get(b, []))
            if links:
                st.markdown(f"**{b}**: {links}")
        st.caption(f"Run folder: `{last['folder'] or ''}`")
    if last.get("command"):
        show_command(last["command"])


# --- Deliver ----------------------------------------------------------------------------------

@st.cache_resource(max_entries=64, show_spinner=False)
def _pbpk(key: tuple):
    """The PBPK run of one formulation (cached; the compiled model is reused across runs)."""
    from immunocycle.app import _runs

    return _runs.pbpk(dict(key))


@st.cache_resource(max_entries=64, show_spinner=False)
def _property(key: tuple):
    from immunocycle.app import _runs

    return _runs.property_prediction(dict(key))


@st.cache_resource(max_entries=16, show_spinner=False)
def _free(payload, species, route, dose, days):
    """The payload given free: depends on neither diameter, charge nor coating."""
    from immunocycle.app import _runs

    return _runs.free_payload(payload, species, route, dose, days)


def _simulate_pk(options: dict) -> dict:
    key = tuple(options.items())
    result, caught = _pbpk(key)
    return {"pk": result, "property": _property(key), "warnings": caught,
            "free": _free(options["--payload"], options["--species"], options["--route"],
                          options["--dose"], options["--days"])}


def deliver_page() -> None:
    from immunocycle.app import _runs

    header("Deliver", "A particle designer: PBPK time courses and tumor delivery of one "
           "formulation (immunocycle pk), with the property model's prediction and the payload "
           "given free.")
    left, right = st.columns([1, 2])
    with left:
        carrier = st.selectbox("Carrier", CARRIERS, key="pk_carrier")
        diameter = st.number_input("Diameter (nm)", min_value=0.0, max_value=100000.0,
                                   value=100.0, step=10.0, key="pk_diameter")
        zeta = st.slider("Zeta potential (mV)", -60.0, 60.0, -10.0, 1.0, key="pk_zeta")
        shape = st.selectbox("Shape", SHAPES, key="pk_shape")
        targeted = st.checkbox("Actively targeted (ligand coating)", key="pk_targeted")
        payload = st.selectbox("Payload", PAYLOADS, index=1, key="pk_payload")
        release = st.slider("Payload release (1/h)", 0.0, 0.1, 0.005, 0.001, format="%.3f",
                            key="pk_release")
        route = st.selectbox("Route", ROUTES, key="pk_route")
        dose = st.number_input("Carrier dose (mg/kg)", min_value=0.0, value=5.0, step=1.0,
                               key="pk_dose")
        species = st.selectbox("Species", ("mouse", "human"), key="pk_species")
        days = st.slider("Days simulated", 1, 14, 7, key="pk_days")
    with right:
        try:
            options = _runs.pk_options(carrier=carrier, diameter=diameter, zeta=zeta,
                                       shape=shape, targeted=targeted, route=route, dose=dose,
                                       species=species,
                                       payload=None if payload == "none" else payload,
                                       release_rate=release, days=float(days))
            sim = _simulate_pk(options)
        except user_errors() as exc:
            st.error(message(exc))
            return
        _show_pk(sim)
        if st.button("Save as run folder", key="pk_save"):
            try:
                folder, _ = _runs.run_pk_folder(workspace(), options)
            except user_errors() as exc:
                st.error(message(exc))
            else:
                st.session_state["pk_saved"] = str(folder)
        if st.session_state.get("pk_saved"):
            st.success(f"Run folder written: {st.session_state['pk_saved']}")
        show_command(_runs.command_line("pk", options,
                                        Path(st.session_state.get("pk_saved") or "results/pk")))


def _show_pk(sim: dict) -> None:
    import pandas as pd

    from immunocycle.pk import node_columns

    result, prop = sim["pk"], sim["property"].iloc[0]
    for w in sim["warnings"]:
        st.warning(w)
    with st.container(key="pk_metrics"):
        st.markdown("**Tumor delivery (%ID in tumor)**")
        cols = st.columns(3)
        with cols[0], st.container(key="pk_de24"):
            st.metric("DE24 (PBPK)", f"{result.de24:.3g} %ID")
        cols[1].metric("DE168 (PBPK)", f"{result.de168:.3g} %ID")
        cols[2].metric("DEmax (PBPK)", f"{result.demax:.3g} %ID")
        table = pd.DataFrame(
            {"PBPK": [result.de24, result.de168, result.demax],
             "property model": [prop["de24"], prop["de168"], prop["demax"]],
             "interval low": [prop["de24_lo"], prop["de168_lo"], prop["demax_lo"]],
             "interval high": [prop["de24_hi"], prop["de168_hi"], prop["demax_hi"]]},
            index=["DE24", "DE168", "DEmax"])
        st.dataframe(table.style.format("{:.3g}"), width="stretch")
        st.caption("Property model: random forest on the Nano-Tumor data set, with its 10-90 % "
                   "interval." + (" Out of its domain: " + str(prop["domain_notes"])
                                  if prop.get("out_of_domain") else ""))
    nodes = node_columns(result)
    organs = [c for c in ("blood", "tumor", *nodes, "liver", "spleen", "kidney", "lung")
              if c in result.pct_id.columns]
    st.markdown("**Carrier %ID over time (h)**: blood, tumor, lymph node(s) and organs "
                "(an s.c./i.d. dose drains to its own node, the vaccine-draining node)")
    st.line_chart(result.pct_id[organs], x_label="time (h)", y_label="% injected dose")
    st.line_chart(result.pct_id[[c for c in ("tumor", *nodes) if c in organs]],
                  x_label="time (h)", y_label="% injected dose (tumor, lymph nodes)")
    free = sim.get("free")
    if free is not None:
        st.markdown("**Payload: in the particle versus given free** (same payload dose; "
                    "AUC of free payload, mg h/L)")
        rows = sorted(set(result.free_payload_auc) | set(free.free_payload_auc))
        st.dataframe(pd.DataFrame({"nano": [result.free_payload_auc.get(r) for r in rows],
                                   "free": [free.free_payload_auc.get(r) for r in rows]},
                                  index=rows), width="stretch")
        st.caption(f"Payload blood half-life: nano {result.payload_blood_half_life_h:.3g} h, "
                   f"free {free.payload_blood_half_life_h:.3g} h")


# --- Design -----------------------------------------------------------------------------------

def design_page() -> None:
    from immunocycle.app import _runs
    from immunocycle.catalog import load_catalog
    from immunocycle.cycle import PRESETS
    from immunocycle.population import available_cohorts

    header("Design", "Rank nano-immunotherapies and combinations for a target, confirmed in a "
           "small virtual trial (immunocycle design).")
    kind = st.radio("Target", ("preset", "cohort"), horizontal=True, key="ds_kind")
    if kind == "preset":
        preset, cohort = st.selectbox("Preset", PRESETS, index=3 if len(PRESETS) > 3 else 0,
                                      key="ds_preset"), None
    else:
        preset, cohort = None, st.selectbox("Cohort", available_cohorts(), key="ds_cohort")
    ids = load_catalog().list_therapies()["id"].tolist()
    candidates = st.multiselect("Candidates (empty: chosen from the diagnosis)", ids,
                                key="ds_candidates")
    cols = st.columns(4)
    max_agents = cols[0].number_input("Max agents", 1, 3, 2, key="ds_max_agents")
    use_ae = cols[1].checkbox("AE limit", key="ds_use_ae")
    ae_limit = cols[1].number_input("Grade >= 3 AE rate at most", value=0.5,
                                    key="ds_ae") if use_ae else None
    budget = cols[2].number_input("Budget (kept after the screen)", 1, 10, 3, key="ds_budget")
    n = cols[3].number_input("Trial patients (n)", 1, 1000, 20, key="ds_n")
    seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, key="ds_seed"))
    if st.button("Design", type="primary", key="ds_run"):
        try:
            options = _runs.design_options(preset=preset, cohort=cohort, candidates=candidates,
                                           max_agents=max_agents, ae_limit=ae_limit,
                                           budget=budget, n=n, seed=seed)
        except user_errors() as exc:
            st.session_state["ds_error"] = message(exc)
        else:
            folder = _runs.new_run_dir(workspace(), "design")
            start_job("ds", lambda: _runs.run_design(workspace(), options, folder)[1],
                      folder=folder, command=_runs.command_line("design", options, folder))
    job_status("ds")
    last = last_result("ds")
    if last:
        _show_design(last)


def _show_design(last: dict) -> None:
    import pandas as pd

    from immunocycle.report import plot_pareto, plot_vs_free

    result = last["result"]
    with st.container(key="ds_result"):
        st.subheader("Ranked regimens")
        st.dataframe(pd.DataFrame(result.recommendations), width="stretch")
        if result.confirmed:
            st.pyplot(plot_pareto(result.confirmed, result.pareto))
        if result.recommendations:
            st.pyplot(plot_vs_free(result.recommendations))
        _downloads(Path(last["folder"]), "ds")
    if last.get("command"):
        show_command(last["command"])


# --- Trial / Study ----------------------------------------------------------------------------

def trial_page() -> None:
    from immunocycle.app import _runs
    from immunocycle.app._jobs import chunk_progress
    from immunocycle.population import available_cohorts, available_mouse_models

    header("Trial / Study", "A virtual human trial (immunocycle trial) or mouse study "
           "(immunocycle study): every arm on the same virtual patients or mice.")
    kind = st.radio("Kind", ("human trial", "mouse study"), horizontal=True, key="tr_kind")
    human = kind == "human trial"
    if human:
        cohorts = available_cohorts()
        target = st.selectbox("Cohort", cohorts,
                              index=cohorts.index("melanoma") if "melanoma" in cohorts else 0,
                              key="tr_cohort")
        default_arms = "nivolumab\nnivolumab+ipilimumab"
    else:
        target = st.selectbox("Mouse model", available_mouse_models(), key="tr_model")
        default_arms = "isotype\nanti_pdl1_mouse"
    arms_text = st.text_area("Arms, one per line (the --arm syntax: therapies joined by '+', "
                             "each with an optional @dose:schedule)", default_arms,
                             key=f"tr_arms_{'human' if human else 'mouse'}")
    cols = st.columns(3)
    n = cols[0].number_input("Patients (n)" if human else "Mice per group", 1, 100000,
                             20 if human else 8, key=f"tr_n_{human}")
    seed = cols[1].number_input("Seed", 0, 2**31 - 1, 0, key="tr_seed")
    days = cols[2].number_input("Days", 1.0, 3650.0, 168.0 if human else 28.0, step=7.0,
                                key=f"tr_days_{human}")
    replicates = None
    if human:
        replicates = st.number_input("Effect-size replicates for the 90 % prediction intervals "
                                     "(0: none; empty: the default)", min_value=0, value=None,
                                     step=1, key="tr_replicates")
    if st.button("Run", type="primary", key="tr_run"):
        try:
            arms = _runs.split_arms(arms_text)
            if human:
                options = _runs.trial_options(cohort=target, arms=arms, n=n, seed=seed,
                                              days=days, replicates=replicates)
            else:
                options = _runs.study_options(model=target, arms=arms, mice=n, days=days,
                                              seed=seed)
        except user_errors() as exc:
            st.session_state["tr_error"] = message(exc)
        else:
            command = "trial" if human else "study"
            folder = _runs.new_run_dir(workspace(), command)
            run = _runs.run_trial_folder if human else _runs.run_study_folder
            progress = chunk_progress(folder, int(n), _runs.chunk_size(int(n)),
                                      replicates=replicates != 0) if human else None
            start_job("tr", lambda: run(workspace(), options, folder)[1], folder=folder,
                      progress=progress, command=_runs.command_line(command, options, folder))
    job_status("tr")
    last = last_result("tr")
    if last:
        _show_trial(last)


def _show_trial(last: dict) -> None:
    import pandas as pd

    summary, folder = last["result"], Path(last["folder"])
    with st.container(key="tr_result"):
        arms = summary.get("per_arm") or summary.get("arms") or []  # study: per_arm by name
        if isinstance(arms, dict):
            arms = [{"name": k, **v} for k, v in arms.items() if isinstance(v, dict)]
        st.subheader("Arms")
        keys = ("name", "n", "orr", "orr_ci", "orr_pi", "cr_rate", "dcr", "median_pfs_days",
                "median_pfs_days_pi", "median_os_days", "hr_vs_first", "ae_grade3plus_rate",
                "ae_grade3plus_rate_pi", "mice", "cr_fraction", "tgi_pct", "median_survival_days",
                "median_survival_ci_days", "p_logrank")
        rows = [{k: _fmt(a.get(k)) for k in keys if k in a} for a in arms if isinstance(a, dict)]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        ae = {a.get("name", str(i)): a.get("ae_by_type") or a.get("ae_rates")
              for i, a in enumerate(arms) if isinstance(a, dict)}
        ae = {k: v for k, v in ae.items() if isinstance(v, dict)}
        if ae:
            st.markdown("**Adverse-event rates (grade >= 3, fraction of patients)**")
            st.dataframe(pd.DataFrame(ae).map(_fmt), width="stretch")
        figures = sorted(folder.glob("*.png"), key=lambda p: (not p.name.startswith(
            ("kaplan", "survival")), p.name))
        for png in figures:
            key = png.stem.replace(".", "_")
            with st.container(key=f"fig_{key}"):
                st.image(str(png), caption=png.stem.replace("_", " "))
        _downloads(folder, "tr")
    if last.get("command"):
        show_command(last["command"])


def _fmt(value: Any) -> str:
    """A summary value as text: numbers to 3 significant digits, intervals as [lo, hi]."""
    if value is None:
        return ""
    if isinstance(value, bool | str | int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _downloads(folder: Path, key: str) -> None:
    """Download buttons: the run's Parquet tables, the same as CSV, and its HTML report."""
    import pandas as pd

    st.caption(f"Run folder: `{folder}` (open it again with `immunocycle report {folder}`)")
    cols = st.columns(3)
    tables = sorted(folder.glob("*.parquet")) + sorted(folder.glob("trial/*.parquet"))
    for i, table in enumerate(tables[:2]):
        data = table.read_bytes()
        cols[0].download_button(f"{table.name}", data, file_name=table.name,
                                key=f"{key}_dl_pq_{i}")
        cols[1].download_button(f"{table.stem}.csv",
                                pd.read_parquet(table).to_csv(index=False).encode(),
                                file_name=f"{table.stem}.csv", key=f"{key}_dl_csv_{i}")
    report = folder / "report.html"
    if report.is_file():
        cols[2].download_button("report.html", report.read_bytes(), file_name="report.html",
                                mime="text/html", key=f"{key}_dl_html")


# --- Catalog ----------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _catalog():
    from immunocycle.catalog import load_catalog

    return load_catalog()


def catalog_page() -> None:
    import pandas as pd

    header("Catalog", "The knowledge base: therapies with their steps, barriers, formulations, "
           "routes and evidence (immunocycle catalog search).")
    cat = _catalog()
    barriers = cat.sql("select id from barriers")["id"].tolist()
    everything = cat.list_therapies()
    cols = st.columns(5)
    step = cols[0].selectbox("Step", ["any", 1, 2, 3, 4, 5, 6, 7], key="cat_step")
    barrier = cols[1].selectbox("Barrier", ["any", *barriers], key="cat_barrier")
    carriers = sorted({str(x) for x in everything["formulation"]})
    carrier = cols[2].selectbox("Formulation", ["any", *carriers], key="cat_carrier")
    route = cols[3].selectbox("Route", ["any", *sorted({str(r) for r in everything["route"]})],
                              key="cat_route")
    text = cols[4].text_input("Text", key="cat_text")
    filters = {"step": None if step == "any" else int(step),
               "barrier": None if barrier == "any" else barrier,
               "carrier": None if carrier == "any" else carrier,
               "route": None if route == "any" else route, "text": text or None}
    try:
        found = cat.search(**filters)
    except user_errors() as exc:
        st.error(message(exc))
        return
    shown = pd.DataFrame({c: found[c].map(lambda v: ", ".join(map(str, v))
                                          if hasattr(v, "__len__") and not isinstance(v, str)
                                          else v) for c in
                          ("id", "name", "formulation", "route", "steps", "barriers", "evidence")})
    with st.container(key="cat_table"):
        st.caption(f"{len(found)} therapies")
        st.dataframe(shown, hide_index=True, width="stretch")
    flags = {f"--{k}": v for k, v in filters.items() if v is not None}
    show_command(" ".join(["immunocycle catalog search",
                           *[f"--{k} {v}" for k, v in filters.items() if v is not None]])
                 if flags else "immunocycle catalog list")
    if len(found):
        entry = st.selectbox("Show a therapy", found["id"].tolist(), key="cat_entry")
        _show_entry(cat.show(entry))


def _show_entry(entry: dict) -> None:
    with st.container(key="cat_entry_box"):
        st.subheader(entry.get("name", entry.get("id", "")))
        st.markdown(f"Formulation: **{entry.get('formulation')}** ({entry.get('carrier')}), "
                    f"route **{entry.get('route')}**, steps {entry.get('steps')}, barriers "
                    f"{', '.join(entry.get('barrier_names', {}).values()) or '-'}")
        st.markdown("**Evidence**")
        for ev in entry.get("evidence_items", []):
            doi = ev.get("doi")
            link = f" [doi:{doi}](https://doi.org/{doi})" if doi else ""
            st.markdown(f"- {ev.get('citation', ev.get('id'))}{link}  \n"
                        f"  _{ev.get('model_system', '')}_: {ev.get('outcome', '')}")
        if entry.get("assumptions"):
            st.caption(f"Assumptions: {entry['assumptions']}")
        show_command(f"immunocycle catalog show {entry.get('id')}")


PAGES = {"diagnose": diagnose_page, "deliver": deliver_page, "design": design_page,
         "trial": trial_page, "catalog": catalog_page}

__all__ = ["PAGES", "WORKSPACE_ENV", "catalog_page", "deliver_page", "design_page",
           "diagnose_page", "trial_page", "workspace"]
