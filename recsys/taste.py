"""The taste panel: does a model's output look right to a visitor who knows movies?

Offline metrics (NDCG@10) say how well a model predicts held-out ratings; they do not say whether
five loved animated films get animated films back. The panel asks a fixed set of questions of an
exported artifact, through exactly what the app calls (``Artifact.recommend`` for picks,
``Artifact.similar`` for neighbours):

- **genre share**: for each archetype profile (five well-known movies of one kind, all rated 5
  stars), the share of the top-10 picks listing the archetype's defining genre; reported per
  archetype and as the mean over archetypes.
- **franchise checks**: a profile of the first films of a series (all 5 stars) must get the next
  one among its top-5 picks.
- **diversity**: mean pairwise Jaccard similarity of the archetypes' top-10 lists (0: no movie in
  common, 1: identical lists; lower is more diverse).
- **low support**: how many listed movies (every pick list above, plus the 10 nearest neighbours
  of every profile movie) were rated by fewer than ``min_support`` users: such movies' vectors
  rest on a handful of ratings.

The movies are ml-latest-small movieIds, each written with its title, which the panel checks
against the artifact's items table before asking anything (another release numbers movies
differently). Pure library: no printing; ``bench/taste_panel.py`` prints the table.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .artifacts.format import DEFAULT_MIN_SUPPORT
from .errors import ConfigError

__all__ = [
    "Archetype",
    "FranchiseCheck",
    "ARCHETYPES",
    "FRANCHISES",
    "genre_share",
    "mean_pairwise_jaccard",
    "check_catalogue",
    "taste_panel",
]


@dataclass(frozen=True)
class Archetype:
    """A taste profile: ``movies`` ((movieId, title) pairs) that share ``genre``."""

    name: str
    genre: str
    movies: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class FranchiseCheck:
    """Loving ``profile`` (the first films of a series) should bring up ``target`` (the next)."""

    name: str
    profile: tuple[tuple[int, str], ...]
    target: tuple[int, str]


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "family animation",
        "Animation",
        (
            (364, "Lion King, The (1994)"),
            (588, "Aladdin (1992)"),
            (595, "Beauty and the Beast (1991)"),
            (6377, "Finding Nemo (2003)"),
            (4886, "Monsters, Inc. (2001)"),
        ),
    ),
    Archetype(
        "horror",
        "Horror",
        (
            (1258, "Shining, The (1980)"),
            (1997, "Exorcist, The (1973)"),
            (1219, "Psycho (1960)"),
            (1982, "Halloween (1978)"),
            (1407, "Scream (1996)"),
        ),
    ),
    Archetype(
        "sci-fi",
        "Sci-Fi",
        (
            (541, "Blade Runner (1982)"),
            (924, "2001: A Space Odyssey (1968)"),
            (2571, "Matrix, The (1999)"),
            (1240, "Terminator, The (1984)"),
            (1214, "Alien (1979)"),
        ),
    ),
    Archetype(
        "romance",
        "Romance",
        (
            (2671, "Notting Hill (1999)"),
            (597, "Pretty Woman (1990)"),
            (539, "Sleepless in Seattle (1993)"),
            (1307, "When Harry Met Sally... (1989)"),
            (912, "Casablanca (1942)"),
        ),
    ),
    Archetype(
        "war",
        "War",
        (
            (2028, "Saving Private Ryan (1998)"),
            (1208, "Apocalypse Now (1979)"),
            (1222, "Full Metal Jacket (1987)"),
            (1090, "Platoon (1986)"),
            (527, "Schindler's List (1993)"),
        ),
    ),
    Archetype(
        "documentary",
        "Documentary",
        (
            (5669, "Bowling for Columbine (2002)"),
            (246, "Hoop Dreams (1994)"),
            (8622, "Fahrenheit 9/11 (2004)"),
            (2064, "Roger & Me (1989)"),
            (34072, "March of the Penguins (Marche de l'empereur, La) (2005)"),
        ),
    ),
    Archetype(
        # MovieLens has no "art-house" or "foreign" genre; Drama is what these share.
        "art-house / foreign",
        "Drama",
        (
            (1172, "Cinema Paradiso (Nuovo cinema Paradiso) (1989)"),
            (6016, "City of God (Cidade de Deus) (2002)"),
            (2019, "Seven Samurai (Shichinin no samurai) (1954)"),
            (1251, "8 1/2 (8½) (1963)"),
            (2324, "Life Is Beautiful (La Vita è bella) (1997)"),
        ),
    ),
)

FRANCHISES: tuple[FranchiseCheck, ...] = (
    FranchiseCheck(
        "Toy Story",
        ((1, "Toy Story (1995)"), (3114, "Toy Story 2 (1999)")),
        (78499, "Toy Story 3 (2010)"),
    ),
    FranchiseCheck(
        "Lord of the Rings",
        (
            (4993, "Lord of the Rings: The Fellowship of the Ring, The (2001)"),
            (5952, "Lord of the Rings: The Two Towers, The (2002)"),
        ),
        (7153, "Lord of the Rings: The Return of the King, The (2003)"),
    ),
    FranchiseCheck(
        "Star Wars",
        (
            (260, "Star Wars: Episode IV - A New Hope (1977)"),
            (1196, "Star Wars: Episode V - The Empire Strikes Back (1980)"),
        ),
        (1210, "Star Wars: Episode VI - Return of the Jedi (1983)"),
    ),
    FranchiseCheck(
        "The Godfather",
        ((858, "Godfather, The (1972)"), (1221, "Godfather: Part II, The (1974)")),
        (2023, "Godfather: Part III, The (1990)"),
    ),
    FranchiseCheck(
        "Back to the Future",
        ((1270, "Back to the Future (1985)"), (2011, "Back to the Future Part II (1989)")),
        (2012, "Back to the Future Part III (1990)"),
    ),
)


def genre_share(pick_genres: Sequence[Sequence[str]], genre: str) -> float:
    """Share of picks whose genre list contains ``genre``; 0.0 for no picks."""
    if len(pick_genres) == 0:
        return 0.0
    return sum(genre in g for g in pick_genres) / len(pick_genres)


def mean_pairwise_jaccard(lists: Sequence[Sequence[int]]) -> float:
    """Mean over all pairs of lists of |A & B| / |A | B| (as sets); 0.0 with fewer than two
    lists. Two empty lists count as identical (1.0)."""
    sets = [set(x) for x in lists]
    pairs = list(itertools.combinations(sets, 2))
    if not pairs:
        return 0.0
    return float(np.mean([len(a & b) / len(a | b) if a | b else 1.0 for a, b in pairs]))


def check_catalogue(
    artifact,
    archetypes: Sequence[Archetype] = ARCHETYPES,
    franchises: Sequence[FranchiseCheck] = FRANCHISES,
) -> list[str]:
    """Problems with the panel's movies in ``artifact.items``: ids missing or titled otherwise
    (one message each); an empty list when every movie is there under its recorded title."""
    wanted = [m for a in archetypes for m in a.movies]
    wanted += [m for f in franchises for m in (*f.profile, f.target)]
    titles = dict(zip(artifact.items["movieId"].tolist(), artifact.items["title"].tolist()))
    problems = []
    for movie_id, title in dict(wanted).items():
        if movie_id not in titles:
            problems.append(f"movie {movie_id} ({title}) is not in the catalogue")
        elif titles[movie_id] != title:
            problems.append(f"movie {movie_id} is {titles[movie_id]!r}, expected {title!r}")
    return problems


def taste_panel(
    artifact,
    *,
    k: int = 10,
    franchise_k: int = 5,
    min_support: int = DEFAULT_MIN_SUPPORT,
    archetypes: Sequence[Archetype] = ARCHETYPES,
    franchises: Sequence[FranchiseCheck] = FRANCHISES,
) -> dict:
    """Ask the panel's questions of a loaded artifact (``recsys.load``); plain-data result::

        {"genre_share": {archetype: share}, "mean_genre_share": float,
         "franchise": {name: {"pass": bool, "rank": int | None}}, "franchise_passed": int,
         "diversity": float, "low_support": int, "listed": int, "min_support": int,
         "picks": {archetype or franchise: [titles]}}

    ``rank`` is the target's 1-based place in the top ``franchise_k`` (None when absent);
    ``listed`` counts every listed movie (picks and neighbours, with repeats) and
    ``low_support`` those rated by fewer than ``min_support`` users. Raises ConfigError when a
    panel movie is missing from the artifact or titled otherwise.
    """
    problems = check_catalogue(artifact, archetypes, franchises)
    if problems:
        raise ConfigError(
            f"taste panel: artifact {artifact.name!r} does not hold the panel's movies "
            f"(ml-latest-small ids): " + "; ".join(problems[:3])
        )
    support = dict(zip(artifact.items["movieId"].tolist(), artifact.items["n_ratings"].tolist()))
    listed: list[int] = []
    shares, top_lists, picks = {}, [], {}
    for arch in archetypes:
        recs = _picks(artifact, arch.movies, k)
        shares[arch.name] = genre_share(list(recs["genres"]), arch.genre)
        top_lists.append(recs["movieId"].tolist())
        picks[arch.name] = recs["title"].tolist()
        listed += recs["movieId"].tolist()
        for movie_id, _ in arch.movies:
            listed += artifact.similar(movie_id, k=k)["movieId"].tolist()
    franchise = {}
    for check in franchises:
        recs = _picks(artifact, check.profile, franchise_k)
        ids = recs["movieId"].tolist()
        rank = ids.index(check.target[0]) + 1 if check.target[0] in ids else None
        franchise[check.name] = {"pass": rank is not None, "rank": rank}
        picks[check.name] = recs["title"].tolist()
        listed += ids
    return {
        "genre_share": shares,
        "mean_genre_share": float(np.mean(list(shares.values()))) if shares else 0.0,
        "franchise": franchise,
        "franchise_passed": sum(v["pass"] for v in franchise.values()),
        "diversity": mean_pairwise_jaccard(top_lists),
        "low_support": int(sum(support[m] < min_support for m in listed)),
        "listed": len(listed),
        "min_support": min_support,
        "picks": picks,
    }


def _picks(artifact, movies: Sequence[tuple[int, str]], k: int):
    """The top-``k`` picks table (movieId, title, genres, ...) for ``movies`` all rated 5 stars,
    with the artifact's default settings (what the app shows)."""
    return artifact.recommend({m: 5.0 for m, _ in movies}, k=k, explain=False).picks
