"""A stand-in for the Hugging Face hub: `datasets.load_dataset`, `hf_hub_download` and the commit lookup.

It serves synthetic rows in the real schemas (`vgpo_tasks.synthetic`): PAPO-Galaxy/PAPO_eval splits
as ShareGPT rows whose images name `./data/images/<split>/<file>` inside the split's image zip;
every other dataset (the upstream benchmarks, PAPO's MMK12 and ViRL39K copies) in the benchmark's
own schema, image fields as file paths (MathVista's `image` a name, `decoded_image` the picture); and
Look-Back's evaluation archive as one `eval_data.zip` in its layout (with a benchmark we do not read
beside). Everything the project does with the hub goes through these calls (and `snapshot_download`),
so a run against this hub exercises the real loading code end to end.
"""

from __future__ import annotations

import fnmatch
import types
import zipfile
from pathlib import Path

from vgpo_eval import archive
from vgpo_eval.task import PAPO_EVAL, read_rows
from vgpo_tasks import TASKS, synthetic
from vgpo_tasks.mathvista import build_query


class FakeHub:
    def __init__(self, root: Path, n: int = 2):
        self.root, self.calls = root, []
        self.upstream = synthetic.write(root / "upstream", n=n, schema="upstream")
        self.papo = synthetic.write(root / "papo", n=n, schema="papo")
        held = [t.name for t in TASKS.values() if t.archive]
        self.lookback = synthetic.write(root / "lookback" / "eval_data", held, n=n, schema="lookback")
        self.archive_sha = "1" * 40

    def _tasks(self, dataset: str, test) -> list:
        """The tasks one hub dataset serves (MathVerse's testmini serves mathverse and mathverse_v)."""
        found = [
            t
            for t in TASKS.values()
            for spec in (t.papo, t.upstream)
            if spec and spec.dataset == dataset and test(spec)
        ]
        if not found:
            raise FileNotFoundError(f"fake hub: nothing named {dataset}")
        return found

    def load_dataset(self, dataset, config=None, split=None, revision=None, **_):
        self.calls.append(("load_dataset", dataset, split))
        rows = []
        for task in self._tasks(dataset, lambda spec: (spec.split, spec.config) == (split, config)):
            if dataset == PAPO_EVAL:
                own = read_rows(
                    self.papo / task.name / next(f for f in task.local_files if f.endswith(".jsonl"))
                )
                rows += [
                    r | {"images": [f"./data/images/{split}/{name}" for name in r["images"]]} for r in own
                ]
            else:
                folder = self.upstream / task.name
                for row in read_rows(folder / task.local_files[0]):
                    full = _absolute(row, folder)
                    if (
                        task.name == "mathvista"
                    ):  # the hub: `image` names the file, `decoded_image` is the picture
                        full |= {
                            "image": row["image"],
                            "decoded_image": full["image"],
                            "query": build_query(row),
                        }
                    rows.append(full)
        return rows

    def hf_hub_download(self, repo_id, filename, repo_type=None, revision=None, **_):
        self.calls.append(("hf_hub_download", repo_id, filename))
        task = self._tasks(repo_id, lambda spec: spec.images_zip == filename)[0]
        split = task.papo.split
        archive = self.root / filename
        with zipfile.ZipFile(archive, "w") as z:
            for image in (self.papo / task.name).glob("*.png"):
                z.write(image, f"data/images/{split}/{image.name}")
        return str(archive)

    def dataset_info(self, repo_id, revision=None, **_):
        if repo_id == archive.REPO:
            files = ["README.md", "eval_data.zip"]
            return types.SimpleNamespace(
                sha=self.archive_sha, siblings=[types.SimpleNamespace(rfilename=f) for f in files]
            )
        return types.SimpleNamespace(sha="0" * 40)

    def snapshot_download(
        self, repo_id, repo_type=None, revision=None, allow_patterns=None, local_dir=None, **_
    ):
        """Look-Back's archive: eval_data.zip (the four folders, and mathvision/ that nothing reads)."""
        self.calls.append(("snapshot_download", repo_id, tuple(allow_patterns or ())))
        assert repo_id == archive.REPO and repo_type == "dataset" and revision == self.archive_sha
        local = Path(local_dir)
        local.mkdir(parents=True, exist_ok=True)
        if any(fnmatch.fnmatch("eval_data.zip", p) for p in allow_patterns or ["*"]):
            with zipfile.ZipFile(local / "eval_data.zip", "w") as z:
                for path in sorted(self.lookback.rglob("*")):
                    if path.is_file():
                        z.write(path, f"eval_data/{path.relative_to(self.lookback)}")
                z.writestr("eval_data/mathvision/MathVision.tsv", "index\tquestion\n")
        return str(local)


def _absolute(row, folder: Path):
    """The row with every value that names a file beside it made absolute (as hub image columns resolve);
    a row that names its picture only by file name ("imagename") gets the hub's `image` column."""
    if isinstance(row, dict):
        out = {k: _absolute(v, folder) for k, v in row.items()}
        if "image" not in out and (folder / "images" / str(row.get("imagename"))).is_file():
            out["image"] = str(folder / "images" / row["imagename"])
            out["imagename"] = row["imagename"]
        return out
    if isinstance(row, list):
        return [_absolute(v, folder) for v in row]
    if isinstance(row, str) and 0 < len(row) < 200 and "\n" not in row:
        for path in (folder / row, folder / "images" / row):
            if path.is_file() and "/" in row:
                return str(path)
    return row


def install(monkeypatch, root: Path) -> FakeHub:
    """Put the fake hub behind datasets, huggingface_hub and the reachability probe."""
    import datasets
    import huggingface_hub

    from vgpo_eval import hub

    fake = FakeHub(root)
    monkeypatch.setattr(datasets, "load_dataset", fake.load_dataset)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake.hf_hub_download)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake.snapshot_download)
    monkeypatch.setattr(
        huggingface_hub.HfApi, "dataset_info", lambda self, *a, **k: fake.dataset_info(*a, **k)
    )
    monkeypatch.setattr(hub, "unreachable", lambda: None)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return fake
