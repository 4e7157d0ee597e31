"""The ledger's second processes, all started and spoken with the same way
(ledger/workers/launcher.py):

- follower: keeps the read models while a long ingest stores events;
- rebuild: folds aggregates from the highest id down while a long rebuild folds them
  from the lowest up;
- verify: checks the second half of a long log while the first is checked;
- readahead: reads a database file into the system's cache ahead of a scan of it.

Each is a module here with the process's side (`serve`, run by `python -m
ledger.workers NAME`, ledger/workers/__main__.py) and the starting process's side (a
class around launcher.Worker)."""
