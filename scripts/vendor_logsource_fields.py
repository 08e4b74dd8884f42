"""Refresh catalog/core/taxonomy/logsource_fields.json from a SigmaHQ checkout's tests/logsource.json.

SigmaHQ maintains `tests/logsource.json` ("Field name by logsource"): the fields each Windows log
category and service carries, checked against every rule by SigmaHQ's own test suite. The catalog
keeps its Windows part (legit + addon) so a deployment needs no SigmaHQ checkout at run time:

    .venv/bin/python scripts/vendor_logsource_fields.py ~/sigma/tests/logsource.json
"""

import json
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "catalog" / "core" / "taxonomy" / "logsource_fields.json"


def main(source: str) -> None:
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    legit, addon = data["legit"]["windows"], data["addon"]["windows"]
    kept = {
        "source": "https://github.com/SigmaHQ/sigma/blob/master/tests/logsource.json",
        "version": data.get("version", ""),
        "common": sorted(legit.get("common", [])),
        "category": {
            name: sorted(set(legit["category"].get(name, [])) | set(addon.get("category", {}).get(name, [])))
            for name in sorted(set(legit["category"]) | set(addon.get("category", {})))
        },
    }
    TARGET.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({len(kept['category'])} categories, version {kept['version']})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus/sigmahq/tests/logsource.json")
