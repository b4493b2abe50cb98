"""User-facing resources: the HTML report builder (report.py), QML styles (styles/) and icons (icons/)."""
