"""`arlm data list` and `arlm data fetch NAME`: both verify every file they find against its registered sha256."""

import json
import sys

from arlm import datasets


def register(subparsers):
    data = subparsers.add_parser("data", help="the dataset registry: list datasets, fetch one")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    listing = commands.add_parser("list", help="every dataset with its task, licence, citation and where it was found "
                                  "(each file checked against its sha256; exit status 2 when one does not match)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=_list)
    fetch = commands.add_parser("fetch", help="download a dataset into the cache, verifying sha256")
    fetch.add_argument("name", help="dataset name (see `arlm data list`)")
    fetch.set_defaults(func=_fetch)


def _list(args):
    mirror = datasets.mirror_dir()
    rows = datasets.status()
    problems = [problem for row in rows for problem in row["problems"]]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(f"mirror (ARLM_DATA_DIR): {mirror or 'not set: the embedded corpus is the pretraining corpus'}; "
              f"cache: {datasets.cache_dir()}")
        print(f"{'name':<17} {'kind':<12} {'found':<8} {'license':<28} task")
        for row in rows:
            print(f"{row['name']:<17} {row['kind']:<12} {row['status']:<8} {row['license'][:28]:<28} {row['task']}")
            print(f"{'':<17} cite: {row['citation']}")
    for problem in problems:
        print(f"arlm data list: error: {problem}", file=sys.stderr)
    return 2 if problems else 0


def _fetch(args):
    for key, path in datasets.fetch_dataset(args.name).items():
        print(f"{args.name}/{key}: {path}")
    return 0
