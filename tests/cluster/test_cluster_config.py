"""The cluster command's checks and the shipped cluster configurations (no cluster started)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cluster import cli, jobs

CLUSTER = Path(cli.__file__).resolve().parent


def test_entrypoint_runs_the_shipped_checkout():
    assert jobs.entrypoint(["pose-search", "train", "core", "--run", "s3://b/r x"]) == \
        "python -m pose_search_app train core --run 's3://b/r x'"
    assert jobs.entrypoint(["python", "script.py"]) == "python script.py"
    with pytest.raises(ValueError, match="no command"):
        jobs.entrypoint([])


def test_env_pairs():
    assert jobs.parse_env(["A=1", "AWS_ENDPOINT_URL=http://h:9000/x=y"]) == {
        "A": "1", "AWS_ENDPOINT_URL": "http://h:9000/x=y"}
    for bad in ("NOEQUALS", "=v", "1A=v", "A B=v"):
        with pytest.raises(ValueError, match="NAME=VALUE"):
            jobs.parse_env([bad])


def test_runtime_env_ships_code_not_environments():
    env = jobs.runtime_env({"K": "v"})
    assert Path(env["working_dir"]) == CLUSTER.parent
    assert {".venv", ".cache", "experiments", ".git"} <= set(env["excludes"])
    assert env["env_vars"]["K"] == "v"


def test_address_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ValueError, match="cluster up"):
        cli.resolve_address(None)
    with pytest.raises(ValueError, match="http://HOST:8265"):
        cli.resolve_address("127.0.0.1:6379")  # a GCS address is not the Jobs API
    monkeypatch.setenv("RAY_ADDRESS", "http://10.0.0.1:8265/")
    assert cli.resolve_address(None) == "http://10.0.0.1:8265"
    assert cli.resolve_address("http://h:1") == "http://h:1"
    monkeypatch.delenv("RAY_ADDRESS")
    cli.write_state({"kind": "local", "address": "http://127.0.0.1:9999"})
    assert cli.resolve_address(None) == "http://127.0.0.1:9999"
    cli.state_path().write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        cli.resolve_address(None)


def test_cli_errors_are_clear(tmp_path, monkeypatch, capsys):
    from pose_search_app.cli import main

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main(["cluster", "submit", "--", "pose-search", "data", "info", "x"]) == 2
    assert "cluster up" in capsys.readouterr().err
    assert main(["cluster", "submit", "--"]) == 2
    assert "no command" in capsys.readouterr().err
    assert main(["cluster", "down"]) == 2
    assert "nothing to stop" in capsys.readouterr().err
    assert main(["cluster", "up", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["cluster", "submit", "--address", "http://h:1", "--env", "bad", "--", "ls"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["cluster", "submit", "--address", "http://h:1", "--num-gpus", "-1", "--", "ls"]) == 2
    assert "--num-gpus" in capsys.readouterr().err
    assert main(["cluster", "up", "--local", "--worker-cpus", "0"]) == 2
    assert "--worker-cpus" in capsys.readouterr().err


def test_dry_run_commands(tmp_path, monkeypatch, capsys):
    from pose_search_app.cli import main

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path))
    assert main(["cluster", "up", "--config", str(CLUSTER / "aws-gpu.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert " up -y " in out and "aws-gpu.yaml" in out
    assert main(["cluster", "up", "--kuberay", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "kubectl apply -f" in out and "raycluster.yaml" in out
    assert not cli.state_path().exists()  # a dry run records nothing


def test_launcher_yaml_is_valid_for_ray():
    """The cluster-launcher YAML validates against the schema Ray itself checks configs with."""
    import jsonschema
    import ray

    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    config = yaml.safe_load((CLUSTER / "aws-gpu.yaml").read_text())
    jsonschema.validate(config, schema)
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    assert types["head"]["resources"] == {"CPU": 0}  # the head only drives
    assert any("torch==2.13.0" in c for c in config["setup_commands"])
    assert sum(t.get("max_workers", 0) for t in types.values()) <= config["max_workers"]


@pytest.mark.parametrize("name", ["raycluster.yaml", "rayjob.yaml"])
def test_kuberay_manifests(name):
    doc = yaml.safe_load((CLUSTER / "kuberay" / name).read_text())
    assert doc["apiVersion"] == "ray.io/v1"
    spec = doc["spec"] if doc["kind"] == "RayCluster" else doc["spec"]["rayClusterSpec"]
    assert spec["rayVersion"] == "2.60.0"
    head = spec["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["resources"]["requests"] == head["resources"]["limits"]
    gpu = next(g for g in spec["workerGroupSpecs"] if g["groupName"] == "gpu")
    container = gpu["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert gpu["minReplicas"] <= gpu["replicas"] <= gpu["maxReplicas"]
    if doc["kind"] == "RayJob":
        assert doc["spec"]["entrypoint"].startswith("python -m pose_search_app train core")
        assert "s3://" in doc["spec"]["entrypoint"]  # no shared disk between pods
