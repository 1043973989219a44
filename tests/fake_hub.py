"""A stand-in for the Hugging Face hub: `datasets.load_dataset`, `hf_hub_download` and the commit lookup.

It serves synthetic rows in the real schemas (`vgpo_tasks.synthetic`): PAPO-Galaxy/PAPO_eval splits
as ShareGPT rows whose images name `./data/images/<split>/<file>` inside the split's image zip, and
every other dataset (the upstream benchmarks, PAPO's MMK12 and ViRL39K copies) in the benchmark's
own schema, image fields as file paths. Everything the project does with the hub goes through these
three calls, so a run against this hub exercises the real loading code end to end.
"""

from __future__ import annotations

import types
import zipfile
from pathlib import Path

from vgpo_eval.task import PAPO_EVAL, read_rows
from vgpo_tasks import TASKS, synthetic


class FakeHub:
    def __init__(self, root: Path, n: int = 2):
        self.root, self.calls = root, []
        self.upstream = synthetic.write(root / "upstream", n=n, schema="upstream")
        self.papo = synthetic.write(root / "papo", n=n, schema="papo")

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
                rows += [_absolute(row, folder) for row in read_rows(folder / task.local_files[0])]
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
        return types.SimpleNamespace(sha="0" * 40)


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
    monkeypatch.setattr(
        huggingface_hub.HfApi, "dataset_info", lambda self, *a, **k: fake.dataset_info(*a, **k)
    )
    monkeypatch.setattr(hub, "unreachable", lambda: None)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return fake
