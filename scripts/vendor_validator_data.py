"""Refresh catalog/core/quality/validator_data.json: the reference data SigmaHQ's validators read.

pySigma-validators-sigmahq fetches its data from GitHub the first time a validator needs it; the catalog
hands it this file instead (catalog/core/quality/offline.py), so an import never waits on the network:

* the fields of each log source, from SigmaHQ's `tests/logsource.json` (the file its own tests check every
  rule against; legit and addon fields together, with each product's common fields where a log source lists any);
* the Windows categories in which filtering on `EventID` or `Provider_Name` is redundant, from
  pySigma-validators-sigmaHQ's `tools/sigmahq_windows_eventid.json` and `tools/sigmahq_windows_provider.json`.
  Given no tools folder, the Windows part already vendored is kept.

    .venv/bin/python scripts/vendor_validator_data.py [~/sigma/tests/logsource.json [pySigma-validators-sigmaHQ/tools]]
"""

import json
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "catalog" / "core" / "quality" / "validator_data.json"


def logsources(data: dict) -> list[dict]:
    """[{product, category, service, fields}] of every log source logsource.json names (None: not set)."""
    entries: dict[tuple, set[str]] = {}
    for part in ("legit", "addon"):
        for product, table in data.get(part, {}).items():
            common = set(table.get("common", []))
            for kind in ("category", "service"):
                for name, fields in table.get(kind, {}).items():
                    named = None if product == "empty" else product  # "empty": log sources without a product
                    key = (named, name, None) if kind == "category" else (named, None, name)
                    entries.setdefault(key, set()).update(fields)
                    if fields:  # a log source listed with no fields is not checked: common ones would make it so
                        entries[key].update(common)
    return [
        {"product": p, "category": c, "service": s, "fields": sorted(fields, key=str.casefold)}
        for (p, c, s), fields in sorted(entries.items(), key=lambda item: [str(part) for part in item[0]])
    ]


def main(logsource_path: str, tools: str | None) -> None:
    data = json.loads(Path(logsource_path).read_text(encoding="utf-8"))
    kept = json.loads(TARGET.read_text(encoding="utf-8")) if TARGET.exists() else {}
    windows = kept.get("windows", {})
    if tools:
        eventid = json.loads((Path(tools) / "sigmahq_windows_eventid.json").read_text(encoding="utf-8"))
        provider = json.loads((Path(tools) / "sigmahq_windows_provider.json").read_text(encoding="utf-8"))
        windows = {
            "source": "https://github.com/SigmaHQ/pySigma-validators-sigmaHQ/tree/main/tools",
            "version": provider.get("version", ""),
            "category_no_eventid": sorted(eventid["category_no_eventid"]),
            "category_provider_name": dict(sorted(provider["category_provider_name"].items())),
        }
    result = {
        "taxonomy": {
            "source": "https://github.com/SigmaHQ/sigma/blob/master/tests/logsource.json",
            "version": data.get("version", ""),
            "logsources": logsources(data),
        },
        "windows": windows,
    }
    TARGET.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({len(result['taxonomy']['logsources'])} log sources, version {data.get('version', '')})")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0] if args else "../shared/corpus/sigmahq/tests/logsource.json", args[1] if len(args) > 1 else None)
