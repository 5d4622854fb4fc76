"""``--store lance:s3://...`` for real: an S3 API served by moto on localhost (no network), reached the way
a user's LanceDB reaches any S3-compatible store, through the standard AWS_* environment variables.
The commands answer from the bucket as from a local dataset, a reader with the manifest alone answers
from the bucket, an incremental run changes only what changed, and old versions are pruned there too."""

from __future__ import annotations

import json
import shutil

import pytest
from index_support import assert_every_command_answers_alike
from moto import server as moto_server   # the test extra installs moto[server]: missing, this fails loudly

COMMANDS = [("search", "red dress", "-k", "6", "--where", "price<80"),
            ("similar", "IMAGE", "-k", "5"),
            ("refine", "IMAGE", "but in blue", "-k", "4")]


@pytest.fixture(scope="module")
def s3_endpoint():
    """An S3 API on a free localhost port for this module, with one bucket, ``shop``."""
    import boto3

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test",
                 region_name="us-east-1").create_bucket(Bucket="shop")
    yield url
    server.stop()


@pytest.fixture()
def s3_env(fashrec_env, s3_endpoint, monkeypatch) -> dict[str, str]:
    """What a user of an S3-compatible store sets (MinIO, R2, Ceph...); LanceDB reads it, fashrec passes
    nothing of its own. Also set here so that this process's lancedb finds the bucket."""
    creds = {"AWS_ENDPOINT": s3_endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "test",
             "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    fashrec_env.update(creds)
    for key, value in creds.items():
        monkeypatch.setenv(key, value)
    return fashrec_env


def versions(uri: str) -> list[int]:
    import lancedb

    return [int(v["version"]) for v in lancedb.connect(uri).open_table("items").list_versions()]


def test_an_s3_dataset_answers_as_a_local_one_and_a_bare_reader_answers_from_the_bucket(
        fashrec, s3_env, small_catalog, tiny_model, tmp_path):
    local, remote, bare = tmp_path / "local", tmp_path / "remote", tmp_path / "server"
    uri = "s3://shop/answers/shop.lance"
    assert fashrec("index", small_catalog, "--model", tiny_model, "--index", local, "--store", "lance").returncode == 0
    built = fashrec("index", small_catalog, "--model", tiny_model, "--index", remote, "--store", f"lance:{uri}",
                    "--json")
    assert built.returncode == 0, built.stderr
    assert any("no writer lock on " + uri in n for n in built.json()["notes"])   # object stores: said, not hidden
    assert not (remote / "lance").exists()
    bare.mkdir()
    shutil.copyfile(remote / "manifest.json", bare / "manifest.json")
    image = str(sorted((small_catalog.parent / "images").iterdir())[2])
    assert_every_command_answers_alike(fashrec, image, local, remote, bare, commands=COMMANDS)
    assert sorted(p.name for p in bare.iterdir()) == ["manifest.json"]
    info = fashrec("info", "--index", bare, "--json").json()
    assert info["store"]["uri"] == uri and info["items"] == len(small_catalog.read_text().splitlines())


def test_an_incremental_run_on_s3_changes_what_changed_and_prunes_old_versions(
        fashrec, s3_env, small_catalog, tiny_model, tmp_path):
    folder, uri = tmp_path / "idx", "s3://shop/incremental/shop.lance"
    s3_env["FASHREC_LANCE_KEEP_S"] = "0"
    assert fashrec("index", small_catalog, "--model", tiny_model, "--index", folder, "--store",
                   f"lance:{uri}").returncode == 0
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    published = [json.loads((folder / "manifest.json").read_text())["store"]["version"]]
    target = rows[0]["id"]
    for turn, price in enumerate((1.25, 1.5)):
        rows = [{**r, "price": price} if r["id"] == target else r for r in rows]
        rows = rows[1:] + rows[:1] if turn == 0 else rows                  # reordered too: not a change
        small_catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
        run = fashrec("index", small_catalog, "--index", folder, "--json")
        assert run.returncode == 0, run.stderr
        report = run.json()
        assert (report["added"], report["updated"], report["metadata_updated"], report["removed"]) == (0, 0, 1, 0)
        shown = fashrec("search", "anything", "--index", folder, "--where", f"price<={price}", "--json").json()
        assert [r["id"] for r in shown["results"]] == [target]   # the price the bucket now holds
        published.append(json.loads((folder / "manifest.json").read_text())["store"]["version"])
        # the published generation and the one before it stay (a reader may still hold it); older go
        assert versions(uri) == published[-2:], (versions(uri), published)
        assert any("pruned" in n for n in report["notes"]), report["notes"]
