"""The workbench's Streamlit script: five pages over the public API (``immunocycle app``)."""

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).parent / "views"

st.set_page_config(page_title="immunocycle workbench", layout="wide")
page = st.navigation([
    st.Page(VIEWS / "diagnose.py", title="Diagnose", url_path="diagnose", default=True),
    st.Page(VIEWS / "deliver.py", title="Deliver", url_path="deliver"),
    st.Page(VIEWS / "design.py", title="Design", url_path="design"),
    st.Page(VIEWS / "trial.py", title="Trial / Study", url_path="trial"),
    st.Page(VIEWS / "catalog.py", title="Catalog", url_path="catalog"),
])
page.run()
