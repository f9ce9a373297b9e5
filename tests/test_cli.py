"""The command line end to end on small data: evaluate, train + info, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import recsys
from recsys.cli import main

FAST = {
    "ials": {"iterations": 4, "factors": 16},
    "bpr": {"epochs": 3, "factors": 16},
    "ncf": {"epochs": 2},
    "mf": {"epochs": 3, "factors": 8},
}


def test_evaluate_random_writes_the_documented_json(synthetic_dir, tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(
        [
            "-q",
            "evaluate",
            "--data",
            str(synthetic_dir),
            "--protocol",
            "random",
            "--threshold",
            "4",
            "--test-frac",
            "0.2",
            "--seed",
            "42",
            "--models",
            "pop,itemknn,ease,ials,bpr,ncf",
            "--k",
            "10,20",
            "--params",
            json.dumps(FAST),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    table = capsys.readouterr().out
    assert "recall@10" in table and "ials" in table
    result = json.loads(out.read_text())
    assert result["dataset"]["n_users"] == 300
    assert result["protocol"]["name"] == "random" and result["protocol"]["ks"] == [10, 20]
    assert [r["model"] for r in result["results"]] == [
        "pop",
        "itemknn",
        "ease",
        "ials",
        "bpr",
        "ncf",
    ]
    for r in result["results"]:
        for key in ("recall@10", "ndcg@10", "precision@10", "hr@10", "mrr@10", "coverage@10"):
            assert 0.0 <= r["metrics"][key] <= 1.0
        assert "recall@20" in r["metrics"] and "train_seconds" in r and "params" in r
    by_name = {r["model"]: r["metrics"]["ndcg@10"] for r in result["results"]}
    # The data has taste clusters: personalised models must beat popularity.
    assert by_name["ease"] > by_name["pop"] and by_name["ials"] > by_name["pop"]


def test_evaluate_users_and_ratings_protocols(synthetic_dir, tmp_path):
    users = tmp_path / "users.json"
    assert (
        main(
            [
                "-q",
                "evaluate",
                "--data",
                str(synthetic_dir),
                "--protocol",
                "users",
                "--models",
                "ials,ease",
                "--params",
                json.dumps(FAST),
                "--json",
                str(users),
            ]
        )
        == 0
    )
    result = json.loads(users.read_text())
    assert result["protocol"]["n_held_out_users"] == 60
    sizes = result["results"][0]["metrics"]["by_profile_size"]
    assert list(sizes) == ["1", "2", "5", "10", "20"]
    ratings = tmp_path / "ratings.json"
    assert (
        main(
            [
                "-q",
                "evaluate",
                "--data",
                str(synthetic_dir),
                "--protocol",
                "ratings",
                "--models",
                "mf",
                "--params",
                json.dumps(FAST),
                "--json",
                str(ratings),
            ]
        )
        == 0
    )
    m = json.loads(ratings.read_text())["results"][0]["metrics"]
    assert 0.0 < m["rmse"] < 1.5 and 0.0 < m["mae"] <= m["rmse"]


def test_train_then_info_then_load(synthetic_dir, tmp_path, capsys):
    out = tmp_path / "artifacts" / "ials"
    assert (
        main(
            [
                "-q",
                "train",
                "--data",
                str(synthetic_dir),
                "--model",
                "ials",
                "--params",
                json.dumps(FAST["ials"]),
                "--out",
                str(out),
                "--projection",
                "pca",
                "--eval",
                "users",
                "--default",
            ]
        )
        == 0
    )
    assert "trained ials" in capsys.readouterr().out
    art = recsys.load(out)
    assert art.manifest["default"] is True
    assert art.manifest["model"]["params"]["iterations"] == 4
    assert "ndcg@10" in art.manifest["metrics"]["users"]["metrics"]
    assert art.manifest["dataset"]["source_files"]["ratings.csv"]
    assert art.manifest["training"]["command"].startswith("python -m recsys")
    picks = art.recommend({1: 5.0, 2: 4.5, 3: 5.0}, k=5, min_support=0).picks
    assert len(picks) == 5
    assert main(["info", str(out)]) == 0
    assert "verified" in capsys.readouterr().out


def test_train_refuses_a_model_without_embeddings(synthetic_dir, tmp_path, capsys):
    code = main(
        [
            "-q",
            "train",
            "--data",
            str(synthetic_dir),
            "--model",
            "ease",
            "--out",
            str(tmp_path / "e"),
            "--eval",
            "",
        ]
    )
    assert code == 2
    assert "has no item embeddings to export" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "--data", "/no/such/dir"], "no such directory"),
        (["evaluate", "--data", "{fixtures}/ml-latest", "--models", "nope"], "unknown model"),
        (["info", "/no/such/artifact"], "no such"),
        (["evaluate", "--data", "{fixtures}/ml-latest", "--test-frac", "2"], "test_frac must be"),
        (
            [
                "evaluate",
                "--data",
                "{fixtures}/ml-latest",
                "--params",
                '{"ials": {"nope": 1}}',
                "--models",
                "ials",
            ],
            "no hyper-parameter(s) ['nope']",
        ),
    ],
)
def test_user_errors_are_one_line_without_traceback(fixtures_dir, args, message):
    args = [a.replace("{fixtures}", str(fixtures_dir)) for a in args]
    proc = subprocess.run(
        [sys.executable, "-m", "recsys", "-q", *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_for_every_command():
    for cmd in ("download", "train", "evaluate", "info"):
        proc = subprocess.run(
            [sys.executable, "-m", "recsys", cmd, "--help"], capture_output=True, text=True
        )
        assert proc.returncode == 0 and "usage:" in proc.stdout


def test_bad_data_file_names_file_and_line(tmp_path, fixtures_dir):
    import shutil

    shutil.copytree(fixtures_dir / "ml-latest", tmp_path / "d")
    path = tmp_path / "d" / "ratings.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(3, b"1,2,abc,5\r\n")
    path.write_bytes(b"".join(lines))
    proc = subprocess.run(
        [sys.executable, "-m", "recsys", "-q", "evaluate", "--data", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert f"{path}, line 4: rating 'abc' is not a number" in proc.stderr
    assert "pass --skip-bad-lines" in proc.stderr


def test_train_refuses_a_model_without_embeddings_before_loading_data(tmp_path, capsys):
    """The refusal comes first: a missing data directory is not even looked at."""
    code = main(["-q", "train", "--data", "/no/such/dir", "--model", "ease", "--out", "x"])
    assert code == 2
    err = capsys.readouterr().err
    assert "has no item embeddings to export" in err and "no such directory" not in err


def test_nested_fold_in_params_reach_the_model_and_the_artifact(synthetic_dir, tmp_path):
    # No "iterations" given: the final fit takes the count chosen in the evaluation.
    params = {"ials": {"factors": 16, "fold_in": {"negative_weight": 1.5}}}
    out = tmp_path / "ials"
    args = ["-q", "train", "--data", str(synthetic_dir), "--model", "ials", "--out", str(out)]
    assert (
        main([*args, "--params", json.dumps(params), "--projection", "pca", "--eval", "random"])
        == 0
    )
    art = recsys.load(out)
    assert art.manifest["model"]["params"]["fold_in"] == {"negative_weight": 1.5}
    assert art.manifest["fold_in"]["params"]["negative_weight"] == 1.5
    # The final fit on all data ran the epochs early stopping chose in the evaluation.
    chosen = art.manifest["metrics"]["random"]["epochs_chosen"]
    assert 1 <= chosen <= 15
    assert art.manifest["model"]["params"]["iterations"] == chosen
    assert art.manifest["training"]["epochs_run"] == chosen
    assert art.manifest["training"]["epochs_chosen_by"] == "random"


def test_unknown_nested_fold_in_key_is_one_clear_line(synthetic_dir, capsys):
    bad = json.dumps({"bpr": {"fold_in": {"regg": 1.0}}})
    code = main(["-q", "evaluate", "--data", "/no/such/dir", "--models", "bpr", "--params", bad])
    assert code == 2
    assert "bpr.fold_in has no hyper-parameter(s) ['regg']" in capsys.readouterr().err


def test_evaluate_tunes_every_model_side_by_side(
    synthetic_dir, tmp_path, capsys, caplog, monkeypatch
):
    from recsys.models import model_class
    from recsys.search_space import IntParam

    # A range of two values: whichever wins sits on an edge and must be flagged.
    monkeypatch.setattr(model_class("itemknn"), "search_space", {"neighbors": IntParam(20, 21)})
    out = tmp_path / "tuned.json"
    args = ["evaluate", "--data", str(synthetic_dir), "--models", "itemknn,ease"]
    code = main(["-q", *args, "--tune", "3", "--tune-time", "600", "--json", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "valid" in table and "trials" in table
    assert "itemknn: best neighbors=" in caplog.text and "edge of its range" in caplog.text
    tuning = json.loads(out.read_text())["tuning"]
    assert set(tuning) == {"itemknn", "ease"}
    for report in tuning.values():
        assert 1 <= len(report["trials"]) <= 3
        assert report["budget"] == {"n_trials": 3, "timeout": 600.0}
    assert set(tuning["itemknn"]["edge_params"]) == {"neighbors"}
    results = json.loads(out.read_text())["results"]
    assert results[0]["params"]["neighbors"] == tuning["itemknn"]["best_params"]["neighbors"]


def test_ratings_protocol_compares_mf_with_the_bias_baseline(synthetic_dir, tmp_path):
    out = tmp_path / "ratings.json"
    params = json.dumps({"mf": FAST["mf"]})
    args = ["-q", "evaluate", "--data", str(synthetic_dir), "--protocol", "ratings"]
    assert main([*args, "--params", params, "--json", str(out)]) == 0
    result = {r["model"]: r["metrics"] for r in json.loads(out.read_text())["results"]}
    assert set(result) == {"bias", "mf"}  # the default for ratings: every rating model
    assert 0.0 < result["bias"]["rmse"] < 1.5 and 0.0 < result["mf"]["rmse"] < 1.5
