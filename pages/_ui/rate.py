"""The landing page's UI, "Rate & recommend": a few ratings in, live picks out (app.py draws it
after the frame).

Left: three ways to rate (one-click groups of well-known movies from different regions of the
embedding space; a grid of well-known movies spread over the map; a title search) and the list of
what you rated. Right: your top-K picks with filters, "because you liked ..." and links out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._ui import frame as ui
from recsys import explore as E


def _refresh_grid(key: str) -> None:
    """Callback of "Other movies": a new seed, so the grid is drawn again from other movies."""
    st.session_state["grid_seed"] = st.session_state.get("grid_seed", 0) + 1
    st.session_state.pop(key, None)


def render(ctx: ui.Ctx) -> None:
    """Draw the page for this run's context (a loaded model)."""
    model = ctx.model
    d = ctx.derived()
    scale = model.rating_scale
    ratings = ui.ratings()

    st.title("Rate movies, get picks")
    st.write(
        "Rate a few movies you know and watch the picks change. "
        f"Model **{E.escape_markdown(ctx.name)}**; stars from {scale[0]:g} to {scale[1]:g}."
    )

    left, right = st.columns([1.15, 1], gap="large")

    # -- rating ------------------------------------------------------------------------------------
    with left:
        tab_groups, tab_grid, tab_search = st.tabs(
            ["Quick start", "Well-known movies", "Search a title"]
        )

        with tab_groups:
            value = E.group_rating(scale)
            st.caption(
                "Pick a kind of movie you like: one click rates its five best-known movies "
                f"**{value:g} ★** (the top of the scale minus one step). Each group is a region of "
                "the embedding space, found by k-means on the most-rated movies. Movies you already "
                "rated keep your rating; you can change or remove each rating below."
            )
            for start in range(0, len(d.groups), 3):
                cols = st.columns(3)
                for i, group in enumerate(d.groups[start : start + 3], start=start):
                    with cols[i - start].container(border=True, height="stretch"):
                        st.markdown(f"**{E.escape_markdown(group.label)}**")
                        st.caption("  \n".join(E.escape_markdown(t) for t in group.titles))
                        done = all(ratings.get(m) is not None for m in group.movie_ids)
                        st.button(
                            "Rated" if done else "I like this kind",
                            icon=":material/check:" if done else ":material/thumb_up:",
                            key=f"group_{i}",
                            on_click=ui.rate_many,
                            args=(group.movie_ids, value),
                            disabled=done,
                            width="stretch",
                        )

        with tab_grid:
            grid_key = f"grid_ids::{ctx.name}"
            if grid_key not in st.session_state:
                st.session_state["grid_seed"] = st.session_state.get("grid_seed", 0)
                codes = E.map_grid(
                    model.items,
                    model.projection,
                    n=ui.GRID_SIZE,
                    seed=st.session_state["grid_seed"],
                )
                st.session_state[grid_key] = [
                    int(m) for m in model.vocab.ids_of(codes)
                ]

            top = st.columns([3, 1])
            top[0].caption(
                f"Well-known movies from all over the embedding map: {ui.GRID_SIZE} regions, one of "
                "the most-rated movies of each. Slide to rate; leave on — if you have not seen it."
            )
            top[1].button(
                "Other movies",
                icon=":material/shuffle:",
                key="grid_refresh",
                on_click=_refresh_grid,
                args=(grid_key,),
                width="stretch",
            )
            grid_ids = st.session_state[grid_key]
            grid_codes = model.codes(grid_ids)
            known = [(m, int(c)) for m, c in zip(grid_ids, grid_codes) if c >= 0]
            cols = st.columns(4)
            for i, (movie_id, code) in enumerate(known):
                with cols[i % 4].container(border=True):
                    ui.rating_widget(
                        movie_id, "grid", E.escape_markdown(model.items["title"].iat[code]), scale
                    )
                    st.caption(E.escape_markdown(", ".join(model.items["genres"].iat[code])))

        with tab_search:
            query = st.text_input(
                "Search a title",
                key="search_q",
                placeholder="e.g. the matrix, amelie, star wars",
                help="Case, accents and punctuation are ignored; 'the matrix' finds "
                "'Matrix, The (1999)'. Plain text, no patterns.",
            )
            if query:
                found = d.search.search(query, limit=8)
                if len(found) == 0:
                    st.info(f"No title matches {E.escape_markdown(query[:80])!s}.")
                for code in found:
                    movie_id = int(model.vocab.ids[code])
                    with st.container(border=True):
                        ui.rating_widget(
                            movie_id,
                            "search",
                            E.escape_markdown(model.items["title"].iat[code]),
                            scale,
                        )
                        st.caption(E.escape_markdown(", ".join(model.items["genres"].iat[code])))

        st.subheader(f"Your ratings ({len(ratings)})")
        if not ratings:
            st.caption(
                "Nothing rated yet: the picks on the right are simply the most popular movies."
            )
        for movie_id in list(ratings):
            row = st.columns([5, 1], vertical_alignment="bottom")
            with row[0]:
                ui.rating_widget(
                    movie_id, "rated", E.escape_markdown(ui.title_of(model, movie_id)), scale
                )
            row[1].button(
                "Remove",
                key=f"remove_{movie_id}",
                on_click=ui.set_rating,
                args=(movie_id, None),
                width="stretch",
            )
        if ratings:
            st.button(
                "Clear all ratings", key="clear_all", on_click=ui.clear_ratings, type="secondary"
            )

    # -- picks -------------------------------------------------------------------------------------
    with right:
        st.subheader("Your picks")
        with st.expander("Filters", icon=":material/tune:", expanded=False):
            st.slider("Number of picks", 5, 50, step=1, **ui.setting("k", 10))
            st.multiselect(
                "Genres (any of)",
                d.genres,
                placeholder="All genres",
                **ui.setting("genres", [], valid=lambda v: [g for g in v if g in d.genres]),
            )
            if d.years is not None and d.years[0] < d.years[1]:
                lo, hi = d.years
                st.slider(
                    "Years",
                    lo,
                    hi,
                    **ui.setting(
                        "years",
                        (lo, hi),
                        valid=lambda v: (max(lo, min(int(v[0]), hi)), min(hi, max(int(v[1]), lo))),
                    ),
                )
            st.select_slider(
                "At least this many ratings in the dataset",
                options=[0, 5, 10, 20, 50, 100, 200, 500],
                **ui.setting("min_ratings", 0),
            )
            st.slider(
                "Popularity: ← more niche · more mainstream →",
                -1.0,
                1.0,
                step=0.25,
                help="0 ranks by the model's score alone; see 'How this works' below for the formula.",
                **ui.setting("popularity", 0.0),
            )
        settings = ui.pick_settings(ctx)
        rec = ui.picks(model, settings)
        df = rec.picks
        if rec.fallback:
            st.info(
                f"**Popular picks for now** ({E.escape_markdown(rec.fallback)}). Rate a movie "
                f"you liked {model.threshold:g} ★ or more and the list becomes yours."
            )
        unknown = rec.unknown_ids
        if unknown:
            st.caption(
                f"{len(unknown)} of your ratings are for movies this model does not know; they are "
                "ignored here."
            )
        if df.empty:
            st.warning("No movie passes these filters. Loosen them in Filters above.")
        pick_codes = model.codes(df["movieId"])
        for rank, (row, code) in enumerate(zip(df.itertuples(index=False), pick_codes), start=1):
            r = row._asdict()
            year = "" if pd.isna(r["year"]) else str(int(r["year"]))
            # MovieLens titles usually end with "(year)"; say the year only when they do not.
            year = f" · {year}" if year and f"({year})" not in str(r["title"]) else ""
            genres = E.escape_markdown(", ".join(r["genres"]) or "no genre")
            if rec.fallback:
                n = model.items["n_ratings"].iat[code]
                line2 = [genres, f"rated by {int(n)} people"]
            else:
                line2 = [genres, f"score {float(r['score']):.3f}"]
            if r.get("because"):
                line2.append(f"because you liked *{E.escape_markdown(r['because'])}*")
            links = ui.links_markdown(r)
            if links:
                line2.append(links)
            st.markdown(
                f"**{rank}. {E.escape_markdown(r['title'])}**{year}  \n" + " · ".join(line2)
            )

    ui.how_this_works(E.explain_fold_in(model.manifest, scale))
