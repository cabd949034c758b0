"""``arlm params [--json]``: the paper's parameter counts next to this book's (Table 4, first column)."""

import json


def register(subparsers):
    parser = subparsers.add_parser("params", help="paper vs. ours parameter counts of the four models (Table 4)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.set_defaults(func=run)


def run(args):
    from arlm.params import format_table, parameter_table

    rows = parameter_table()
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0
